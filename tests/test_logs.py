"""Access logs never hold the secret tokens of status and confirmation links."""

import logging

from app.ops.logs import RedactTokens, redact_path


def test_token_segments_are_redacted_and_ordinary_paths_kept():
    token = "Ab3_-" * 9
    assert redact_path(f"/r/status/{token}") == "/r/status/[redacted]"
    assert redact_path(f"/v1/public/requests/{token}/withdraw") == \
        "/v1/public/requests/[redacted]/withdraw"
    assert redact_path(f"/r/confirm/{token}?lang=fr") == "/r/confirm/[redacted]?lang=fr"
    assert redact_path("/v1/models/acme/chat-7b-instruct/versions") == \
        "/v1/models/acme/chat-7b-instruct/versions"


def test_uvicorn_access_log_lines_are_redacted(server, caplog):
    # The filter sits on uvicorn's access logger of the running app.
    assert any(isinstance(f, RedactTokens) for f in logging.getLogger("uvicorn.access").filters)
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1,
                               '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "GET", "/r/status/" + "x" * 43, "1.1", 200),
                               None)
    for f in logging.getLogger("uvicorn.access").filters:
        f.filter(record)  # type: ignore[union-attr]
    assert "x" * 43 not in record.getMessage()
    assert "/r/status/[redacted]" in record.getMessage()

"""What a data subject sends is encrypted at rest and never written to logs."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

from tests.mail import body
from tests.subjects import (
    PERSON,
    all_stored_text,
    db_rows,
    file,
    file_and_confirm,
    open_model,
    personal_strings,
)

_CAT = "import sys\nfor name in sys.argv[1:]:\n    sys.stdout.buffer.write(open(name, 'rb').read())"


def test_personal_data_is_nowhere_in_clear_in_the_database(client, mailbox, settings, org_a):
    open_model(org_a, "acme/chat")
    [(_, token)] = file_and_confirm(client, mailbox, ["acme/chat"]).items()
    client.post(f"/v1/public/requests/{token}/withdraw")
    mailbox.wait_for(PERSON["email"], "withdrawn")

    stored = all_stored_text(settings.sync_url)
    assert "acme/chat" in stored  # the scan does see the rows
    for value in personal_strings():
        assert value not in stored, f"{value!r} is stored in clear"
        assert value.lower() not in stored.lower()

    if settings.is_sqlite:
        # The raw file and its write-ahead log, not just what SQL returns.
        path = Path(settings.sync_url.split("///", 1)[1].split("?", 1)[0])
        # Read by another process: closing a descriptor of the database file in this process
        # would drop the POSIX locks the server's connections hold on it (and let two writers
        # corrupt the file; sqlite.org/howtocorrupt.html, 2.2.1).
        files = [str(p) for p in (path, Path(f"{path}-wal")) if p.exists()]
        raw = subprocess.run([sys.executable, "-c", _CAT, *files], capture_output=True,
                             check=True).stdout
        for value in personal_strings():
            assert value.encode() not in raw


def test_sealed_personal_data_is_still_what_was_sent(client, mailbox, settings, server, org_a):
    """Encrypted, not lost: the service itself can open it again (issue: the provider sees it)."""
    from app.requests.service import open_subject
    from tests.support import run_async

    open_model(org_a, "acme/chat")
    [token] = file_and_confirm(client, mailbox, ["acme/chat"]).values()
    keyring = server.app.state.keyring

    async def read(session):
        from sqlalchemy import select

        from app.cases.models import Case

        case = await session.scalar(select(Case))
        return open_subject(keyring, case)

    data = run_async(settings, read)
    assert data == {"name": PERSON["name"], "email": PERSON["email"],
                    "description": PERSON["description"], "identifiers": PERSON["identifiers"],
                    "probe_prompts": PERSON["probe_prompts"], "particular_situation": None,
                    # Sealed with the rest, so later emails can carry it (issue 11).
                    "status_link": f"{server.url}/r/status/{token}"}


def test_each_case_has_its_own_data_key(client, mailbox, settings, org_a, org_b):
    open_model(org_a, "acme/chat")
    open_model(org_b, "beta/chat")
    file_and_confirm(client, mailbox, ["acme/chat", "beta/chat"])
    rows = db_rows(settings.sync_url, "SELECT subject_wrapped_key, subject_key_id FROM cases")
    assert len(rows) == 2
    assert rows[0]["subject_wrapped_key"] != rows[1]["subject_wrapped_key"]
    assert {r["subject_key_id"] for r in rows} == {"k0"}


def test_personal_data_never_reaches_the_logs(client, mailbox, settings, org_a, caplog):
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="app")
    open_model(org_a, "acme/chat")
    # Valid and invalid submissions, confirmation, status, withdrawal, and a refused email.
    r = file(client, ["acme/chat"], email="not-an-email")
    assert r.status_code == 422
    mailbox.refuse = True
    file(client, ["acme/chat"])
    from tests.subjects import wait_until

    wait_until(lambda: db_rows(settings.sync_url,
                               "SELECT attempts FROM outbound_emails WHERE attempts > 0"))
    mailbox.refuse = False
    mailbox.clear()
    [(_, token)] = file_and_confirm(client, mailbox, ["acme/chat"],
                                    email="other.person@example.org").items()
    client.get(f"/v1/public/requests/{token}")
    client.post(f"/v1/public/requests/{token}/withdraw")
    mailbox.wait_for("other.person@example.org", "withdrawn")

    # Everything but the test's own SMTP server (which of course sees the addresses).
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records
                       if not r.name.startswith("mail.log"))
    assert "attempt 1 failed" in logged  # the scan does see the service's log lines
    for value in [*personal_strings(), "other.person@example.org"]:
        assert value not in logged


def test_emails_to_the_subject_hold_no_more_than_they_need(client, mailbox, org_a):
    open_model(org_a, "acme/chat")
    file_and_confirm(client, mailbox, ["acme/chat"])
    for msg in mailbox.to(PERSON["email"]):
        text = body(msg)
        for value in (PERSON["description"], *PERSON["probe_prompts"], *PERSON["identifiers"]):
            assert value not in text

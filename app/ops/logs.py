"""Access logs without secrets: status, confirmation and management links carry their token in
the path, and a token opens a person's case. Long token-like path segments are redacted."""

from __future__ import annotations

import logging
import re

_TOKEN_SEGMENT = re.compile(r"(?<=/)[A-Za-z0-9_-]{32,}(?=/|\?|$)")


def redact_path(path: str) -> str:
    return _TOKEN_SEGMENT.sub("[redacted]", path)


class RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact_path(a) if isinstance(a, str) else a for a in record.args)
        return True


def install() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactTokens) for f in access.filters):
        access.addFilter(RedactTokens())

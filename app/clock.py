"""The service's one clock. Every timestamp the service writes or compares comes from `now()`.

Tests move it forward (`advance`) to walk a case through deadlines, retention and automatic
closing without sleeping; in production the offset stays zero. The offset is process-wide, so
a test server running in a thread of the test process sees the same time as the test."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

_lock = threading.Lock()
_offset = timedelta(0)


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC) + _offset


def advance(delta: timedelta) -> datetime:
    """Move the clock forward (tests only); returns the new time."""
    global _offset
    if delta < timedelta(0):
        raise ValueError("the clock only moves forward")
    with _lock:
        _offset += delta
    return now()


def reset() -> None:
    """Back to the real time (tests only)."""
    global _offset
    with _lock:
        _offset = timedelta(0)


def offset() -> timedelta:
    return _offset

"""When to try a failed delivery again: exponential backoff with jitter over about a day."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

# After the 1st failed attempt wait 5 s, after the 2nd 5 min, ... 8 attempts in all (~27 h).
SCHEDULE = tuple(timedelta(seconds=s) for s in (5, 300, 1800, 7200, 18000, 36000, 36000))
MAX_ATTEMPTS = len(SCHEDULE) + 1
JITTER = 0.2  # each delay is stretched by up to 20%, so retries of a fan-out spread out
MAX_RETRY_AFTER = timedelta(hours=24)


def backoff(failed_attempts: int, scale: float) -> timedelta | None:
    """The wait after `failed_attempts` failures, or None when it was the last attempt."""
    if failed_attempts < 1 or failed_attempts > len(SCHEDULE):
        return None
    base = SCHEDULE[failed_attempts - 1].total_seconds() * scale
    return timedelta(seconds=base * (1 + random.uniform(0, JITTER)))


def retry_after(value: str | None, now: datetime) -> timedelta | None:
    """`Retry-After`: delay-seconds or an HTTP date; capped, never negative."""
    if not value:
        return None
    value = value.strip()
    delay: timedelta | None = None
    if value.isdigit():
        delay = timedelta(seconds=int(value[:9]))
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        delay = when - now
    return max(timedelta(0), min(delay, MAX_RETRY_AFTER))

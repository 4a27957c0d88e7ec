"""IANA time zones of organisations, checked against zoneinfo (with the `tzdata` package as the
source where the system has no zone database)."""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

DEFAULT_ZONE = "UTC"


@lru_cache(maxsize=1)
def zone_names() -> tuple[str, ...]:
    """Every zone name offered in the dashboard, sorted; "UTC" is always among them."""
    return tuple(sorted(available_timezones() | {DEFAULT_ZONE}))


def is_zone(name: str) -> bool:
    # Only names from the database: ZoneInfo() would also open relative paths and odd keys.
    return name in zone_names()


def zone_of(zone: ZoneInfo | str) -> ZoneInfo:
    if isinstance(zone, ZoneInfo):
        return zone
    try:
        return ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        # A stored zone that this machine no longer knows: UTC rather than no deadline.
        return ZoneInfo(DEFAULT_ZONE)

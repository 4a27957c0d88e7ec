"""GDPR Art. 12(3) deadlines: one calendar month, extendable once by up to two more.

Months are counted on the calendar of the organisation's time zone (Organization.time_zone),
because that is the calendar the provider and its supervisory authority read: a request received
on 31 January (local date) is due on the last day of February (28th, or 29th in a leap year), and
a deadline ends with its local day (23:59:59.999999 local time, stored in UTC), so a provider is
never late by the hour at which the request happened to arrive."""

from __future__ import annotations

import calendar
import uuid
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Organization
from app.cases.models import Case, CaseStatus
from app.errors import BadRequest, Conflict
from app.time_zones import zone_of

S = CaseStatus

MAX_EXTENSION_MONTHS = 2
DUE_SOON = timedelta(days=7)
# While the provider still owes the subject an answer or the fix, the deadline runs; these are
# the cases that can be overdue, extended and reminded about.
DEADLINE_RUNS = frozenset({S.open, S.in_review, S.awaiting_subject, S.accepted,
                           S.in_remediation})


def add_months(moment: datetime, months: int) -> datetime:
    """The same day `months` later; a day past the end of the month becomes its last day
    (31 January + 1 month = 28/29 February)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _end_of_local_day(received_at: datetime, months: int, zone: ZoneInfo) -> datetime:
    local = received_at.astimezone(zone)
    day = add_months(local, months).date()
    # time.max on the local wall clock: no zone moves its clocks at midnight's last
    # microsecond, so this local time always exists exactly once.
    return datetime.combine(day, time.max, tzinfo=zone).astimezone(UTC)


def first_due(received_at: datetime, zone: ZoneInfo | str = "UTC") -> datetime:
    """The end of the local day one calendar month after the local day of receipt."""
    return _end_of_local_day(received_at, 1, zone_of(zone))


def extended_due(received_at: datetime, months: int, zone: ZoneInfo | str = "UTC") -> datetime:
    """Counted from the receipt, not from the first due date, so 31 January + 1 + 2 months is
    30 April (not 28 April, which chaining through February would give)."""
    return _end_of_local_day(received_at, 1 + months, zone_of(zone))


async def org_zone(session: AsyncSession, org_id: uuid.UUID) -> ZoneInfo:
    """The time zone whose calendar the organisation's deadlines follow."""
    org = await session.get(Organization, org_id)
    return zone_of(org.time_zone if org is not None else "UTC")


async def org_zones(session: AsyncSession, org_ids: set[uuid.UUID]) -> dict[uuid.UUID, ZoneInfo]:
    """`org_zone` for several organisations, in one query (a batch of filings)."""
    if not org_ids:
        return {}
    rows = await session.execute(select(Organization.id, Organization.time_zone)
                                 .where(Organization.id.in_(org_ids)))
    return {org_id: zone_of(zone) for org_id, zone in rows}


def is_overdue(case: Case, now: datetime) -> bool:
    return case.status in DEADLINE_RUNS and case.due_at <= now


def is_due_soon(case: Case, now: datetime) -> bool:
    return case.status in DEADLINE_RUNS and now < case.due_at <= now + DUE_SOON


def check_extension(case: Case, months: int, now: datetime, zone: ZoneInfo | str = "UTC") -> None:
    """One extension, of one or two months, only while the first month runs (Art. 12(3))."""
    if not 1 <= months <= MAX_EXTENSION_MONTHS:
        raise BadRequest(f"months: an extension is of 1 to {MAX_EXTENSION_MONTHS} months")
    if case.extension_months is not None:
        raise Conflict(f"case {case.reference} was already extended; only one extension is "
                       "allowed")
    if case.status not in DEADLINE_RUNS:
        raise Conflict(f"case {case.reference} is {case.status}; its deadline no longer runs")
    if now >= first_due(case.received_at, zone):
        raise Conflict(f"the first month of case {case.reference} has ended; an extension must "
                       "be decided before it ends")

"""The figures of the dashboard home, all within one organisation: cases by status, what is
overdue or due this week, a year of deadline performance, and how far the latest updates asking
re-users to act got (told, delivered, acknowledged)."""

from __future__ import annotations

import statistics
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.acks.models import Acknowledgement
from app.acks.service import expected
from app.cases.deadlines import DEADLINE_RUNS, DUE_SOON
from app.cases.models import Case, CaseStatus
from app.cases.schemas import CaseRead
from app.cases.service import NOT_RECEIVED, case_reads
from app.delivery.models import Delivery, DeliveryStatus
from app.events.models import Event, RequiredAction
from app.feeds.service import event_read, events_query, summarise
from app.notices.models import Notice, NoticeKind

MONTHS = 12
LIST_LIMIT = 50  # overdue / due-this-week lists: the most urgent first
RECENT_EVENTS = 10
DAY = 86400.0


@dataclass
class MonthFigures:
    month: str  # YYYY-MM (UTC)
    answered: int = 0
    median_days: float | None = None
    on_time_share: float | None = None  # 0..1


@dataclass
class Performance:
    months: list[MonthFigures]
    answered: int
    median_days: float | None
    on_time_share: float | None


@dataclass
class EventCoverage:
    title: str
    occurred_at: datetime
    deadline_at: datetime | None
    told: int
    delivered: int
    acknowledged: int


@dataclass
class Overview:
    counts: dict[CaseStatus, int]
    overdue: list[CaseRead]
    due_this_week: list[CaseRead]
    performance: Performance
    coverage: list[EventCoverage] = field(default_factory=list)


def month_starts(now: datetime, months: int = MONTHS) -> list[datetime]:
    """The first instants (UTC) of the last `months` calendar months, the current one last."""
    starts = []
    year, month = now.year, now.month
    for _ in range(months):
        starts.append(now.replace(year=year, month=month, day=1, hour=0, minute=0, second=0,
                                  microsecond=0))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return list(reversed(starts))


async def status_counts(session: AsyncSession, org_id: uuid.UUID) -> dict[CaseStatus, int]:
    rows = await session.execute(
        select(Case.status, func.count()).where(Case.org_id == org_id,
                                                Case.status.not_in(NOT_RECEIVED))
        .group_by(Case.status))
    found = {CaseStatus(status): count for status, count in rows}
    return {s: found.get(s, 0) for s in CaseStatus if s.value not in NOT_RECEIVED}


async def _due(session: AsyncSession, org_id: uuid.UUID, now: datetime,
               overdue: bool) -> list[CaseRead]:
    window = Case.due_at <= now if overdue else (Case.due_at > now) & (
        Case.due_at <= now + DUE_SOON)
    cases = list(await session.scalars(
        select(Case).where(Case.org_id == org_id,
                           Case.status.in_([s.value for s in DEADLINE_RUNS]), window)
        .order_by(Case.due_at, Case.id).limit(LIST_LIMIT)))
    return await case_reads(session, cases, now)


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


async def performance(session: AsyncSession, org_id: uuid.UUID, now: datetime) -> Performance:
    """A case is answered when the provider decides it (accepted or rejected): days to answer
    run from receipt to decision, and it is on time if decided by its due date (an extension
    counts, being lawful)."""
    starts = month_starts(now)
    rows = (await session.execute(
        select(Case.received_at, Case.decided_at, Case.due_at)
        .where(Case.org_id == org_id, Case.decided_at.is_not(None),
               Case.decided_at >= starts[0], Case.decided_at <= now))).all()
    by_month: dict[str, list[tuple[float, bool]]] = {s.strftime("%Y-%m"): [] for s in starts}
    for received_at, decided_at, due_at in rows:
        assert decided_at is not None  # the query's condition
        key = decided_at.strftime("%Y-%m")
        if key in by_month:
            by_month[key].append(((decided_at - received_at).total_seconds() / DAY,
                                  decided_at <= due_at))
    months, all_days, all_on_time = [], [], []
    for key, answers in by_month.items():
        days = [d for d, _ in answers]
        on_time = [ok for _, ok in answers]
        months.append(MonthFigures(month=key, answered=len(answers), median_days=_median(days),
                                   on_time_share=sum(on_time) / len(on_time) if on_time
                                   else None))
        all_days += days
        all_on_time += on_time
    return Performance(months=months, answered=len(all_days), median_days=_median(all_days),
                       on_time_share=sum(all_on_time) / len(all_on_time) if all_on_time
                       else None)


async def coverage(session: AsyncSession, org_id: uuid.UUID,
                   limit: int = RECENT_EVENTS) -> list[EventCoverage]:
    """For each recent update asking re-users to act: the re-users expected to act (told), those
    it reached (a webhook delivered, or the email notice sent to those without webhooks), and
    those who acknowledged it."""
    rows = (await session.execute(
        events_query().where(Event.org_id == org_id, Event.action != RequiredAction.no_action)
        .order_by(Event.position.desc()).limit(limit))).all()
    ids = [row[0].id for row in rows]
    if not ids:
        return []
    reached: set[tuple[uuid.UUID | None, uuid.UUID | None]] = set()
    reached.update((e, s) for e, s in await session.execute(
        select(Delivery.event_id, Delivery.subscriber_id).where(
            Delivery.event_id.in_(ids), Delivery.status == DeliveryStatus.succeeded.value)))
    reached.update((e, s) for e, s in await session.execute(
        select(Notice.event_id, Notice.subscriber_id).where(
            Notice.event_id.in_(ids), Notice.kind == NoticeKind.event_action.value,
            Notice.sent_at.is_not(None))))
    acked: set[tuple[uuid.UUID | None, uuid.UUID | None]] = {(e, s) for e, s in await session.execute(
        select(Acknowledgement.event_id, Acknowledgement.subscriber_id).where(
            Acknowledgement.event_id.in_(ids)))}
    result = []
    for row in rows:
        event = row[0]
        told = {s.id for s in await expected(session, event)}
        result.append(EventCoverage(
            title=summarise(event_read(row)).title, occurred_at=event.occurred_at,
            deadline_at=event.action_deadline_at, told=len(told),
            delivered=sum((event.id, s) in reached for s in told),
            acknowledged=sum((event.id, s) in acked for s in told)))
    return result


async def overview(session: AsyncSession, org_id: uuid.UUID, now: datetime) -> Overview:
    return Overview(counts=await status_counts(session, org_id),
                    overdue=await _due(session, org_id, now, overdue=True),
                    due_this_week=await _due(session, org_id, now, overdue=False),
                    performance=await performance(session, org_id, now),
                    coverage=await coverage(session, org_id))


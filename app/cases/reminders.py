"""The deadline reminder job: emails a case's assignee and the organisation's admins about
cases due within 7 days and overdue cases, once per day per case.

Safe with several replicas and reruns: a reminder is sent only by the transaction that inserts
the (case, day) row, and that insert does nothing when the row exists (ON CONFLICT DO NOTHING;
on PostgreSQL a concurrent insert waits for the first to commit, then does nothing)."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.cases import notify
from app.cases.deadlines import DEADLINE_RUNS, DUE_SOON, is_overdue
from app.cases.models import Case, CaseReminder
from app.config import Settings
from app.crypto import Keyring
from app.db import utcnow

log = logging.getLogger(__name__)
BATCH = 200


async def _claim_today(session: AsyncSession, case_id: uuid.UUID, kind: str,
                       now: datetime) -> bool:
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(CaseReminder).values(case_id=case_id, day=now.date(), kind=kind,
                                       created_at=now)
    stmt = stmt.on_conflict_do_nothing(index_elements=["case_id", "day"])
    inserted = await session.scalar(stmt.returning(CaseReminder.case_id))
    return inserted is not None


async def send_deadline_reminders(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, keyring: Keyring,
    now: datetime | None = None,
) -> int:
    """Returns how many cases were reminded about in this run."""
    now = now or utcnow()
    reminded_today = select(CaseReminder.case_id).where(CaseReminder.day == now.date())
    async with sessionmaker() as session:
        ids = list(await session.scalars(
            select(Case.id).where(Case.status.in_([s.value for s in DEADLINE_RUNS]),
                                  Case.due_at <= now + DUE_SOON, Case.id.not_in(reminded_today))
            .order_by(Case.due_at).limit(BATCH)))
    reminded = 0
    for case_id in ids:
        async with sessionmaker() as session:
            case = await session.get(Case, case_id)
            if case is None or case.status not in DEADLINE_RUNS or case.due_at > now + DUE_SOON:
                continue
            kind = "overdue" if is_overdue(case, now) else "due_soon"
            if not await _claim_today(session, case.id, kind, now):
                await session.rollback()
                continue
            staff = await notify.staff_for(session, case)
            await notify.tell_staff(session, keyring, staff, case, "deadline_reminder", {
                "overdue": kind == "overdue", "due_at": case.due_at, "status": case.status,
                "link": notify.case_link(settings, case)})
            await session.commit()
            reminded += 1
    if reminded:
        log.info("deadline reminders sent for %d case(s)", reminded)
    return reminded

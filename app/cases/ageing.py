"""Storage limitation for every status (GDPR Art. 5(1)(e)): no case keeps the subject's data
forever because nobody moved it on.

- A rejected case closes by itself `RR_REJECTED_CLOSE_DAYS` after the email telling the subject
  the decision was sent.
- A remediated case closes by itself `RR_REMEDIATED_CLOSE_DAYS` after the email telling the
  subject of the fix was sent, once the closing conditions staff would face hold (every model
  has a fixed version released; no probe prompt of the subject is left to run, since only staff
  can run them and record the result).
- Any other case that has not changed status for `RR_STALLED_AFTER_DAYS` is flagged to its
  assignee and the organisation's admins, once per status.

Closed cases then reach retention (app/cases/retention.py), which erases the subject's data.
Safe with several replicas: each case is taken `SKIP LOCKED` in a transaction of its own."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit import service as audit
from app.cases import closure, notify
from app.cases.lifecycle import ACTIVE, Actor
from app.cases.models import Case, CaseStatus, RejectionGround
from app.config import Settings
from app.crypto import Keyring
from app.db import utcnow
from app.emails.models import EmailStatus, OutboundEmail
from app.errors import DomainError

log = logging.getLogger(__name__)
BATCH = 200
S = CaseStatus
# Sent for real (or written to the log in development): the subject was told.
DELIVERED = (EmailStatus.sent.value, EmailStatus.logged.value)
# What each auto-closing status waits for: the email that told the subject.
TOLD_BY = {S.rejected: "decision_rejected", S.remediated: "remediated"}
STALLABLE = ACTIVE | {S.rejected}


def _told_before(status: CaseStatus, cutoff: datetime) -> ColumnElement[bool]:
    """Cases in `status` whose subject was sent the telling email before `cutoff`."""
    told = select(OutboundEmail.case_id).where(
        OutboundEmail.kind == TOLD_BY[status], OutboundEmail.status.in_(DELIVERED),
        OutboundEmail.case_id.is_not(None)).group_by(OutboundEmail.case_id).having(
        func.max(OutboundEmail.sent_at) <= cutoff)
    return Case.id.in_(told)


async def _close_one(sessionmaker: async_sessionmaker[AsyncSession], keyring: Keyring,
                     case_id: uuid.UUID, status: CaseStatus) -> bool:
    async with sessionmaker() as session:
        case = await session.scalar(select(Case).where(Case.id == case_id, Case.status == status)
                                    .with_for_update(skip_locked=True))
        if case is None:
            return False
        try:
            await closure.close(session, keyring, Actor.system("storage_limitation"), case,
                                probe_results=[])
        except DomainError as exc:
            # Conditions staff must settle (a probe to run, a fix not yet released): the case
            # stays, and the stall flag brings it to their attention.
            log.info("case %s not closed automatically: %s", case.reference, exc.code)
            await session.rollback()
            return False
        await session.commit()
        return True


async def close_aged(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings,
                     keyring: Keyring) -> int:
    now = utcnow()
    periods = {S.rejected: settings.rejected_close_days,
               S.remediated: settings.remediated_close_days}
    closed = 0
    for status, days in periods.items():
        query = select(Case.id).where(Case.status == status,
                                      _told_before(status, now - timedelta(days=days)))
        if status == S.rejected:  # Art. 11(2): the person's window to send more stays open
            window = now - timedelta(days=settings.identify_window_days)
            query = query.where(~and_(Case.decision_ground == RejectionGround.cannot_identify,
                                      Case.decided_at > window))
        async with sessionmaker() as session:
            ids = list(await session.scalars(query.order_by(Case.updated_at).limit(BATCH)))
        for case_id in ids:
            closed += await _close_one(sessionmaker, keyring, case_id, status)
    return closed


async def flag_stalled(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings,
                       keyring: Keyring) -> int:
    now = utcnow()
    cutoff = now - timedelta(days=settings.stalled_after_days)
    flagged = 0
    async with sessionmaker() as session:
        cases = list(await session.scalars(
            select(Case).where(Case.status.in_([s.value for s in STALLABLE]),
                               Case.updated_at <= cutoff, Case.stalled_flagged_at.is_(None))
            .order_by(Case.updated_at).limit(BATCH).with_for_update(skip_locked=True)))
        for case in cases:
            # A Core update: flagging is not a change of the case, so `updated_at` (the stall
            # clock) and the optimistic-lock version stay as they were.
            await session.execute(update(Case).where(Case.id == case.id).values(
                stalled_flagged_at=now, updated_at=case.updated_at)
                .execution_options(synchronize_session=False))
            days = (now - case.updated_at).days
            await audit.append(session, org_id=case.org_id, case_id=case.id,
                               actor=Actor.system("stall_check").label,
                               action="case.stalled_flagged",
                               details={"status": case.status, "days_unchanged": days})
            await notify.tell_staff(session, keyring, await notify.staff_for(session, case),
                                    case, "case_stalled", {
                                        "status": case.status, "days": days,
                                        "link": notify.case_link(settings, case)})
            flagged += 1
        await session.commit()
    return flagged


async def age_cases(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings,
                    keyring: Keyring) -> int:
    """The scheduled job: close what may close, then flag what is stalled."""
    closed = await close_aged(sessionmaker, settings, keyring)
    flagged = await flag_stalled(sessionmaker, settings, keyring)
    if closed or flagged:
        log.info("storage limitation: %d case(s) closed, %d flagged as stalled", closed, flagged)
    return closed + flagged

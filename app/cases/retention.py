"""Retention: a set time after a case ends, the subject's personal data is erased.

Crypto-shredding: the sealed subject record and every sealed message and email of the case lose
their wrapped data key and ciphertext, so nothing of the person can be read back (nor from a
backup, once the key-encryption key rotates). The case row, its reference, dates and decision
stay, and the audit trail is never touched (it holds references only), so it still verifies.
Safe in several replicas: rows are locked `SKIP LOCKED` and an erased case is never picked again.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit import service as audit
from app.cases.lifecycle import TERMINAL, Actor
from app.cases.models import Case, CaseMessage
from app.cases.subject import erase_subject
from app.db import utcnow
from app.emails.models import EmailStatus, OutboundEmail

BATCH = 200


async def erase_expired(sessionmaker: async_sessionmaker[AsyncSession],
                        retention_days: float) -> int:
    """Erase the subject data of cases ended more than `retention_days` ago; returns how many."""
    cutoff = utcnow() - timedelta(days=retention_days)
    async with sessionmaker() as session:
        cases = list(await session.scalars(
            select(Case).where(Case.status.in_([s.value for s in TERMINAL]),
                               Case.closed_at.is_not(None), Case.closed_at <= cutoff,
                               Case.subject_erased_at.is_(None))
            .order_by(Case.closed_at).limit(BATCH).with_for_update(skip_locked=True)))
        for case in cases:
            await _erase(session, case)
        await session.commit()
    return len(cases)


async def _erase(session: AsyncSession, case: Case) -> None:
    erase_subject(case)
    case.extension_reason = None  # free text the subject was told: may name them
    case.extension_reason_sealed = None  # unreadable already (key destroyed); tidy
    # The keyed hash of the email would still tell that this person asked: gone too (it only
    # served to find duplicates among active cases).
    case.subject_index = ""
    await session.execute(
        update(CaseMessage).where(CaseMessage.case_id == case.id)
        .values(ciphertext=None, wrapped_key=None, key_id=None)
        .execution_options(synchronize_session=False))
    # Probe sets and run results (targets, completions) were sealed under the same key.
    from app.probes.models import ProbeOverride, ProbeRun, ProbeSet

    await session.execute(update(ProbeSet).where(ProbeSet.case_id == case.id)
                          .values(ciphertext=None).execution_options(synchronize_session=False))
    await session.execute(update(ProbeRun).where(ProbeRun.case_id == case.id)
                          .values(results_ciphertext=None)
                          .execution_options(synchronize_session=False))
    await session.execute(update(ProbeOverride).where(ProbeOverride.case_id == case.id)
                          .values(reason_ciphertext=None)
                          .execution_options(synchronize_session=False))
    # Emails still queued for the case are given up: their content is gone.
    await session.execute(
        update(OutboundEmail).where(OutboundEmail.case_id == case.id,
                                    OutboundEmail.status == EmailStatus.pending)
        .values(status=EmailStatus.failed, last_error="subject data erased")
        .execution_options(synchronize_session=False))
    await session.execute(
        update(OutboundEmail).where(OutboundEmail.case_id == case.id)
        .values(ciphertext=None, wrapped_key=None, key_id=None)
        .execution_options(synchronize_session=False))
    await audit.append(session, org_id=case.org_id, case_id=case.id,
                       actor=Actor.system("retention").label, action="case.subject_erased")

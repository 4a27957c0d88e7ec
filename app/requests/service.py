"""Data subjects' side of a case once filed: following, withdrawing, answering (filing is
filing.py, confirming the email confirming.py)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit import service as audit
from app.auth.tokens import digest
from app.cases import notify
from app.cases.deadlines import org_zone
from app.cases.lifecycle import Actor, allowed_targets, transition
from app.cases.models import (
    Case,
    CaseKind,
    CaseMessage,
    CaseModel,
    CaseStatus,
    Confirmation,
    MessageDirection,
    MessageKind,
    ObjectionBasis,
)
from app.cases.outcome import INTERNAL_ACTIONS, subject_outcome
from app.cases.subject import erase_subject, open_subject, subject_aad
from app.config import Settings
from app.crypto import Keyring, Sealed
from app.db import utcnow
from app.emails import service as emails
from app.errors import Conflict, NotFound
from app.i18n import has_message, translate
from app.models_registry.models import Model
from app.requests.identify import information_until
from app.requests.schemas import RequestStatus, TimelineEntry


async def model_refs(session: AsyncSession, case_id: uuid.UUID) -> list[str]:
    rows = await session.execute(
        select(Model.namespace, Model.name).join(CaseModel, CaseModel.model_id == Model.id)
        .where(CaseModel.case_id == case_id).order_by(Model.namespace, Model.name))
    return [f"{ns}/{name}" for ns, name in rows]


async def case_by_status_token(session: AsyncSession, token: str) -> Case:
    case = await session.scalar(select(Case).where(Case.status_token_hash == digest(token)))
    if case is None or case.status == CaseStatus.pending_verification:
        raise NotFound("this status link is not valid")
    return case


async def latest_question(session: AsyncSession, keyring: Keyring, case: Case) -> str | None:
    if case.status != CaseStatus.awaiting_subject:
        return None
    msg = await session.scalar(
        select(CaseMessage).where(CaseMessage.case_id == case.id,
                                  CaseMessage.kind == MessageKind.question)
        .order_by(CaseMessage.created_at.desc()).limit(1))
    if msg is None or msg.ciphertext is None:
        return None
    assert msg.wrapped_key is not None and msg.key_id is not None
    text: str = keyring.open(Sealed(msg.ciphertext, msg.wrapped_key, msg.key_id), subject_aad(case.id))
    return text


def can(case: Case, to: CaseStatus) -> bool:
    return to in allowed_targets(CaseStatus(case.status), Actor.subject().kind)


async def withdraw(session: AsyncSession, keyring: Keyring, case: Case) -> Case:
    await transition(session, case, CaseStatus.withdrawn, Actor.subject(), action="case.withdrawn")
    data = open_subject(keyring, case)
    if data is not None:
        await emails.enqueue(session, keyring, to=data["email"], kind="withdrawn",
                             lang=case.language, context={"reference": case.reference,
                                                          "status_link": data.get("status_link")},
                             case_id=case.id, org_id=case.org_id)
    await session.flush()
    return case


async def answer(session: AsyncSession, keyring: Keyring, settings: Settings, case: Case,
                 text: str) -> Case:
    if case.status != CaseStatus.awaiting_subject:
        raise Conflict(f"case {case.reference} is {case.status}; no information was asked for")
    sealed = keyring.seal(text, subject_aad(case.id))
    session.add(CaseMessage(case_id=case.id, direction=MessageDirection.from_subject,
                            kind=MessageKind.answer, author=Actor.subject().label,
                            ciphertext=sealed.ciphertext, wrapped_key=sealed.wrapped_key,
                            key_id=sealed.key_id))
    await transition(session, case, CaseStatus.in_review, Actor.subject(),
                     action="case.subject_answered")
    # The assignee (and the admins) hear that the case is theirs to move again; the answer
    # itself stays on the dashboard.
    await notify.tell_staff(session, keyring, await notify.staff_for(session, case), case,
                            "subject_answered", {"link": notify.case_link(settings, case),
                                                 "due_at": case.due_at})
    await session.flush()
    return case


async def expire_unconfirmed(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    """Requests never confirmed in time expire, and their personal data is erased at once."""
    now = utcnow()
    expired = 0
    async with sessionmaker() as session:
        stale = select(Confirmation.submission_id).where(
            Confirmation.used_at.is_(None), Confirmation.expires_at <= now)
        cases = list(await session.scalars(
            select(Case).where(Case.status == CaseStatus.pending_verification,
                               Case.submission_id.in_(stale)).limit(500)
            .with_for_update(skip_locked=True)))
        for case in cases:
            await transition(session, case, CaseStatus.expired, Actor.system("expiry"),
                             action="case.expired")
            erase_subject(case)
            expired += 1
        await session.commit()
    return expired


async def status_view(
    session: AsyncSession, keyring: Keyring, case: Case, lang: str, settings: Settings
) -> RequestStatus:
    from app.probes.reads import subject_probe_notice

    trail = await audit.case_trail(session, case.id)
    timeline = []
    for e in trail:
        if e.action in INTERNAL_ACTIONS:
            continue
        key = f"step.{e.action}"
        text = translate(lang, key) if has_message(key) else translate(lang, "step.other")
        timeline.append(TimelineEntry(at=e.created_at, step=e.action, text=text))
    return RequestStatus(
        reference=case.reference, kind=CaseKind(case.kind), status=CaseStatus(case.status),
        objection_basis=ObjectionBasis(case.objection_basis) if case.objection_basis else None,
        models=await model_refs(session, case.id), received_at=case.received_at,
        due_at=case.due_at, time_zone=(await org_zone(session, case.org_id)).key,
        timeline=timeline, information_requested=await latest_question(session, keyring, case),
        can_withdraw=can(case, CaseStatus.withdrawn),
        can_answer=case.status == CaseStatus.awaiting_subject,
        information_until=information_until(settings, case),
        restricted_since=case.restricted_at,
        probes=await subject_probe_notice(session, case, lang),
        **await subject_outcome(session, keyring, case),
    )

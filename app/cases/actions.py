"""What the provider's staff do with a case: review it, assign it, ask the subject for more
information, decide, extend the deadline, link a duplicate.

Each action checks everything before it changes anything, so a refused action leaves the case
as it was (bulk actions rely on this to report per case)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.auth.models import Role, User
from app.cases import notify
from app.cases.deadlines import check_extension, extended_due, org_zone
from app.cases.grounds import check_ground
from app.cases.keys import seal_text
from app.cases.lifecycle import (
    ACTIVE,
    STAFF,
    TERMINAL,
    Actor,
    check,
    save,
    sealed_note,
    transition,
)
from app.cases.messages import add_message
from app.cases.models import (
    Case,
    CaseStatus,
    Decision,
    MessageDirection,
    MessageKind,
    RejectionGround,
)
from app.cases.restriction import lift
from app.cases.service import get_case
from app.config import Settings
from app.crypto import Keyring
from app.db import utcnow
from app.errors import BadRequest, Conflict, Forbidden

S = CaseStatus


async def start_review(session: AsyncSession, actor: Actor, case: Case,
                       note: str | None = None, *, keyring: Keyring | None = None) -> Case:
    """open -> in_review; also resumes the review of a case awaiting the subject's answer."""
    action = "case.review_resumed" if case.status == S.awaiting_subject else "case.in_review"
    await transition(session, case, S.in_review, actor, note=note, action=action,
                     keyring=keyring)
    if action == "case.in_review":
        # Evidence for the decision: does the model reproduce the subject's data?
        from app.probes.service import queue_triage

        await queue_triage(session, case, actor.label)
    return case


async def reopen(session: AsyncSession, actor: Actor, case: Case, note: str, *,
                 keyring: Keyring) -> Case:
    """remediated -> accepted: the fix did not hold (e.g. a probe prompt still reproduces the
    data); the case waits for another remediation of its models."""
    from app.remediation.models import RemediationCase

    await transition(session, case, S.accepted, actor, note=note, action="case.reopened",
                     keyring=keyring)
    await session.execute(update(RemediationCase).where(
        RemediationCase.case_id == case.id, RemediationCase.reopened_at.is_(None))
        .values(reopened_at=utcnow()))
    return case


async def find_assignee(session: AsyncSession, org_id: uuid.UUID, email: str) -> User:
    user = await session.scalar(select(User).where(
        User.org_id == org_id, User.email == email.strip().lower(),
        User.is_active.is_(True), User.role.in_([Role.admin.value, Role.reviewer.value])))
    if user is None:
        raise BadRequest("assignee: no active staff user with this email in your organisation")
    return user


async def assign(
    session: AsyncSession, keyring: Keyring, settings: Settings, actor: Actor, case: Case,
    email: str | None, note: str | None = None,
) -> Case:
    if actor.kind not in STAFF:
        raise Forbidden("only staff assign cases")
    if case.status in TERMINAL:
        raise Conflict(f"case {case.reference} is {case.status}; it can no longer be assigned")
    user = await find_assignee(session, case.org_id, email) if email else None
    if case.assignee_id == (user.id if user else None):
        return case
    case.assignee_id = user.id if user else None
    await save(session, case)
    await audit.append(session, org_id=case.org_id, case_id=case.id, actor=actor.label,
                       action="case.assigned" if user else "case.unassigned",
                       details={"assignee": user.email if user else None},
                       **sealed_note(keyring, case, note))
    if user is not None and actor.label != f"user:{user.email}":
        await notify.tell_staff(session, keyring, [user], case, "case_assigned",
                                {"link": notify.case_link(settings, case),
                                 "due_at": case.due_at, "by": actor.label})
    return case


async def request_information(
    session: AsyncSession, keyring: Keyring, actor: Actor, case: Case, question: str,
    note: str | None = None,
) -> Case:
    """Ask the subject for what is needed to act (Art. 12(6)); they answer on the status page."""
    check(case, S.awaiting_subject, actor)
    await add_message(session, keyring, case, kind=MessageKind.question,
                      direction=MessageDirection.to_subject, author=actor.label, content=question)
    await transition(session, case, S.awaiting_subject, actor, note=note,
                     action="case.awaiting_subject", keyring=keyring)
    await notify.tell_subject(session, keyring, case, "information_requested")
    return case


async def decide(
    session: AsyncSession, keyring: Keyring, actor: Actor, case: Case, *, accept: bool,
    ground: RejectionGround | None = None, explanation: str | None = None,
    note: str | None = None, now: datetime,
) -> Case:
    to = S.accepted if accept else S.rejected
    check(case, to, actor)
    if not accept:
        if ground is None or not explanation:
            raise BadRequest("a rejection needs a ground and an explanation")
        check_ground(case, ground)
    if explanation:  # written first: its flush must not carry the case's change unchecked
        await add_message(session, keyring, case, kind=MessageKind.decision,
                          direction=MessageDirection.to_subject, author=actor.label,
                          content=explanation)
    if case.restricted_at is not None:  # the request is decided: nothing left to weigh
        await lift(session, keyring, actor, case, why="decided")
    case.decision = Decision.accepted if accept else Decision.rejected
    case.decision_ground = None if accept else ground
    case.decided_at, case.decided_by = now, actor.label
    await transition(session, case, to, actor, note=note, action=f"case.{to.value}",
                     keyring=keyring,
                     details={"ground": ground.value} if ground and not accept else None)
    await notify.tell_subject(
        session, keyring, case, "decision_accepted" if accept else "decision_rejected",
        {"ground": ground.value if ground else None})
    return case


async def extend(
    session: AsyncSession, keyring: Keyring, actor: Actor, case: Case, *, months: int,
    reason: str, now: datetime,
) -> Case:
    """One extension by one or two months, only while the first month runs (Art. 12(3))."""
    if actor.kind not in STAFF:
        raise Forbidden("only staff extend deadlines")
    zone = await org_zone(session, case.org_id)
    check_extension(case, months, now, zone)
    previous = case.due_at
    # The reason is told to the subject and may name them: sealed under the case key, and
    # only its digest goes into the audit chain.
    sealed = seal_text(keyring, case, reason, "extension.reason")
    case.extension_months, case.extended_at = months, now
    case.extension_reason_sealed = sealed.blob
    case.due_at = extended_due(case.received_at, months, zone)
    await save(session, case)
    await audit.append(session, org_id=case.org_id, case_id=case.id, actor=actor.label,
                       action="case.extended", **sealed_note(keyring, case, reason),
                       details={"months": months, "from": previous.isoformat(),
                                "due_at": case.due_at.isoformat()})
    await notify.tell_subject(session, keyring, case, "extended",
                              {"due_at": case.due_at, "months": months, "reason": reason})
    return case


async def mark_duplicate(session: AsyncSession, actor: Actor, case: Case, of: str,
                         note: str | None = None, *, keyring: Keyring | None = None) -> Case:
    check(case, S.duplicate, actor)
    earlier = await get_case(session, case.org_id, of)
    if earlier.id == case.id:
        raise BadRequest("of: a case cannot duplicate itself")
    if earlier.status not in ACTIVE:
        raise Conflict(f"case {earlier.reference} is {earlier.status}; link duplicates to an "
                       "active case")
    case.duplicate_of_id = earlier.id
    return await transition(session, case, S.duplicate, actor, note=note, keyring=keyring,
                            action="case.duplicate",
                            details={"duplicate_of": earlier.reference})


"""The case state machine (GDPR Art. 12): the one table of allowed transitions and who may
make each, and the one function that changes a case's status and writes its audit row."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.auth.models import Role
from app.auth.service import Principal
from app.cases.models import Case, CaseStatus
from app.db import utcnow
from app.errors import Forbidden, InvalidTransition

S = CaseStatus

SUBJECT = "subject"  # the data subject, through their secret link
SYSTEM = "system"  # scheduled jobs and automatic steps
STAFF = frozenset({Role.admin.value, Role.reviewer.value})
RELEASE = frozenset({Role.admin.value, Role.pipeline.value, SYSTEM})

TRANSITIONS: dict[tuple[CaseStatus, CaseStatus], frozenset[str]] = {
    (S.pending_verification, S.open): frozenset({SUBJECT}),
    (S.pending_verification, S.duplicate): frozenset({SUBJECT}),
    (S.pending_verification, S.expired): frozenset({SYSTEM}),
    (S.pending_verification, S.withdrawn): frozenset({SUBJECT}),
    (S.open, S.in_review): STAFF,
    (S.open, S.duplicate): STAFF,
    (S.open, S.withdrawn): frozenset({SUBJECT}),
    (S.in_review, S.awaiting_subject): STAFF,
    (S.in_review, S.accepted): STAFF,
    (S.in_review, S.rejected): STAFF,
    (S.in_review, S.duplicate): STAFF,
    (S.in_review, S.withdrawn): frozenset({SUBJECT}),
    (S.awaiting_subject, S.in_review): STAFF | {SUBJECT},
    (S.awaiting_subject, S.rejected): STAFF,
    (S.awaiting_subject, S.withdrawn): frozenset({SUBJECT}),
    (S.accepted, S.in_remediation): RELEASE | STAFF,
    (S.accepted, S.closed): STAFF,
    (S.accepted, S.withdrawn): frozenset({SUBJECT}),
    (S.in_remediation, S.remediated): RELEASE,
    (S.in_remediation, S.accepted): RELEASE | STAFF,  # the remediation failed or was cancelled
    (S.remediated, S.closed): STAFF,
    (S.rejected, S.closed): STAFF,
}

# Cases the provider still has to act on; used for duplicates and the queue.
ACTIVE = frozenset({S.open, S.in_review, S.awaiting_subject, S.accepted, S.in_remediation,
                    S.remediated})
TERMINAL = frozenset({S.closed, S.withdrawn, S.expired, S.duplicate})


@dataclass(frozen=True)
class Actor:
    """Who makes a transition: a role (admin/reviewer/pipeline), the subject, or the system."""

    kind: str
    label: str

    @classmethod
    def of(cls, principal: Principal) -> Actor:
        return cls(kind=principal.role.value, label=principal.actor)

    @classmethod
    def subject(cls) -> Actor:
        return cls(kind=SUBJECT, label="data subject")

    @classmethod
    def system(cls, job: str) -> Actor:
        return cls(kind=SYSTEM, label=f"system:{job}")


def allowed_targets(status: CaseStatus, actor_kind: str) -> list[CaseStatus]:
    return [to for (frm, to), who in TRANSITIONS.items() if frm == status and actor_kind in who]


async def transition(
    session: AsyncSession, case: Case, to: CaseStatus, actor: Actor, *, note: str | None = None,
    action: str | None = None, details: dict[str, Any] | None = None,
) -> Case:
    current = CaseStatus(case.status)
    allowed = TRANSITIONS.get((current, to))
    if allowed is None:
        raise InvalidTransition(f"case {case.reference} is {current.value}; "
                                f"it cannot become {to.value}")
    if actor.kind not in allowed:
        raise Forbidden(f"a {actor.kind} cannot move a case from {current.value} to {to.value}")
    case.status = to
    case.updated_at = utcnow()
    if to in TERMINAL:
        case.closed_at = case.closed_at or utcnow()
    await audit.append(session, org_id=case.org_id, case_id=case.id, actor=actor.label,
                       action=action or f"case.{to.value}", from_status=current.value,
                       to_status=to.value, note=note, details=details)
    return case

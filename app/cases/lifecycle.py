"""The case state machine (GDPR Art. 12): the one table of allowed transitions and who may
make each, and the one function that changes a case's status and writes its audit row."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from app.audit import service as audit
from app.auth.models import Role
from app.auth.service import Principal
from app.cases.keys import seal_text
from app.cases.models import Case, CaseStatus
from app.crypto import Keyring
from app.db import utcnow
from app.errors import Conflict, Forbidden, InvalidTransition

S = CaseStatus

SUBJECT = "subject"  # the data subject, through their secret link
SYSTEM = "system"  # scheduled jobs and automatic steps
STAFF = frozenset({Role.admin.value, Role.reviewer.value})
# Who reports a remediation's outcome: the training pipeline, or an admin by hand.
REPORTERS = frozenset({Role.admin.value, Role.pipeline.value})

TRANSITIONS: dict[tuple[CaseStatus, CaseStatus], frozenset[str]] = {
    (S.pending_verification, S.open): frozenset({SUBJECT}),  # email confirmed
    (S.pending_verification, S.duplicate): frozenset({SUBJECT}),  # confirmed, same as before
    (S.pending_verification, S.expired): frozenset({SYSTEM}),  # never confirmed
    (S.pending_verification, S.withdrawn): frozenset({SUBJECT}),
    (S.open, S.in_review): STAFF,
    (S.open, S.duplicate): STAFF,
    (S.open, S.withdrawn): frozenset({SUBJECT}),
    (S.in_review, S.awaiting_subject): STAFF,  # more information needed (Art. 12(6))
    (S.in_review, S.accepted): STAFF,
    (S.in_review, S.rejected): STAFF,
    (S.in_review, S.duplicate): STAFF,
    (S.in_review, S.withdrawn): frozenset({SUBJECT}),
    (S.awaiting_subject, S.in_review): STAFF | {SUBJECT},  # answered, or staff resume
    (S.awaiting_subject, S.rejected): STAFF,  # e.g. still cannot identify the person
    (S.awaiting_subject, S.withdrawn): frozenset({SUBJECT}),
    (S.accepted, S.in_remediation): STAFF,  # grouped into a planned remediation
    (S.accepted, S.withdrawn): frozenset({SUBJECT}),
    # The fixed version is released (and, where it has inference endpoints, the probes job
    # found it no longer reproduces the data: app/probes/verify.py).
    (S.in_remediation, S.remediated): REPORTERS | {SYSTEM},
    (S.in_remediation, S.accepted): REPORTERS | STAFF,  # the remediation failed or was cancelled
    # The fixed version still reproduces the data (a probe prompt says so): fix it again.
    (S.remediated, S.accepted): STAFF,
    # Closing needs the subject told and the fix announced: see app/cases/closure.py.
    # The system closes them too once the storage-limitation period has run (app/cases/ageing.py).
    (S.remediated, S.closed): STAFF | {SYSTEM},
    (S.rejected, S.closed): STAFF | {SYSTEM},
    # Art. 11(2): refused as `cannot_identify`, the person sends more information within the
    # window (app/requests/identify.py checks the ground and the window).
    (S.rejected, S.in_review): frozenset({SUBJECT}),
}

# Cases the provider still has to act on; used for duplicates and the queue.
ACTIVE = frozenset({S.open, S.in_review, S.awaiting_subject, S.accepted, S.in_remediation,
                    S.remediated})
TERMINAL = frozenset({S.closed, S.withdrawn, S.expired, S.duplicate})


class ConcurrentChange(Conflict):
    """Someone else changed the case since it was read; the transaction cannot go on."""


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


def check(case: Case, to: CaseStatus, actor: Actor) -> None:
    """Refuse a move the table does not allow (409 naming the current state), or one the actor's
    role may not make (403). Changes nothing, so bulk actions can ask before acting."""
    current = CaseStatus(case.status)
    allowed = TRANSITIONS.get((current, to))
    if allowed is None:
        raise InvalidTransition(f"case {case.reference} is {current.value}; "
                                f"it cannot become {to.value}")
    if actor.kind not in allowed:
        raise Forbidden(f"a {actor.kind} cannot move a case from {current.value} to {to.value}")


def sealed_note(keyring: Keyring | None, case: Case, note: str | None) -> dict[str, Any]:
    """The audit row's `note` and `note_sealed` for a staff note: a digest in the chain, the
    text sealed under the case key (it may name the person; the chain is never erased)."""
    if note is None:
        return {"note": None, "note_sealed": None}
    if keyring is None:
        raise ValueError("a note about a case is sealed: pass the keyring")
    sealed = seal_text(keyring, case, note, "audit.note")
    return {"note": sealed.digest, "note_sealed": sealed.blob}


async def transition(
    session: AsyncSession, case: Case, to: CaseStatus, actor: Actor, *, note: str | None = None,
    action: str | None = None, details: dict[str, Any] | None = None,
    keyring: Keyring | None = None, flush: bool = True,
) -> Case:
    """`flush=False` leaves the case to be written with the rest of a batch (one UPDATE
    statement for many cases); the caller's flush then raises any concurrent change."""
    check(case, to, actor)
    noted = sealed_note(keyring, case, note)
    current = CaseStatus(case.status)
    case.status = to
    case.updated_at = utcnow()
    case.stalled_flagged_at = None  # a new status: its own stall clock
    if to in TERMINAL:
        case.closed_at = case.closed_at or utcnow()
    if flush:
        await save(session, case)
    await audit.append(session, org_id=case.org_id, case_id=case.id, actor=actor.label,
                       action=action or f"case.{to.value}", from_status=current.value,
                       to_status=to.value, details=details, **noted)
    return case


async def save(session: AsyncSession, case: Case) -> None:
    """Write the case now; if someone changed it since it was read, refuse (409)."""
    reference = case.reference  # read now: after a failed flush, reading it would fail too
    try:
        await session.flush()
    except StaleDataError:
        raise ConcurrentChange(f"case {reference} was changed at the same time by someone else; "
                       "reload it and try again") from None

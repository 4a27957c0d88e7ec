"""A remediation's states: the one table of allowed moves and who may make each, and the one
function that changes a remediation's status and writes its audit row."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from app.audit import service as audit
from app.cases.lifecycle import REPORTERS, STAFF, Actor
from app.db import utcnow
from app.errors import Conflict, Forbidden, InvalidTransition
from app.remediation.models import Remediation, RemediationStatus

R = RemediationStatus

TRANSITIONS: dict[tuple[RemediationStatus, RemediationStatus], frozenset[str]] = {
    (R.planned, R.running): REPORTERS,  # the pipeline started
    (R.planned, R.failed): REPORTERS,  # ... or could not start
    (R.planned, R.cancelled): STAFF,
    (R.running, R.succeeded): REPORTERS,  # the fixed version is registered with it
    (R.running, R.failed): REPORTERS,
    (R.running, R.cancelled): STAFF,
}

ACTIVE = frozenset({R.planned, R.running})
FINISHED = frozenset({R.succeeded, R.failed, R.cancelled})


def check(remediation: Remediation, to: RemediationStatus, actor: Actor) -> None:
    current = RemediationStatus(remediation.status)
    allowed = TRANSITIONS.get((current, to))
    if allowed is None:
        raise InvalidTransition(f"remediation {remediation.id} is {current.value}; "
                                f"it cannot become {to.value}")
    if actor.kind not in allowed:
        raise Forbidden(f"a {actor.kind} cannot move a remediation from {current.value} to "
                        f"{to.value}")


async def save(session: AsyncSession, remediation: Remediation) -> None:
    try:
        await session.flush()
    except StaleDataError:
        raise Conflict(f"remediation {remediation.id} was changed at the same time; reload it "
                       "and try again") from None


async def set_status(
    session: AsyncSession, remediation: Remediation, to: RemediationStatus, actor: Actor, *,
    model_ref: str, note: str | None = None,
) -> None:
    check(remediation, to, actor)
    current = remediation.status
    now = utcnow()
    remediation.status = to
    remediation.updated_at = now
    if to == R.running:
        remediation.started_at = now
    if to in FINISHED:
        remediation.finished_at = now
    await save(session, remediation)
    await audit.append(session, org_id=remediation.org_id, actor=actor.label,
                       action=f"remediation.{to.value}", from_status=current, to_status=to,
                       note=note, details={"remediation": str(remediation.id), "model": model_ref})

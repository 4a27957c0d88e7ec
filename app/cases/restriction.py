"""GDPR Art. 18: while the provider weighs a request (typically whether its grounds override an
objection, Art. 18(1)(d)), staff can restrict the processing of the person's data, with an
interim measure such as an output filter released as a remediation of method `output_filter`.
The start and the end are audit rows, and the subject is told of each in their language
(Art. 18(3): before the restriction is lifted). A decision ends the restriction."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.cases import notify
from app.cases.lifecycle import STAFF, Actor, save, sealed_note
from app.cases.models import Case, CaseModel, CaseStatus
from app.crypto import Keyring
from app.db import utcnow
from app.errors import BadRequest, Conflict, Forbidden
from app.remediation.models import Remediation, RemediationMethod

S = CaseStatus
# While the provider has not decided yet.
WEIGHING = frozenset({S.open, S.in_review, S.awaiting_subject})


async def _interim(session: AsyncSession, case: Case, remediation_id: uuid.UUID) -> Remediation:
    r = await session.scalar(select(Remediation).where(
        Remediation.id == remediation_id, Remediation.org_id == case.org_id,
        Remediation.model_id.in_(select(CaseModel.model_id)
                                 .where(CaseModel.case_id == case.id))))
    if r is None:
        raise BadRequest("remediation_id: no remediation of your organisation on this case's "
                         "models has this id")
    if r.method != RemediationMethod.output_filter:
        raise BadRequest("remediation_id: an interim measure is a remediation of method "
                         "output_filter")
    return r


async def restrict(session: AsyncSession, keyring: Keyring, actor: Actor, case: Case, *,
                   remediation_id: uuid.UUID | None, note: str | None) -> Case:
    if actor.kind not in STAFF:
        raise Forbidden("only staff restrict processing")
    if case.status not in WEIGHING:
        raise Conflict(f"case {case.reference} is {case.status}; processing is restricted "
                       "only while the request is being weighed")
    if case.restricted_at is not None:
        raise Conflict(f"case {case.reference} is already under restriction")
    measure = await _interim(session, case, remediation_id) if remediation_id else None
    case.restricted_at = utcnow()
    case.restriction_remediation_id = measure.id if measure else None
    await save(session, case)
    await audit.append(session, org_id=case.org_id, case_id=case.id, actor=actor.label,
                       action="case.restricted",
                       details={"interim_measure": {"remediation": str(measure.id),
                                                    "method": measure.method}
                                if measure else None},
                       **sealed_note(keyring, case, note))
    await notify.tell_subject(session, keyring, case, "restricted")
    return case


async def lift(session: AsyncSession, keyring: Keyring, actor: Actor, case: Case, *,
               note: str | None = None, why: str = "lifted") -> Case:
    if actor.kind not in STAFF:
        raise Forbidden("only staff lift a restriction")
    if case.restricted_at is None:
        raise Conflict(f"case {case.reference} is not under restriction")
    since = case.restricted_at
    case.restricted_at = None
    case.restriction_remediation_id = None
    await save(session, case)
    await audit.append(session, org_id=case.org_id, case_id=case.id, actor=actor.label,
                       action="case.restriction_lifted",
                       details={"since": since.isoformat(), "why": why},
                       **sealed_note(keyring, case, note))
    await notify.tell_subject(session, keyring, case, "restriction_lifted")
    return case

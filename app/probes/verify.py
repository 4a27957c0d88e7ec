"""Verification and regression: what a finished run means for its case.

- A remediation reported success: each of its cases stays `in_remediation` until every
  endpoint of the fixed version (the version and each registered artifact) answered all its
  samples without reproducing the data. A reproducing or inconclusive run holds the case
  until staff override it with a reason (sealed, and audited).
- A later version reproducing a remediated or closed case's data is flagged on the case; the
  case cannot close on it without an override either."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.cases.keys import seal_for_case
from app.cases.lifecycle import Actor
from app.cases.models import Case, CaseStatus
from app.crypto import Keyring
from app.errors import Conflict
from app.models_registry.models import ModelVersion
from app.probes import service
from app.probes.models import ProbeOverride, ProbeRun, RunMoment, RunStatus
from app.remediation.models import Remediation, RemediationCase, RemediationStatus

# What settles a remediation whose verification ended (app.remediation.service.settle):
# given by the caller, because the remediation service itself asks this module to hold.
Settle = Callable[[AsyncSession, Keyring, Remediation, Actor], Awaitable[None]]


def clean(run: ProbeRun) -> bool:
    return run.status == RunStatus.finished and run.hits == 0 and run.failures == 0


async def _latest(session: AsyncSession, case_id: uuid.UUID, endpoint_id: uuid.UUID,
                  moments: tuple[str, ...]) -> ProbeRun | None:
    return await session.scalar(select(ProbeRun).where(
        ProbeRun.case_id == case_id, ProbeRun.endpoint_id == endpoint_id,
        ProbeRun.moment.in_(moments)).order_by(ProbeRun.created_at.desc(),
                                               ProbeRun.id.desc()).limit(1))


async def _override_at(session: AsyncSession, case_id: uuid.UUID) -> object:
    return await session.scalar(select(func.max(ProbeOverride.created_at)).where(
        ProbeOverride.case_id == case_id))


async def hold(session: AsyncSession, r: Remediation, case: Case, actor: str) -> bool:
    """True while the fixed version of `r` is not yet shown not to reproduce the case's data
    (queueing the verification runs still missing)."""
    fixed = await session.scalar(select(ModelVersion).where(ModelVersion.remediation_id == r.id))
    if fixed is None or case.subject_erased_at is not None:
        return False
    endpoints = await service.list_endpoints(session, fixed.id)
    if not endpoints or await session.scalar(select(ProbeOverride.id).where(
            ProbeOverride.case_id == case.id, ProbeOverride.remediation_id == r.id)):
        return False
    waiting = False
    for e in endpoints:
        run = await _latest(session, case.id, e.id, (RunMoment.verification.value,))
        if run is None:
            await service.queue_verification(session, case, fixed, r.id, actor)
            waiting = True
        elif not clean(run):
            waiting = True
    return waiting


async def after_run(session: AsyncSession, keyring: Keyring, run: ProbeRun,
                    settle: Settle) -> None:
    case = await session.get(Case, run.case_id)
    assert case is not None
    names = await service.version_names(session, {run.version_id})
    model, label = names.get(run.version_id, ("", ""))
    await audit.append(session, org_id=run.org_id, case_id=run.case_id,
                       actor="system:probes", action="probe.run_finished", details={
                           "run": str(run.id), "moment": run.moment, "model": model,
                           "version": label, "artifact": run.artifact or None,
                           "samples": run.samples_done, "reproduced": run.hits,
                           "failed": run.failures})
    if run.moment == RunMoment.regression and run.hits:
        await audit.append(session, org_id=run.org_id, case_id=run.case_id,
                           actor="system:probes", action="case.reproduced_again",
                           details={"model": model, "version": label,
                                    "artifact": run.artifact or None})
    if run.moment == RunMoment.verification and run.remediation_id is not None:
        await _settle(session, keyring, run.remediation_id, Actor.system("probes"), settle)


async def _settle(session: AsyncSession, keyring: Keyring, remediation_id: uuid.UUID,
                  actor: Actor, settle: Settle) -> None:
    r = await session.get(Remediation, remediation_id)
    if r is not None and r.status == RemediationStatus.succeeded:
        await settle(session, keyring, r, actor)


async def override(session: AsyncSession, keyring: Keyring, actor: Actor, case: Case,
                   reason: str, settle: Settle) -> ProbeOverride:
    """Staff accept a fix although probes reproduced the data (or could not tell)."""
    remediation_id = None
    if case.status == CaseStatus.in_remediation:
        remediation_id = await session.scalar(
            select(Remediation.id).join(RemediationCase,
                                        RemediationCase.remediation_id == Remediation.id)
            .where(RemediationCase.case_id == case.id,
                   Remediation.status == RemediationStatus.succeeded.value)
            .order_by(Remediation.updated_at.desc()).limit(1))
        if remediation_id is None:
            raise Conflict(f"case {case.reference} is not waiting on a verified fix")
    elif case.status != CaseStatus.remediated:
        raise Conflict(f"case {case.reference} is {case.status}; only a case being verified "
                       "or remediated takes a probe override")
    o = ProbeOverride(case_id=case.id, remediation_id=remediation_id, created_by=actor.label,
                      reason_ciphertext=seal_for_case(keyring, case, reason,
                                                      "probe.override"))
    session.add(o)
    await session.flush()
    await audit.append(session, org_id=case.org_id, case_id=case.id, actor=actor.label,
                       action="case.probes_overridden",
                       details={"remediation": str(remediation_id) if remediation_id else None})
    if remediation_id is not None:
        await _settle(session, keyring, remediation_id, actor, settle)
    return o


async def check_closable(session: AsyncSession, case: Case) -> bool:
    """Refuse to close a case whose latest probe of a fixed or later version reproduced its
    data (or failed to answer), unless an override came after it. True when automated probes
    of the fix exist (and passed, or were overridden)."""
    overridden = await _override_at(session, case.id)
    endpoints: set[uuid.UUID] = set(await session.scalars(select(ProbeRun.endpoint_id).where(
        ProbeRun.case_id == case.id, ProbeRun.endpoint_id.is_not(None),
        ProbeRun.moment.in_([RunMoment.verification.value, RunMoment.regression.value]))))
    for endpoint_id in endpoints:
        run = await _latest(session, case.id, endpoint_id,
                            (RunMoment.verification.value, RunMoment.regression.value))
        if run is None or run.status != RunStatus.finished or clean(run):
            continue
        if overridden is None or overridden < run.finished_at:  # type: ignore[operator]
            raise Conflict(f"a probe of a fixed version still reproduces the data of case "
                           f"{case.reference} (or could not tell); fix it again, or override "
                           "with a reason")
    return bool(endpoints)

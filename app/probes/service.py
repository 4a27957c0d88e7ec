"""Inference endpoints, probe runs queued at the three moments (triage, verification,
regression), cancelling, and what staff and exports read of them."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.cases.models import Case, CaseModel, CaseStatus
from app.crypto import Keyring, Sealed
from app.db import utcnow
from app.delivery.ssrf import UrlProblem
from app.errors import Conflict, InvalidInput, NotFound
from app.models_registry import releases
from app.models_registry.models import Model, ModelVersion, VersionStatus
from app.probes.client import ProbeNet, check_endpoint_url
from app.probes.models import ProbeEndpoint, ProbeRun, RunMoment, RunStatus
from app.probes.schemas import EndpointBody, EndpointRead

KEY_AAD = b"probe-endpoint-key"
ACTIVE_RUN = (RunStatus.queued.value, RunStatus.running.value)
# Cases whose data must not come back: their sets are re-run on every later version.
WATCHED = (CaseStatus.remediated.value, CaseStatus.closed.value)


async def find_version(session: AsyncSession, org_id: uuid.UUID, model_ref: str,
                       label: str) -> tuple[Model, ModelVersion]:
    return await releases.get_version(session, org_id, model_ref, label)


def endpoint_read(model: Model, version: ModelVersion, e: ProbeEndpoint) -> EndpointRead:
    return EndpointRead(model=model.ref, version=version.label, artifact=e.artifact or None,
                        base_url=e.base_url, model_name=e.model_name, api=e.api,
                        has_api_key=e.key_ciphertext is not None, max_tokens=e.max_tokens,
                        temperature=e.temperature, samples=e.samples,
                        concurrency=e.concurrency, updated_at=e.updated_at,
                        updated_by=e.updated_by)


def api_key(keyring: Keyring, e: ProbeEndpoint) -> str | None:
    if e.key_ciphertext is None or e.key_wrapped is None or e.key_id is None:
        return None
    value: str = keyring.open(Sealed(e.key_ciphertext, e.key_wrapped, e.key_id), KEY_AAD)
    return value


async def put_endpoint(session: AsyncSession, keyring: Keyring, net: ProbeNet, actor: str,
                       model: Model, version: ModelVersion,
                       artifact: str, body: EndpointBody) -> tuple[ProbeEndpoint, bool]:
    """Register or replace the endpoint of `version` (or its `artifact`). A new endpoint on a
    later version re-runs the probe sets of the model's remediated and closed cases."""
    try:
        await check_endpoint_url(body.base_url, net.allow, net.resolver)
    except UrlProblem as exc:
        raise InvalidInput.field("base_url", str(exc)) from None
    e = await session.scalar(select(ProbeEndpoint).where(
        ProbeEndpoint.version_id == version.id, ProbeEndpoint.artifact == artifact))
    created = e is None
    if e is None:
        e = ProbeEndpoint(org_id=model.org_id, version_id=version.id, artifact=artifact)
        session.add(e)
    e.base_url, e.model_name, e.api = body.base_url, body.model_name, body.api.value
    e.max_tokens, e.temperature, e.samples = body.max_tokens, body.temperature, body.samples
    e.concurrency, e.updated_by, e.updated_at = body.concurrency, actor, utcnow()
    if body.api_key is not None:
        sealed = keyring.seal(body.api_key, KEY_AAD)
        e.key_ciphertext, e.key_wrapped, e.key_id = sealed.ciphertext, sealed.wrapped_key, \
            sealed.key_id
    await session.flush()
    await audit.append(session, org_id=model.org_id, actor=actor,
                       action="probe.endpoint_registered" if created else "probe.endpoint_updated",
                       details={"model": model.ref, "version": version.label,
                                "artifact": artifact or None})
    if created:
        await queue_regression(session, model, version, e, actor)
    return e, created


async def list_endpoints(session: AsyncSession, version_id: uuid.UUID) -> list[ProbeEndpoint]:
    return list(await session.scalars(select(ProbeEndpoint).where(
        ProbeEndpoint.version_id == version_id).order_by(ProbeEndpoint.artifact)))


async def delete_endpoint(session: AsyncSession, actor: str, model: Model,
                          version: ModelVersion, artifact: str) -> ProbeEndpoint:
    e = await session.scalar(select(ProbeEndpoint).where(
        ProbeEndpoint.version_id == version.id, ProbeEndpoint.artifact == artifact))
    if e is None:
        raise NotFound("no inference endpoint is registered there")
    for run in await session.scalars(select(ProbeRun).where(
            ProbeRun.endpoint_id == e.id, ProbeRun.status.in_(ACTIVE_RUN))):
        run.cancel_requested = True
    await session.delete(e)
    await session.flush()
    await audit.append(session, org_id=model.org_id, actor=actor,
                       action="probe.endpoint_removed",
                       details={"model": model.ref, "version": version.label,
                                "artifact": artifact or None})
    return e


def _new_run(case: Case, e: ProbeEndpoint, moment: RunMoment, actor: str,
             remediation_id: uuid.UUID | None = None) -> ProbeRun:
    return ProbeRun(org_id=case.org_id, case_id=case.id, endpoint_id=e.id,
                    version_id=e.version_id, artifact=e.artifact, moment=moment.value,
                    status=RunStatus.queued.value, remediation_id=remediation_id,
                    created_by=actor, settings={})


async def _has_active(session: AsyncSession, case_id: uuid.UUID, endpoint_id: uuid.UUID,
                      moment: RunMoment) -> bool:
    return await session.scalar(select(ProbeRun.id).where(
        ProbeRun.case_id == case_id, ProbeRun.endpoint_id == endpoint_id,
        ProbeRun.moment == moment.value, ProbeRun.status.in_(ACTIVE_RUN)).limit(1)) is not None


async def queue_triage(session: AsyncSession, case: Case, actor: str) -> list[ProbeRun]:
    """Runs of the case's set on every endpoint of the current versions of its models."""
    if case.subject_erased_at is not None:
        raise Conflict(f"the subject data of case {case.reference} was erased")
    endpoints = list(await session.scalars(
        select(ProbeEndpoint).join(ModelVersion, ModelVersion.id == ProbeEndpoint.version_id)
        .join(CaseModel, CaseModel.model_id == ModelVersion.model_id)
        .where(CaseModel.case_id == case.id, ProbeEndpoint.org_id == case.org_id,
               ModelVersion.status == VersionStatus.current.value)
        .order_by(ModelVersion.released_at, ProbeEndpoint.artifact)))
    runs = []
    for e in endpoints:
        if not await _has_active(session, case.id, e.id, RunMoment.triage):
            runs.append(_new_run(case, e, RunMoment.triage, actor))
    session.add_all(runs)
    await session.flush()
    return runs


async def queue_verification(session: AsyncSession, case: Case, version: ModelVersion,
                             remediation_id: uuid.UUID, actor: str) -> list[ProbeRun]:
    runs = []
    for e in await list_endpoints(session, version.id):
        if not await _has_active(session, case.id, e.id, RunMoment.verification):
            runs.append(_new_run(case, e, RunMoment.verification, actor, remediation_id))
    session.add_all(runs)
    await session.flush()
    return runs


async def queue_regression(session: AsyncSession, model: Model, version: ModelVersion,
                           e: ProbeEndpoint, actor: str) -> list[ProbeRun]:
    """A later version's endpoint: re-run the sets of the model's remediated and closed cases
    still holding their data, except the cases this very version fixes (they are verified)."""
    cases = list(await session.scalars(
        select(Case).join(CaseModel, CaseModel.case_id == Case.id)
        .where(CaseModel.model_id == model.id, Case.org_id == model.org_id,
               Case.status.in_(WATCHED), Case.subject_erased_at.is_(None))
        .order_by(Case.received_at)))
    runs = []
    for case in cases:
        if version.remediation_id is not None and await _fixed_by(session, case, version):
            continue
        if not await _has_active(session, case.id, e.id, RunMoment.regression):
            runs.append(_new_run(case, e, RunMoment.regression, actor))
    session.add_all(runs)
    await session.flush()
    return runs


async def _fixed_by(session: AsyncSession, case: Case, version: ModelVersion) -> bool:
    from app.remediation.models import RemediationCase

    return await session.scalar(select(RemediationCase.case_id).where(
        RemediationCase.case_id == case.id,
        RemediationCase.remediation_id == version.remediation_id)) is not None


async def get_run(session: AsyncSession, org_id: uuid.UUID, run_id: uuid.UUID,
                  *, lock: bool = False) -> ProbeRun:
    q = select(ProbeRun).where(ProbeRun.id == run_id, ProbeRun.org_id == org_id)
    run = await session.scalar(q.with_for_update() if lock else q)
    if run is None:
        raise NotFound(f"probe run {run_id} not found")
    return run


async def cancel_run(session: AsyncSession, run: ProbeRun, actor: str) -> ProbeRun:
    """A queued run stops at once; a running one at its next progress write. Cancelling a
    run that already ended changes nothing (cancelling twice is harmless)."""
    if run.status not in ACTIVE_RUN or run.cancel_requested:
        return run
    run.cancel_requested = True
    if run.status == RunStatus.queued:
        run.status, run.finished_at = RunStatus.cancelled.value, utcnow()
    await session.flush()
    await audit.append(session, org_id=run.org_id, case_id=run.case_id, actor=actor,
                       action="probe.run_cancelled", details={"run": str(run.id)})
    return run


async def case_runs(session: AsyncSession, case_id: uuid.UUID) -> list[ProbeRun]:
    return list(await session.scalars(select(ProbeRun).where(ProbeRun.case_id == case_id)
                                      .order_by(ProbeRun.created_at, ProbeRun.id)))


async def version_names(session: AsyncSession,
                        version_ids: set[uuid.UUID]) -> dict[uuid.UUID, tuple[str, str]]:
    if not version_ids:
        return {}
    rows = await session.execute(
        select(ModelVersion.id, Model.namespace, Model.name, ModelVersion.label)
        .join(Model, Model.id == ModelVersion.model_id).where(ModelVersion.id.in_(version_ids)))
    return {vid: (f"{ns}/{name}", label) for vid, ns, name, label in rows}


def counts(runs: list[ProbeRun]) -> dict[str, Any]:
    """Counts only: what an event, the subject or a metric may be told."""
    done = [r for r in runs if r.status == RunStatus.finished]
    return {"runs": len(done), "samples": sum(r.samples_done for r in done),
            "reproduced": sum(r.hits for r in done), "failed": sum(r.failures for r in done)}

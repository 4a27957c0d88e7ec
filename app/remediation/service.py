"""Remediations: staff group accepted cases of one model into a job; the training pipeline
reports its progress and, on success, the fixed version, which supersedes the versions it
replaces and moves the cases to `remediated`. Re-users hear of the plan and of the outcome
through events recorded in the same transaction (the outbox)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.cases import notify
from app.cases.evidence import fixed_versions, version_evidence
from app.cases.lifecycle import Actor, transition
from app.cases.models import Case, CaseModel, CaseStatus
from app.cases.service import NOT_RECEIVED
from app.crypto import Keyring
from app.db import utcnow
from app.errors import BadRequest, Conflict, NotFound
from app.events import service as events
from app.events.models import EventType
from app.events.schemas import (
    ProbeCounts,
    RemediationCompleted,
    RemediationInfo,
    RemediationPlanned,
)
from app.models_registry import releases
from app.models_registry.models import Model, ModelVersion, VersionStatus
from app.models_registry.schemas import VersionCreate
from app.models_registry.service import get_model, split_ref
from app.pagination import PageParams, decode_cursor, encode_cursor
from app.probes import service as probes
from app.probes import verify
from app.probes.client import ProbeNet
from app.remediation.lifecycle import ACTIVE, save, set_status
from app.remediation.models import (
    Remediation,
    RemediationCase,
    RemediationMethod,
    RemediationStatus,
)
from app.remediation.schemas import RemediationCreate, RemediationRead, RemediationReport, VersionBrief

R = RemediationStatus
# A case already counted in one of these for a model is not planned again for that model.
HOLDS_CASE = (R.planned.value, R.running.value, R.succeeded.value)


async def get_remediation(session: AsyncSession, org_id: uuid.UUID, remediation_id: uuid.UUID,
                          *, lock: bool = False) -> Remediation:
    query = select(Remediation).where(Remediation.id == remediation_id,
                                      Remediation.org_id == org_id)
    remediation = await session.scalar(query.with_for_update() if lock else query)
    if remediation is None:
        raise NotFound(f"remediation {remediation_id} not found")
    return remediation


async def list_remediations(
    session: AsyncSession, org_id: uuid.UUID, page: PageParams, *,
    status: RemediationStatus | None = None, model: str | None = None,
) -> tuple[list[Remediation], str | None]:
    """Newest first."""
    q = select(Remediation).where(Remediation.org_id == org_id)
    if status:
        q = q.where(Remediation.status == status.value)
    if model:
        namespace, name = split_ref(model)
        q = q.where(Remediation.model_id.in_(select(Model.id).where(
            Model.org_id == org_id, Model.namespace == namespace, Model.name == name)))
    if page.cursor:
        at, last = decode_cursor(page.cursor, datetime, uuid.UUID)
        q = q.where(or_(Remediation.created_at < at,
                        and_(Remediation.created_at == at, Remediation.id < last)))
    rows = list(await session.scalars(
        q.order_by(Remediation.created_at.desc(), Remediation.id.desc()).limit(page.limit + 1)))
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    cursor = encode_cursor([rows[-1].created_at.isoformat(), str(rows[-1].id)]) if more else None
    return rows, cursor


async def linked_cases(session: AsyncSession, remediation_id: uuid.UUID,
                       *, lock: bool = False) -> list[Case]:
    query = (select(Case).join(RemediationCase, RemediationCase.case_id == Case.id)
             .where(RemediationCase.remediation_id == remediation_id).order_by(Case.reference))
    return list(await session.scalars(query.with_for_update() if lock else query))


async def eligible_cases(session: AsyncSession, org_id: uuid.UUID, model: Model) -> list[Case]:
    """Cases that can join a new remediation of `model`: accepted (or being remediated for
    another of their models), concerning it, and not already held by one for it."""
    held = (select(RemediationCase.case_id)
            .join(Remediation, Remediation.id == RemediationCase.remediation_id)
            .where(Remediation.model_id == model.id, Remediation.status.in_(HOLDS_CASE),
                   RemediationCase.reopened_at.is_(None)))
    concern = select(CaseModel.case_id).where(CaseModel.model_id == model.id)
    return list(await session.scalars(
        select(Case).where(Case.org_id == org_id, Case.id.in_(concern), Case.id.not_in(held),
                           Case.status.in_([CaseStatus.accepted.value,
                                            CaseStatus.in_remediation.value]))
        .order_by(Case.due_at, Case.id)))


async def _cases_for(session: AsyncSession, org_id: uuid.UUID, model: Model,
                     references: list[str]) -> list[Case]:
    refs = list(dict.fromkeys(references))
    found = {c.reference: c for c in await session.scalars(
        select(Case).where(Case.org_id == org_id, Case.reference.in_(refs),
                           Case.status.not_in(NOT_RECEIVED)).with_for_update())}
    missing = [r for r in refs if r not in found]
    if missing:
        raise BadRequest(f"cases: {len(missing)} of the references given match no case")
    eligible = {c.id for c in await eligible_cases(session, org_id, model)}
    problems = []
    for ref in refs:
        case = found[ref]
        if case.id in eligible:
            continue
        if case.status not in (CaseStatus.accepted, CaseStatus.in_remediation):
            problems.append(f"{ref} is {case.status}; only accepted cases are remediated")
        else:
            problems.append(f"{ref} does not concern {model.ref} or is already remediated for it")
    if problems:
        raise Conflict("; ".join(problems))
    return [found[r] for r in refs]


async def _affected(session: AsyncSession, model: Model,
                    labels: list[str] | None) -> list[ModelVersion]:
    current = list(await session.scalars(
        select(ModelVersion).where(ModelVersion.model_id == model.id,
                                   ModelVersion.status == VersionStatus.current.value)
        .order_by(ModelVersion.released_at, ModelVersion.label)))
    if labels is None:
        return current
    by_label = {v.label: v for v in current}
    unknown = [label for label in dict.fromkeys(labels) if label not in by_label]
    if unknown:
        raise BadRequest(f"replaces: {len(unknown)} of the labels given are not current versions "
                         "of the model")
    return [by_label[label] for label in dict.fromkeys(labels)]


def _info(r: Remediation, case_count: int) -> RemediationInfo:
    return RemediationInfo(id=r.id, method=RemediationMethod(r.method).value,
                           case_count=case_count, status=RemediationStatus(r.status).value)


async def plan(session: AsyncSession, actor: Actor, org_id: uuid.UUID,
               body: RemediationCreate) -> Remediation:
    model = await get_model(session, org_id, body.model)
    cases = await _cases_for(session, org_id, model, body.cases)
    affected = await _affected(session, model, body.replaces)
    r = Remediation(org_id=org_id, model_id=model.id, method=body.method, status=R.planned,
                    progress=0, description=body.description, created_by=actor.label,
                    affected_version_ids=[str(v.id) for v in affected])
    session.add(r)
    await session.flush()
    for case in cases:
        session.add(RemediationCase(remediation_id=r.id, case_id=case.id))
    await session.flush()
    for case in cases:
        if case.status == CaseStatus.accepted:
            await transition(session, case, CaseStatus.in_remediation, actor,
                             action="case.in_remediation",
                             details={"remediation": str(r.id), "model": model.ref})
    await audit.append(session, org_id=org_id, actor=actor.label, action="remediation.planned",
                       to_status=R.planned, details={
                           "remediation": str(r.id), "model": model.ref, "method": r.method,
                           "cases": [c.reference for c in cases]})
    event_id = events.new_event_id()
    await events.record(session, event_id=event_id, type=EventType.remediation_planned,
                        org_id=org_id, model_id=model.id, payload=RemediationPlanned(
                            event_id=event_id, model=await releases.model_ref(session, model),
                            remediation=_info(r, len(cases)),
                            affected=[releases.version_ref(v) for v in affected]))
    return r


async def report(session: AsyncSession, keyring: Keyring, actor: Actor, r: Remediation,
                 body: RemediationReport, *, deadline: timedelta,
                 net: ProbeNet | None = None) -> Remediation:
    model = await session.get(Model, r.model_id)
    assert model is not None
    if body.status == "running" and r.status == R.running:
        pass  # a progress report while running
    elif body.status is not None:
        await set_status(session, r, RemediationStatus(body.status), actor, model_ref=model.ref,
                         note=body.message)
    elif r.status != R.running:
        raise Conflict(f"remediation {r.id} is {r.status}; progress is reported while it runs")
    if body.message is not None:
        r.message = body.message
    if body.progress is not None:
        r.progress = body.progress
    if body.status == "succeeded":
        r.progress = 100
    r.updated_at = utcnow()
    await save(session, r)
    if body.status == "succeeded":
        assert body.version is not None
        await _release_fix(session, keyring, actor, r, model, body, deadline, net)
    if body.status in ("succeeded", "failed"):
        await settle(session, keyring, r, actor)
    return r


async def _release_fix(session: AsyncSession, keyring: Keyring, actor: Actor, r: Remediation,
                       model: Model, body: RemediationReport, deadline: timedelta,
                       net: ProbeNet | None) -> None:
    """Register the fixed version: released, superseding the versions it replaces (events
    model.version.released and .superseded, reason `remediation`), then remediation.completed."""
    assert body.version is not None
    if body.supersedes is None:
        planned = [uuid.UUID(i) for i in r.affected_version_ids]
        labels = list(await session.scalars(select(ModelVersion.label).where(
            ModelVersion.id.in_(planned), ModelVersion.status == VersionStatus.current.value)
            .order_by(ModelVersion.released_at, ModelVersion.label))) if planned else []
    else:
        labels = list(dict.fromkeys(body.supersedes))
    v = body.version
    _, fixed = await releases.create_version(
        session, r.org_id, model.ref,
        VersionCreate(label=v.label, revision=v.revision, digests=v.digests,
                      released_at=v.released_at, supersedes=labels),
        deadline=deadline, remediation_id=r.id)
    superseded = list(await session.scalars(select(ModelVersion).where(
        ModelVersion.model_id == model.id, ModelVersion.label.in_(labels))
        .order_by(ModelVersion.released_at, ModelVersion.label))) if labels else []
    if v.endpoints and net is None:
        raise BadRequest("version.endpoints: inference endpoints cannot be registered here")
    for spec in v.endpoints:
        await probes.put_endpoint(session, keyring, net, actor.label, model,  # type: ignore[arg-type]
                                  fixed, spec.artifact or "", spec)
    case_count = len(await linked_cases(session, r.id))
    event_id = events.new_event_id()
    await events.record(session, event_id=event_id, type=EventType.remediation_completed,
                        org_id=r.org_id, model_id=model.id, payload=RemediationCompleted(
                            event_id=event_id, model=await releases.model_ref(session, model),
                            remediation=_info(r, case_count),
                            version=releases.version_ref(fixed),
                            superseded=[releases.version_ref(s) for s in superseded],
                            deadline_at=utcnow() + deadline,
                            probes=ProbeCounts(endpoints=len(v.endpoints),
                                               cases=case_count if v.endpoints else 0)))


async def cancel(session: AsyncSession, keyring: Keyring, actor: Actor, r: Remediation,
                 note: str | None) -> Remediation:
    model = await session.get(Model, r.model_id)
    assert model is not None
    await set_status(session, r, R.cancelled, actor, model_ref=model.ref, note=note)
    await settle(session, keyring, r, actor)
    return r


async def settle(session: AsyncSession, keyring: Keyring, r: Remediation, actor: Actor) -> None:
    """After a remediation ends, each of its cases is `remediated` once every model it concerns
    has a fixed version; it goes back to `accepted` when nothing is left running for it."""
    for case in await linked_cases(session, r.id, lock=True):
        if case.status != CaseStatus.in_remediation:
            continue
        needed = set(await session.scalars(
            select(CaseModel.model_id).where(CaseModel.case_id == case.id)))
        links = (await session.execute(
            select(Remediation.model_id, Remediation.status)
            .join(RemediationCase, RemediationCase.remediation_id == Remediation.id)
            .where(RemediationCase.case_id == case.id))).all()
        fixed = {m for m, s in links if s == R.succeeded}
        if needed <= fixed:
            # The fix is probed first (app/probes/verify.py): the case waits for the runs.
            if await verify.hold(session, r, case, actor.label):
                continue
            await transition(session, case, CaseStatus.remediated, actor,
                             action="case.remediated", details={"remediation": str(r.id)})
            versions = [version_evidence(m, v, rem) for m, v, rem in
                        await fixed_versions(session, case)]
            from app.probes.reads import subject_probe_notice

            await notify.tell_subject(session, keyring, case, "remediated", {
                "versions": versions,
                "probes": await subject_probe_notice(session, case, case.language)})
        elif not any(s in ACTIVE for _, s in links):
            action = ("case.partly_remediated" if r.status == R.succeeded
                      else "case.remediation_stopped")
            await transition(session, case, CaseStatus.accepted, actor, action=action,
                             details={"remediation": str(r.id), "outcome": r.status})


async def remediation_read(session: AsyncSession, r: Remediation) -> RemediationRead:
    model = await session.get(Model, r.model_id)
    assert model is not None
    refs = [c.reference for c in await linked_cases(session, r.id)]
    planned = [uuid.UUID(i) for i in r.affected_version_ids]
    replaces = list(await session.scalars(
        select(ModelVersion.label).where(ModelVersion.id.in_(planned))
        .order_by(ModelVersion.released_at, ModelVersion.label))) if planned else []
    fixed = await session.scalar(select(ModelVersion).where(ModelVersion.remediation_id == r.id))
    return RemediationRead(
        id=r.id, model=model.ref, method=RemediationMethod(r.method),
        status=RemediationStatus(r.status), progress=r.progress, description=r.description,
        message=r.message, created_by=r.created_by, created_at=r.created_at,
        updated_at=r.updated_at, started_at=r.started_at, finished_at=r.finished_at,
        cases=refs, case_count=len(refs), replaces=replaces,
        version=VersionBrief(label=fixed.label, revision=fixed.revision,
                             digests=fixed.digests, status=fixed.status) if fixed else None)

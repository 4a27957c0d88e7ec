"""Probe API: inference endpoints per version or artifact (admin and pipeline keys), a case's
probe set and runs (staff), templates per organisation, run progress and cancelling."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status

from app.auth.deps import AdminPrincipal, CurrentPrincipal, ReleasePrincipal, StaffPrincipal
from app.cases.lifecycle import Actor
from app.cases.router import Reference
from app.cases.service import get_case
from app.db import Session, utcnow
from app.errors import ErrorRead
from app.models_registry.router import Label, Name, Namespace
from app.probes import reads, service, sets, verify
from app.probes.client import AllowList, ProbeNet
from app.probes.models import ProbeTemplates
from app.probes.schemas import (
    Artifact,
    CaseProbesRead,
    EndpointBody,
    EndpointRead,
    OverrideBody,
    ProbeSetRead,
    ProbeSetUpdate,
    PromptRead,
    RunRead,
    RunsQueued,
    TargetBody,
    TemplatesBody,
    TemplatesRead,
)
from app.remediation.service import get_remediation, settle
from app.requests.deps import CurrentKeyring

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorRead}, 403: {"model": ErrorRead}, 404: {"model": ErrorRead},
    409: {"model": ErrorRead}}
endpoints = APIRouter(prefix="/v1/models", tags=["probes"], responses=ERRORS)
router = APIRouter(prefix="/v1", tags=["probes"], responses=ERRORS)

Language = Annotated[Literal["en", "fr"], Query(description="`en` or `fr`")]
ArtifactPath = Annotated[Artifact, Path(description="e.g. `q4_k_m`")]


def probe_net(request: Request) -> ProbeNet:
    state = request.app.state
    return ProbeNet(AllowList.parse(state.settings.probe_allowed_targets),
                    state.webhook_resolver)


Net = Annotated[ProbeNet, Depends(probe_net)]

# --- inference endpoints -----------------------------------------------------------------


async def _put(session: Session, keyring: CurrentKeyring, net: Net,
               principal: ReleasePrincipal, response: Response, namespace: str, name: str,
               label: str, artifact: str, body: EndpointBody) -> EndpointRead:
    model, version = await service.find_version(session, principal.org_id,
                                                f"{namespace}/{name}", label)
    e, created = await service.put_endpoint(session, keyring, net, principal.actor, model,
                                            version, artifact, body)
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return service.endpoint_read(model, version, e)


@endpoints.put("/{namespace}/{name}/versions/{label}/endpoint", name="put_version_endpoint",
               response_model=EndpointRead, status_code=status.HTTP_200_OK,
               responses={201: {"model": EndpointRead, "description": "Registered"},
                          422: {"model": ErrorRead}})
async def put_version_endpoint(namespace: Namespace, name: Name, label: Label,
                               body: EndpointBody, session: Session, keyring: CurrentKeyring,
                               net: Net, principal: ReleasePrincipal,
                               response: Response) -> EndpointRead:
    """Register (201) or replace (200) the OpenAI-compatible inference endpoint serving this
    version. The API key is sealed and never shown again. Private or plain-http targets must
    be listed in `RR_PROBE_ALLOWED_TARGETS` (422 otherwise). A new endpoint on a later
    version re-runs the probe sets of the model's remediated and closed cases (regression)."""
    return await _put(session, keyring, net, principal, response, namespace, name, label, "",
                      body)


@endpoints.put("/{namespace}/{name}/versions/{label}/artifacts/{artifact}/endpoint",
               name="put_artifact_endpoint", response_model=EndpointRead,
               responses={201: {"model": EndpointRead, "description": "Registered"},
                          422: {"model": ErrorRead}})
async def put_artifact_endpoint(namespace: Namespace, name: Name, label: Label,
                                artifact: ArtifactPath, body: EndpointBody, session: Session,
                                keyring: CurrentKeyring, net: Net,
                                principal: ReleasePrincipal,
                                response: Response) -> EndpointRead:
    """As for the version, for one of its artifacts (a quantisation, a merged adapter...):
    each is probed on its own, since quantising can bring forgotten data back."""
    return await _put(session, keyring, net, principal, response, namespace, name, label,
                      artifact, body)


@endpoints.get("/{namespace}/{name}/versions/{label}/endpoints", name="list_endpoints",
               response_model=list[EndpointRead])
async def list_endpoints(namespace: Namespace, name: Name, label: Label, session: Session,
                         principal: CurrentPrincipal) -> list[EndpointRead]:
    model, version = await service.find_version(session, principal.org_id,
                                                f"{namespace}/{name}", label)
    return [service.endpoint_read(model, version, e)
            for e in await service.list_endpoints(session, version.id)]


@endpoints.delete("/{namespace}/{name}/versions/{label}/endpoint",
                  name="delete_version_endpoint", response_model=EndpointRead)
async def delete_version_endpoint(namespace: Namespace, name: Name, label: Label,
                                  session: Session, principal: ReleasePrincipal) -> EndpointRead:
    """Remove it (the answer is what was removed); its queued or running runs are cancelled.
    404 when none is registered."""
    model, version = await service.find_version(session, principal.org_id,
                                                f"{namespace}/{name}", label)
    e = await service.delete_endpoint(session, principal.actor, model, version, "")
    return service.endpoint_read(model, version, e)


@endpoints.delete("/{namespace}/{name}/versions/{label}/artifacts/{artifact}/endpoint",
                  name="delete_artifact_endpoint", response_model=EndpointRead)
async def delete_artifact_endpoint(namespace: Namespace, name: Name, label: Label,
                                   artifact: ArtifactPath, session: Session,
                                   principal: ReleasePrincipal) -> EndpointRead:
    model, version = await service.find_version(session, principal.org_id,
                                                f"{namespace}/{name}", label)
    e = await service.delete_endpoint(session, principal.actor, model, version, artifact)
    return service.endpoint_read(model, version, e)


# --- a case's probes -----------------------------------------------------------------------


@router.get("/cases/{reference}/probes", name="get_case_probes", response_model=CaseProbesRead)
async def get_case_probes(reference: Reference, session: Session, principal: StaffPrincipal,
                          keyring: CurrentKeyring) -> CaseProbesRead:
    """The probe set (prompts, targets: personal data) and every run with its completions and
    the spans that matched a target."""
    case = await get_case(session, principal.org_id, reference)
    return await reads.case_probes(session, keyring, case)


@router.patch("/cases/{reference}/probes", name="update_case_probes",
              response_model=ProbeSetRead, responses={422: {"model": ErrorRead}})
async def update_case_probes(reference: Reference, body: ProbeSetUpdate, session: Session,
                             principal: StaffPrincipal, keyring: CurrentKeyring) -> ProbeSetRead:
    """Replace the targets (extracted from the subject's data at first) and/or staff's own
    extra prompts. 409 once the subject's data is erased."""
    case = await get_case(session, principal.org_id, reference, lock=True)
    data = await sets.update_set(
        session, keyring, case, principal.actor,
        targets=[item.model_dump(mode="json") for item in body.targets] if body.targets is not None
        else None, extra_prompts=body.extra_prompts)
    return ProbeSetRead(prompts=[PromptRead(index=i, text=p["text"], source=p["source"])
                                 for i, p in enumerate(data["prompts"])],
                        targets=[TargetBody.model_validate(item) for item in data["targets"]])


@router.post("/cases/{reference}/probes/runs", name="run_case_probes", response_model=RunsQueued,
             status_code=status.HTTP_202_ACCEPTED)
async def run_case_probes(reference: Reference, session: Session,
                          principal: StaffPrincipal) -> RunsQueued:
    """Queue the case's set on every endpoint of the current versions of its models (triage;
    it also runs when the review starts). 409 once the subject's data is erased."""
    case = await get_case(session, principal.org_id, reference, lock=True)
    runs = await service.queue_triage(session, case, principal.actor)
    names = await service.version_names(session, {r.version_id for r in runs})
    return RunsQueued(runs=[reads.run_read(r, case.reference, names) for r in runs])


@router.post("/cases/{reference}/probes/override", name="override_case_probes",
             response_model=CaseProbesRead, responses={422: {"model": ErrorRead}})
async def override_case_probes(reference: Reference, body: OverrideBody, session: Session,
                               principal: AdminPrincipal,
                               keyring: CurrentKeyring) -> CaseProbesRead:
    """Accept a fix although a probe reproduced the data or could not tell (admin only). The
    reason is sealed with the case and the override audited; a case waiting on verification
    becomes `remediated`, a remediated one can close. 409 in any other status."""
    case = await get_case(session, principal.org_id, reference, lock=True)
    await verify.override(session, keyring, Actor.of(principal), case, body.reason,
                         settle)
    return await reads.case_probes(session, keyring, case)


# --- runs ------------------------------------------------------------------------------------


@router.get("/probes/runs/{run_id}", name="get_probe_run", response_model=RunRead)
async def get_probe_run(run_id: uuid.UUID, session: Session,
                        principal: CurrentPrincipal) -> RunRead:
    """Progress and counts (no content): what a pipeline may poll."""
    from app.cases.models import Case

    run = await service.get_run(session, principal.org_id, run_id)
    case = await session.get(Case, run.case_id)
    assert case is not None
    names = await service.version_names(session, {run.version_id})
    return reads.run_read(run, case.reference, names)


@router.post("/probes/runs/{run_id}/cancel", name="cancel_probe_run", response_model=RunRead)
async def cancel_probe_run(run_id: uuid.UUID, session: Session,
                           principal: StaffPrincipal) -> RunRead:
    """A queued run ends at once; a running one at its next progress write (within a second
    of its next answer). A run that already ended is returned as it is."""
    from app.cases.models import Case

    run = await service.get_run(session, principal.org_id, run_id, lock=True)
    await service.cancel_run(session, run, principal.actor)
    case = await session.get(Case, run.case_id)
    assert case is not None
    names = await service.version_names(session, {run.version_id})
    return reads.run_read(run, case.reference, names)


@router.get("/remediations/{remediation_id}/probes", name="remediation_probes",
            response_model=list[RunRead])
async def remediation_probes(remediation_id: uuid.UUID, session: Session,
                             principal: CurrentPrincipal) -> list[RunRead]:
    """The verification runs of the fixed version: progress and counts, no content."""
    r = await get_remediation(session, principal.org_id, remediation_id)
    return await reads.remediation_runs(session, r.id)


# --- templates -------------------------------------------------------------------------------


@router.get("/probes/templates", name="get_probe_templates", response_model=TemplatesRead)
async def get_probe_templates(language: Language, session: Session,
                              principal: StaffPrincipal) -> TemplatesRead:
    """The templates new probe sets in this language are made from (the defaults until the
    organisation sets its own)."""
    row = await session.get(ProbeTemplates, (principal.org_id, language))
    return TemplatesRead(language=language, customised=row is not None,
                         templates=await sets.templates_for(session, principal.org_id, language))


@router.put("/probes/templates", name="put_probe_templates",
            response_model=TemplatesRead, responses={422: {"model": ErrorRead}})
async def put_probe_templates(body: TemplatesBody, session: Session,
                              principal: AdminPrincipal) -> TemplatesRead:
    """The organisation's templates for new probe sets in one language: each contains
    `{name}` (the subject's name) and no other placeholder."""
    language = body.language
    row = await session.get(ProbeTemplates, (principal.org_id, language))
    if row is None:
        row = ProbeTemplates(org_id=principal.org_id, language=language)
        session.add(row)
    row.templates, row.updated_at = body.templates, utcnow()
    await session.flush()
    return TemplatesRead(language=language, customised=True, templates=body.templates)

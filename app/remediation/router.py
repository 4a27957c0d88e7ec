"""Remediation jobs: planned by staff, reported on by the training pipeline (`pipeline` key)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status

from app.auth.deps import CurrentPrincipal, ReleasePrincipal, StaffPrincipal
from app.cases.lifecycle import Actor
from app.db import Session
from app.errors import ErrorRead
from app.models_registry.router import Deadline
from app.models_registry.schemas import ModelId
from app.pagination import Page, PageParams, page_params
from app.probes.client import ProbeNet
from app.remediation import service
from app.remediation.models import RemediationStatus
from app.remediation.schemas import (
    CancelBody,
    RemediationCreate,
    RemediationRead,
    RemediationReport,
)
from app.requests.deps import CurrentKeyring


def _net(request: Request) -> ProbeNet:
    from app.probes.router import probe_net

    return probe_net(request)


Net = Annotated[ProbeNet, Depends(_net)]

router = APIRouter(prefix="/v1/remediations", tags=["remediations"],
                   responses={401: {"model": ErrorRead}, 403: {"model": ErrorRead},
                              404: {"model": ErrorRead}, 409: {"model": ErrorRead}})

Paging = Annotated[PageParams, Depends(page_params)]


@router.post("", name="plan_remediation", response_model=RemediationRead,
             status_code=status.HTTP_201_CREATED)
async def plan_remediation(body: RemediationCreate, session: Session,
                           principal: StaffPrincipal) -> RemediationRead:
    """Group accepted cases of one model into a remediation: they move to `in_remediation`,
    and re-users are told a fix is planned (`remediation.planned`, with counts only)."""
    r = await service.plan(session, Actor.of(principal), principal.org_id, body)
    return await service.remediation_read(session, r)


@router.get("", name="list_remediations", response_model=Page[RemediationRead])
async def list_remediations(
    session: Session, principal: CurrentPrincipal, page: Paging,
    status: RemediationStatus | None = None,
    model: Annotated[ModelId | None, Query(description="`namespace/name`")] = None,
) -> Page[RemediationRead]:
    """Newest first. A pipeline polls `status=planned` for work."""
    items, cursor = await service.list_remediations(session, principal.org_id, page,
                                                    status=status, model=model)
    return Page(items=[await service.remediation_read(session, r) for r in items],
                next_cursor=cursor)


@router.get("/{remediation_id}", name="get_remediation", response_model=RemediationRead)
async def get_remediation(remediation_id: uuid.UUID, session: Session,
                          principal: CurrentPrincipal) -> RemediationRead:
    r = await service.get_remediation(session, principal.org_id, remediation_id)
    return await service.remediation_read(session, r)


@router.post("/{remediation_id}/report", name="report_remediation",
             response_model=RemediationRead)
async def report_remediation(remediation_id: uuid.UUID, body: RemediationReport,
                             session: Session, principal: ReleasePrincipal,
                             keyring: CurrentKeyring, deadline: Deadline,
                             net: Net) -> RemediationRead:
    """The pipeline reports: `running` with a progress, then `succeeded` with the fixed version
    (registered, superseding the versions it replaces; its cases become `remediated`) or
    `failed` (its cases go back to `accepted`). With `version.endpoints`, the fixed version's
    inference endpoints are registered and each case's probe set runs on them first: a case
    becomes `remediated` only once none reproduces its data (`GET .../probes`)."""
    r = await service.get_remediation(session, principal.org_id, remediation_id, lock=True)
    await service.report(session, keyring, Actor.of(principal), r, body, deadline=deadline,
                         net=net)
    return await service.remediation_read(session, r)


@router.post("/{remediation_id}/cancel", name="cancel_remediation",
             response_model=RemediationRead)
async def cancel_remediation(remediation_id: uuid.UUID, body: CancelBody, session: Session,
                             principal: StaffPrincipal,
                             keyring: CurrentKeyring) -> RemediationRead:
    """Stop a planned or running remediation; its cases go back to `accepted`."""
    r = await service.get_remediation(session, principal.org_id, remediation_id, lock=True)
    await service.cancel(session, keyring, Actor.of(principal), r, body.note)
    return await service.remediation_read(session, r)

"""The dashboard's remediation pages: the list with progress bars, planning a remediation from
the accepted cases of a model, and one remediation with its cases."""

from __future__ import annotations

import re
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select

from app.cases.lifecycle import Actor
from app.cases.pages import field, fields, friendly, read_form
from app.cases.service import case_reads
from app.db import Session, utcnow
from app.errors import BadRequest, DomainError, NotFound
from app.i18n import N_
from app.models_registry import service as registry
from app.models_registry.models import ModelVersion, VersionStatus
from app.models_registry.schemas import MODEL_ID_PATTERN
from app.pagination import PageParams
from app.remediation import service
from app.remediation.lifecycle import ACTIVE
from app.remediation.models import RemediationMethod, RemediationStatus
from app.remediation.schemas import RemediationCreate
from app.requests.deps import CurrentKeyring
from app.web.deps import CurrentUser
from app.web.templating import render

router = APIRouter(include_in_schema=False)


def _id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(N_("There is no such remediation.")) from None


@router.get("/dashboard/remediations")
async def remediations_page(request: Request, session: Session,
                            principal: CurrentUser) -> Response:
    cursor = request.query_params.get("cursor")
    items, next_cursor = await service.list_remediations(
        session, principal.org_id, PageParams(limit=50, cursor=cursor[:500] if cursor else None))
    return render(request, "remediations/list.html", {
        "principal": principal, "next_cursor": next_cursor,
        "remediations": [await service.remediation_read(session, r) for r in items]})


async def _plan_page(request: Request, session: Session, principal: Any, model_ref: str | None,
                     error: str | None = None, status_code: int = 200) -> Response:
    models, _ = await registry.list_models(session, principal.org_id, PageParams(limit=200))
    cases, versions = [], []
    if model_ref:
        if not re.fullmatch(MODEL_ID_PATTERN, model_ref):
            raise BadRequest(N_("That model is not valid. Please choose from the list."))
        model = await registry.get_model(session, principal.org_id, model_ref)
        cases = await case_reads(session, await service.eligible_cases(
            session, principal.org_id, model), utcnow())
        versions = list(await session.scalars(select(ModelVersion).where(
            ModelVersion.model_id == model.id, ModelVersion.status == VersionStatus.current.value)
            .order_by(ModelVersion.released_at, ModelVersion.label)))
    # From a case's "plan a remediation" link, only that case is chosen to begin with.
    wanted = request.query_params.get("case", "").strip().upper()
    chosen = {wanted} if wanted in {c.reference for c in cases} else {c.reference for c in cases}
    return render(request, "remediations/new.html", {
        "principal": principal, "models": models, "model_ref": model_ref, "cases": cases,
        "chosen": chosen,
        "versions": versions, "methods": list(RemediationMethod), "error": error},
        status_code=status_code)


@router.get("/dashboard/remediations/new")
async def plan_page(request: Request, session: Session, principal: CurrentUser) -> Response:
    return await _plan_page(request, session, principal, request.query_params.get("model"))


@router.post("/dashboard/remediations")
async def plan_submit(request: Request, session: Session, principal: CurrentUser) -> Response:
    form = await read_form(request)
    model_ref = field(form, "model")
    values = {"model": model_ref, "method": field(form, "method"),
              "cases": fields(form, "cases"), "replaces": fields(form, "replaces"),
              "description": field(form, "description")}
    try:
        body = RemediationCreate.model_validate(values)
        r = await service.plan(session, Actor.of(principal), principal.org_id, body)
    except ValidationError as exc:
        return await _plan_page(request, session, principal, model_ref, friendly(exc), 422)
    except DomainError as exc:
        await session.rollback()
        return await _plan_page(request, session, principal, model_ref, exc.detail,
                                exc.status_code)
    return RedirectResponse(f"/dashboard/remediations/{r.id}", status_code=303)


async def _detail_page(request: Request, session: Session, principal: Any, remediation_id: str,
                       error: str | None = None, status_code: int = 200) -> Response:
    r = await service.get_remediation(session, principal.org_id, _id(remediation_id))
    read = await service.remediation_read(session, r)
    cases = await case_reads(session, await service.linked_cases(session, r.id), utcnow())
    base = request.app.state.settings.public_base_url.rstrip("/")
    from app.probes.reads import remediation_runs

    return render(request, "remediations/detail.html", {
        "principal": principal, "r": read, "cases": cases, "error": error,
        "probe_runs": await remediation_runs(session, r.id),
        "can_cancel": RemediationStatus(r.status) in ACTIVE,
        "report_url": f"{base}/v1/remediations/{r.id}/report",
        "commands": report_commands(f"{base}/v1/remediations/{r.id}/report")},
        status_code=status_code)


def report_commands(url: str) -> dict[str, str]:
    """The training pipeline's progress and outcome reports, ready to paste into its scripts.
    The key comes from the environment: a page never shows a secret."""
    head = (f"curl -sS -X POST '{url}' \\\n"
            "  -H \"Authorization: Bearer $RIGHTS_RELAY_PIPELINE_KEY\" \\\n"
            "  -H 'Content-Type: application/json' \\\n")
    return {
        "progress": head + """  -d '{"status": "running", "progress": 50, "message": "Epoch 2 of 4"}'""",
        "succeeded": head + """  -d '{"status": "succeeded", "version": {"label": "v2", """
                            """"revision": "<git revision>", "digests": [{"file": """
                            """"model.safetensors", "sha256": "<sha256 of the file>"}]}}'""",
    }


@router.get("/dashboard/remediations/{remediation_id}")
async def remediation_page(request: Request, remediation_id: str, session: Session,
                           principal: CurrentUser) -> Response:
    return await _detail_page(request, session, principal, remediation_id)


@router.post("/dashboard/remediations/{remediation_id}/cancel")
async def cancel_submit(request: Request, remediation_id: str, session: Session,
                        principal: CurrentUser, keyring: CurrentKeyring) -> Response:
    form = await read_form(request)
    r = await service.get_remediation(session, principal.org_id, _id(remediation_id), lock=True)
    note = field(form, "note")
    try:
        if note is not None and (len(note) > 2000 or "\x00" in note):
            raise BadRequest(N_("The note is too long or holds characters that cannot be stored."))
        await service.cancel(session, keyring, Actor.of(principal), r, note)
    except DomainError as exc:
        await session.rollback()
        return await _detail_page(request, session, principal, remediation_id, exc.detail,
                                  exc.status_code)
    return RedirectResponse(f"/dashboard/remediations/{r.id}", status_code=303)

"""The public page of a model (English and French): licence, update clause, gated access,
lineage, versions, and the ways to follow it; and each clause version's own page."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from sqlalchemy import select

from app.db import Session
from app.i18n import LANG_COOKIE, LANGUAGES, negotiate, translate
from app.licensing import service as licensing
from app.models_registry.models import ModelVersion
from app.models_registry.schemas import PathSegment
from app.models_registry.service import get_model_view
from app.web.templating import render

router = APIRouter(include_in_schema=False)
Segment = PathSegment


def _page(request: Request, template: str, context: dict[str, Any]) -> Response:
    lang = negotiate(request)
    response = render(request, template, {
        "lang": lang, "t": lambda key, **kw: translate(lang, key, **kw),
        "other_lang": "fr" if lang == "en" else "en", **context})
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", path="/")
    return response


@router.get("/models/{namespace}/{name}")
async def model_page(request: Request, namespace: Segment, name: Segment,
                     session: Session) -> Response:
    view = await get_model_view(session, None, f"{namespace}/{name}")
    versions = list(await session.scalars(
        select(ModelVersion).where(ModelVersion.model_id == view.model.id)
        .order_by(ModelVersion.released_at.desc(), ModelVersion.label).limit(100)))
    return _page(request, "models/model.html", {
        "view": view, "m": view.model, "versions": versions,
        "clause": await licensing.current(session, view.model.id)})


@router.get("/models/{namespace}/{name}/clause/{version}")
async def clause_page(request: Request, namespace: Segment, name: Segment,
                      version: Annotated[int, Path(ge=1, le=1_000_000)],
                      session: Session) -> Response:
    view = await get_model_view(session, None, f"{namespace}/{name}")
    clause = await licensing.version_of(session, view.model, version)
    current = await licensing.current(session, view.model.id)
    return _page(request, "models/clause.html", {
        "view": view, "m": view.model, "clause": clause,
        "is_current": current is not None and current.id == clause.id})

"""Liveness, readiness and metrics endpoints for orchestrators and Prometheus."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine

from app.migrate import current_revision

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    database: str
    migrations: str


@router.get("/healthz", name="healthz", response_model=Health)
async def healthz() -> Health:
    """The process is up."""
    return Health(status="ok")


@router.get("/readyz", name="readyz", response_model=Readiness,
            responses={503: {"model": Readiness}})
async def readyz(request: Request) -> Response:
    """The database answers and its schema is at the migrations' head."""
    engine: AsyncEngine = request.app.state.engine
    head: str | None = request.app.state.migration_head
    try:
        async with engine.connect() as conn:
            current = await conn.run_sync(current_revision)
    except Exception:
        body = Readiness(status="unavailable", database="unreachable", migrations="unknown")
        return JSONResponse(body.model_dump(), status_code=503)
    if current != head:
        body = Readiness(status="unavailable", database="ok",
                         migrations=f"at {current or 'none'}, head is {head}")
        return JSONResponse(body.model_dump(), status_code=503)
    return JSONResponse(Readiness(status="ok", database="ok", migrations="head").model_dump())


@router.get("/metrics", name="metrics", include_in_schema=False)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

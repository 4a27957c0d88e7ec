"""Published signed checkpoints of each organisation's audit chain (public, no personal data:
sequence numbers, hashes, times and signatures only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from app.audit import checkpoints
from app.cases.schemas import CheckpointRead
from app.db import Session
from app.errors import ErrorRead
from app.feeds.service import find_org

router = APIRouter(prefix="/v1/public/organizations", tags=["audit"],
                   responses={404: {"model": ErrorRead}})

Slug = Annotated[str, Path(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$", max_length=64)]


@router.get("/{slug}/audit-checkpoints", name="list_audit_checkpoints",
            response_model=list[CheckpointRead])
async def list_audit_checkpoints(
    slug: Slug, request: Request, session: Session,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[CheckpointRead]:
    """The organisation's audit chain heads, signed with the service's Ed25519 key (newest
    first). Keep copies: a chain rebuilt later cannot reach a head signed before."""
    org = await find_org(session, slug)
    return [CheckpointRead(**cp) for cp in await checkpoints.list_published(
        session, request.app.state.webhook_keys, org, limit)]

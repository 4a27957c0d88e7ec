"""Gated access: subscribers obtain grants; providers read and export the register and revoke
a follower's access; anyone (a hosting server) may check a grant online too."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import Response
from pydantic import AwareDatetime

from app.access import service
from app.access.schemas import AccessRead, GrantCheck, GrantRead, GrantRecord, GrantRequest, GrantValid
from app.auth.deps import AdminPrincipal, CurrentPrincipal
from app.db import Session
from app.delivery.signing import ServiceKeys
from app.errors import ErrorRead
from app.feeds.service import find_model
from app.models_registry.schemas import PathSegment
from app.models_registry.service import get_model
from app.subscribers.deps import CurrentSubscriber

Namespace = PathSegment
Name = PathSegment
ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorRead}, 404: {"model": ErrorRead}, 409: {"model": ErrorRead}}

me = APIRouter(prefix="/v1/subscriber/grants", tags=["subscriber"],
               responses={401: {"model": ErrorRead}, **ERRORS})
provider = APIRouter(prefix="/v1/models", tags=["access"], responses=ERRORS)
public = APIRouter(prefix="/v1/public/grants", tags=["access"],
                   responses={400: {"model": ErrorRead}})
CSV_DOC: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {}}}}


def _keys(request: Request) -> ServiceKeys:
    keys: ServiceKeys = request.app.state.webhook_keys
    return keys


@me.post("", name="obtain_grant", response_model=GrantRead,
         status_code=status.HTTP_201_CREATED)
async def obtain_grant(body: GrantRequest, subscriber: CurrentSubscriber, request: Request,
                       session: Session) -> GrantRead:
    """A short-lived grant to download a revision of a gated model you follow (its update
    clause accepted). The hosting server checks it offline; the provider's register records
    that you obtained this revision, and when."""
    settings = request.app.state.settings
    model = await find_model(session, body.model)
    return await service.issue(session, _keys(request), subscriber, model, body.version,
                               ttl=timedelta(seconds=settings.access_grant_ttl_seconds),
                               issuer=settings.public_base_url)


@public.post("/check", name="check_grant", response_model=GrantValid)
async def check_grant(body: GrantCheck, request: Request, session: Session) -> GrantValid:
    """Check a grant online (webhooks/grant.py does the same offline): signature, expiry,
    model and revision, and that the register holds it. A grant that fails is a 400
    `invalid_grant` saying why."""
    return await service.check(session, _keys(request), body)


@provider.get("/{namespace}/{name}/grants", name="list_grants", response_model=list[GrantRecord],
              responses=CSV_DOC)
async def list_grants(
    namespace: Namespace, name: Name, session: Session, principal: CurrentPrincipal,
    since: AwareDatetime | None = None,
    format: Annotated[Literal["json", "csv"], Query(description="csv: a spreadsheet export")]
    = "json",
) -> Any:
    """The register of a gated model: every grant, who obtained which revision and when,
    oldest first. It is the complete list of the model's recipients (GDPR Art. 19)."""
    model = await get_model(session, principal.org_id, f"{namespace}/{name}")
    records = await service.register(session, model, since)
    if format == "csv":
        return Response(service.register_csv(records), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition":
                                 f'attachment; filename="{namespace}-{name}-grants.csv"'})
    return records


@provider.post("/{namespace}/{name}/subscribers/{subscriber_id}/revocation",
               name="revoke_access", response_model=AccessRead)
async def revoke_access(namespace: Namespace, name: Name, subscriber_id: uuid.UUID,
                        session: Session, principal: AdminPrincipal) -> AccessRead:
    """Revoke a follower's access to this gated model: it obtains no new grant (grants
    already issued run out by themselves). It still hears about fixes."""
    model = await get_model(session, principal.org_id, f"{namespace}/{name}")
    sub = await service.set_revoked(session, model, subscriber_id, True, principal.actor)
    return AccessRead(subscriber_id=subscriber_id, model=model.ref, revoked_at=sub.revoked_at)


@provider.delete("/{namespace}/{name}/subscribers/{subscriber_id}/revocation",
                 name="restore_access", response_model=AccessRead)
async def restore_access(namespace: Namespace, name: Name, subscriber_id: uuid.UUID,
                         session: Session, principal: AdminPrincipal) -> AccessRead:
    """Lift a revocation: the follower may obtain grants again."""
    model = await get_model(session, principal.org_id, f"{namespace}/{name}")
    sub = await service.set_revoked(session, model, subscriber_id, False, principal.actor)
    return AccessRead(subscriber_id=subscriber_id, model=model.ref, revoked_at=sub.revoked_at)

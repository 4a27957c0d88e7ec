"""Providers' view of their events' deliveries, with replays; the published signing keys."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from app.auth.deps import AdminPrincipal, CurrentPrincipal
from app.db import Session
from app.delivery import service
from app.delivery.models import DeliveryStatus
from app.delivery.schemas import DeliveryDetail, DeliveryRead, ReplayBody, Replayed
from app.delivery.signing import ServiceKeys
from app.errors import ErrorRead
from app.models_registry.schemas import MODEL_ID_PATTERN
from app.pagination import Page, PageParams, page_params

router = APIRouter(prefix="/v1/deliveries", tags=["deliveries"],
                   responses={401: {"model": ErrorRead}, 403: {"model": ErrorRead},
                              404: {"model": ErrorRead}, 409: {"model": ErrorRead}})
well_known = APIRouter(tags=["webhooks"])
DeliveryId = Annotated[int, Path(ge=1, le=2**62)]
Paging = Annotated[PageParams, Depends(page_params)]


@router.get("", name="list_deliveries", response_model=Page[DeliveryRead])
async def list_deliveries(
    session: Session, principal: CurrentPrincipal, page: Paging,
    status_: Annotated[DeliveryStatus | None, Query(alias="status")] = None,
    event_id: uuid.UUID | None = None,
    model: Annotated[str | None, Query(pattern=MODEL_ID_PATTERN, max_length=193)] = None,
) -> Page[DeliveryRead]:
    """Webhook deliveries of your organisation's events, newest first."""
    items, cursor = await service.list_deliveries(session, page, org_id=principal.org_id,
                                                  status=status_, event_id=event_id, model=model)
    return Page(items=items, next_cursor=cursor)


@router.get("/{delivery_id}", name="get_delivery", response_model=DeliveryDetail)
async def get_delivery(delivery_id: DeliveryId, session: Session,
                       principal: CurrentPrincipal) -> DeliveryDetail:
    """One delivery and its attempt log (status, duration, response excerpt, error class)."""
    d = await service.get_delivery(session, delivery_id, org_id=principal.org_id)
    return await service.detail(session, d)


@router.post("/{delivery_id}/replay", name="replay_delivery", response_model=DeliveryRead)
async def replay_delivery(delivery_id: DeliveryId, session: Session,
                          principal: AdminPrincipal) -> DeliveryRead:
    """Send a finished delivery again (a new delivery with the same `webhook-id`)."""
    d = await service.get_delivery(session, delivery_id, org_id=principal.org_id)
    return service.delivery_read(await service.replay_one(session, d))


@router.post("/replay", name="replay_failed_deliveries", response_model=Replayed)
async def replay_failed_deliveries(body: ReplayBody, session: Session,
                                   principal: AdminPrincipal) -> Replayed:
    """Queue again every failed delivery of your events created since a time."""
    n = await service.replay_failed(session, body.since, org_id=principal.org_id,
                                    model=body.model)
    return Replayed(replayed=n)


@well_known.get("/.well-known/rights-relay/webhook-keys.json", name="webhook_keys")
async def webhook_keys(request: Request) -> dict[str, Any]:
    """The Ed25519 public keys that verify `v1a,` webhook signatures (try each listed key)."""
    keys: ServiceKeys = request.app.state.webhook_keys
    return {"keys": keys.published(), "algorithm": "Ed25519",
            "signature_version": "v1a", "signed_content": "{webhook-id}.{webhook-timestamp}.{body}"}

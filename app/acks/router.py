"""Acknowledgements: the provider's per-event view, and the signed-link API for re-users."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path

from app.acks import service
from app.acks.links import parse_ack_token
from app.acks.models import AckOutcome
from app.acks.schemas import AckLinkBody, AckRead, AckStatus
from app.auth.deps import CurrentPrincipal
from app.db import Session
from app.errors import ErrorRead, NotFound
from app.requests.deps import CurrentSettings, TokenLimited
from app.subscribers.models import Subscriber

router = APIRouter(prefix="/v1/events", tags=["acknowledgements"],
                   responses={401: {"model": ErrorRead}, 403: {"model": ErrorRead},
                              404: {"model": ErrorRead}})
public = APIRouter(prefix="/v1/public/acknowledgements", tags=["acknowledgements"],
                   responses={404: {"model": ErrorRead}, 409: {"model": ErrorRead}})


@router.get("/{event_id}/acknowledgements", name="get_event_acknowledgements",
            response_model=AckStatus)
async def get_event_acknowledgements(event_id: uuid.UUID, session: Session,
                                     principal: CurrentPrincipal) -> AckStatus:
    """Who was asked to act on one of your events, who confirmed, and who has not yet."""
    event = await service.provider_event(session, principal.org_id, event_id)
    return await service.status(session, event)


@public.post("/{token}", name="acknowledge_by_link", response_model=AckRead,
             status_code=201, dependencies=[TokenLimited])
async def acknowledge_by_link(token: Annotated[str, Path(max_length=100)], body: AckLinkBody,
                              session: Session, settings: CurrentSettings) -> AckRead:
    """Acknowledge with the signed link from the `rights-relay-ack-url` header or an email."""
    parsed = parse_ack_token(settings, token)
    subscriber = await session.get(Subscriber, parsed[1]) if parsed else None
    if parsed is None or subscriber is None or subscriber.verified_at is None:
        raise NotFound("this acknowledgement link is not valid")
    ack = await service.acknowledge(session, parsed[0], subscriber, AckOutcome(body.outcome),
                                    via="link")
    return service.ack_read(ack)

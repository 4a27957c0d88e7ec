"""Subscribers' API: public sign-up and confirmation, then self-service with the subscriber
token (models, endpoints, secrets, test events, deliveries, replays, acknowledgements); and the
providers' view of their models' subscribers."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status

from app.acks import service as acks
from app.acks.models import AckOutcome
from app.acks.schemas import AckCreate, AckRead, PendingEvent
from app.auth.deps import CurrentPrincipal
from app.db import Session
from app.delivery import service as deliveries
from app.delivery.fanout import queue_test
from app.delivery.models import DeliveryStatus
from app.delivery.schemas import (
    DeliveryDetail,
    DeliveryRead,
    Replayed,
    SubscriberReplayBody,
)
from app.errors import ErrorRead
from app.models_registry.schemas import PathSegment
from app.models_registry.service import get_model
from app.pagination import Page, PageParams, page_params
from app.ratelimit import service as ratelimit
from app.requests.deps import CurrentKeyring, CurrentSettings, TokenLimited, client_address
from app.subscribers import service
from app.subscribers.deps import CurrentResolver, CurrentSubscriber
from app.subscribers.schemas import (
    ConfirmBody,
    EndpointCreate,
    EndpointRead,
    EndpointSecrets,
    ModelBody,
    ModelSubscriberRead,
    SubscriberCreate,
    SubscriberCreated,
    SubscriberRead,
    SubscriberUpdate,
    SubscriptionRequested,
)

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorRead}, 404: {"model": ErrorRead}, 409: {"model": ErrorRead}}
public = APIRouter(prefix="/v1/public/subscribers", tags=["subscribers"],
                   responses={429: {"model": ErrorRead}})
me = APIRouter(prefix="/v1/subscriber", tags=["subscriber"], responses=ERRORS)
provider = APIRouter(prefix="/v1/models", tags=["subscribers"], responses=ERRORS)

Namespace = PathSegment
Name = PathSegment
Paging = Annotated[PageParams, Depends(page_params)]


async def limit_sign_ups(request: Request) -> None:
    settings = request.app.state.settings
    await ratelimit.hit(request.app.state.sessionmaker, request.app.state.keyring,
                        scope="subscribe-ip", value=client_address(request),
                        limit=settings.rate_limit_ip_per_hour, window=timedelta(hours=1))


async def limit_sign_ups_per_email(request: Request, email: str) -> None:
    """Nobody can flood one address with confirmation emails, from however many networks."""
    settings = request.app.state.settings
    await ratelimit.hit(request.app.state.sessionmaker, request.app.state.keyring,
                        scope="subscribe-email", value=email,
                        limit=settings.rate_limit_email_per_day, window=timedelta(days=1))


@public.post("", name="subscribe", response_model=SubscriptionRequested,
             status_code=status.HTTP_202_ACCEPTED, dependencies=[Depends(limit_sign_ups)],
             responses={422: {"model": ErrorRead},
                        429: {"model": ErrorRead, "description": "Rate limited"}})
async def subscribe(body: SubscriberCreate, request: Request, session: Session,
                    keyring: CurrentKeyring, settings: CurrentSettings,
                    resolver: CurrentResolver) -> SubscriptionRequested:
    """Follow one or more models. Nothing is sent until the emailed link is confirmed."""
    await limit_sign_ups_per_email(request, str(body.email))
    signup = await service.create(session, keyring, settings, resolver, body)
    return SubscriptionRequested(
        message="We sent a confirmation link to the contact address.",
        confirmation_expires_at=signup.expires_at)


@public.post("/confirm", name="confirm_subscription", response_model=SubscriberCreated,
             dependencies=[TokenLimited],
             responses={404: {"model": ErrorRead}, 410: {"model": ErrorRead}})
async def confirm_subscription(body: ConfirmBody, session: Session, keyring: CurrentKeyring,
                               settings: CurrentSettings) -> SubscriberCreated:
    """Confirm the contact address (single use). Returns the subscriber token, once, and the
    endpoints' signing secrets."""
    subscriber, token = await service.confirm(session, keyring, settings, body.token)
    endpoints = await service.endpoints_of(session, subscriber.id)
    return SubscriberCreated(
        subscriber=await service.read(session, keyring, subscriber), token=token,
        manage_url=service.manage_url(settings, token),
        secrets=[service.endpoint_secrets(keyring, e) for e in endpoints])


# --- the subscriber itself -------------------------------------------------------------------


@me.delete("", name="delete_subscriber", status_code=status.HTTP_204_NO_CONTENT)
async def delete_subscriber(subscriber: CurrentSubscriber, session: Session) -> Response:
    """Stop following every model and erase your details: endpoints are removed, pending
    deliveries cancelled, the contact email and this token stop working. Acknowledgements
    already given stay on the provider's record."""
    await service.leave(session, subscriber)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@me.get("", name="get_subscriber", response_model=SubscriberRead)
async def get_subscriber(subscriber: CurrentSubscriber, session: Session,
                         keyring: CurrentKeyring) -> SubscriberRead:
    return await service.read(session, keyring, subscriber)


@me.patch("", name="update_subscriber", response_model=SubscriberRead,
           responses={422: {"model": ErrorRead}})
async def update_subscriber(body: SubscriberUpdate, subscriber: CurrentSubscriber,
                            session: Session, keyring: CurrentKeyring) -> SubscriberRead:
    """Set the language of your emails and of your management page."""
    subscriber.language = body.language
    await session.flush()
    return await service.read(session, keyring, subscriber)


@me.post("/models", name="follow_model", response_model=SubscriberRead,
         status_code=status.HTTP_201_CREATED, responses={422: {"model": ErrorRead}})
async def follow_model(body: ModelBody, subscriber: CurrentSubscriber, session: Session,
                       keyring: CurrentKeyring) -> SubscriberRead:
    await service.add_model(session, subscriber, body.model, body.accept_clause)
    return await service.read(session, keyring, subscriber)


@me.delete("/models/{namespace}/{name}", name="unfollow_model",
           status_code=status.HTTP_204_NO_CONTENT)
async def unfollow_model(namespace: Namespace, name: Name, subscriber: CurrentSubscriber,
                         session: Session) -> Response:
    await service.remove_model(session, subscriber, f"{namespace}/{name}")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@me.post("/endpoints", name="add_endpoint", response_model=EndpointSecrets,
         status_code=status.HTTP_201_CREATED, responses={422: {"model": ErrorRead}})
async def add_endpoint(body: EndpointCreate, subscriber: CurrentSubscriber, session: Session,
                       keyring: CurrentKeyring, settings: CurrentSettings,
                       resolver: CurrentResolver) -> EndpointSecrets:
    """Register a webhook URL (https, public address). Returns its signing secret."""
    endpoint = await service.add_endpoint(session, keyring, settings, resolver, subscriber, body)
    return service.endpoint_secrets(keyring, endpoint)


@me.get("/endpoints/{endpoint_id}", name="get_endpoint", response_model=EndpointRead)
async def get_endpoint(endpoint_id: uuid.UUID, subscriber: CurrentSubscriber,
                       session: Session) -> EndpointRead:
    return await service.endpoint_read(
        session, await service.get_endpoint(session, subscriber, endpoint_id))


@me.delete("/endpoints/{endpoint_id}", name="remove_endpoint",
           status_code=status.HTTP_204_NO_CONTENT)
async def remove_endpoint(endpoint_id: uuid.UUID, subscriber: CurrentSubscriber,
                          session: Session) -> Response:
    await service.remove_endpoint(session, subscriber, endpoint_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@me.post("/endpoints/{endpoint_id}/enable", name="enable_endpoint", response_model=EndpointRead,
         responses={422: {"model": ErrorRead}})
async def enable_endpoint(endpoint_id: uuid.UUID, subscriber: CurrentSubscriber,
                          session: Session, settings: CurrentSettings,
                          resolver: CurrentResolver) -> EndpointRead:
    """Turn a disabled endpoint back on (its URL is checked again)."""
    return await service.endpoint_read(
        session, await service.enable_endpoint(session, settings, resolver, subscriber,
                                               endpoint_id))


@me.get("/endpoints/{endpoint_id}/secret", name="get_endpoint_secret",
        response_model=EndpointSecrets)
async def get_endpoint_secret(endpoint_id: uuid.UUID, subscriber: CurrentSubscriber,
                              session: Session, keyring: CurrentKeyring) -> EndpointSecrets:
    return service.endpoint_secrets(
        keyring, await service.get_endpoint(session, subscriber, endpoint_id))


@me.post("/endpoints/{endpoint_id}/rotate-secret", name="rotate_endpoint_secret",
         response_model=EndpointSecrets)
async def rotate_endpoint_secret(endpoint_id: uuid.UUID, subscriber: CurrentSubscriber,
                                 session: Session, keyring: CurrentKeyring,
                                 settings: CurrentSettings) -> EndpointSecrets:
    """A new secret signs from now on; the previous one keeps signing beside it for the grace
    period (`RR_WEBHOOK_SECRET_GRACE_HOURS`), so receivers can switch without losing events."""
    endpoint = await service.rotate_secret(session, keyring, settings, subscriber, endpoint_id)
    return service.endpoint_secrets(keyring, endpoint)


@me.post("/endpoints/{endpoint_id}/test", name="test_endpoint", response_model=DeliveryRead,
         status_code=status.HTTP_202_ACCEPTED)
async def test_endpoint(endpoint_id: uuid.UUID, subscriber: CurrentSubscriber,
                        session: Session) -> DeliveryRead:
    """Queue an `endpoint.test` event to this endpoint; follow it in the deliveries."""
    endpoint = await service.get_endpoint(session, subscriber, endpoint_id)
    return deliveries.delivery_read(await queue_test(session, endpoint))


@me.get("/deliveries", name="list_my_deliveries", response_model=Page[DeliveryRead])
async def list_my_deliveries(
    subscriber: CurrentSubscriber, session: Session, page: Paging,
    status_: Annotated[DeliveryStatus | None, Query(alias="status")] = None,
    endpoint_id: uuid.UUID | None = None,
) -> Page[DeliveryRead]:
    items, cursor = await deliveries.list_deliveries(
        session, page, subscriber_id=subscriber.id, status=status_, endpoint_id=endpoint_id)
    return Page(items=items, next_cursor=cursor)


@me.get("/deliveries/{delivery_id}", name="get_my_delivery", response_model=DeliveryDetail)
async def get_my_delivery(delivery_id: Annotated[int, Path(ge=1, le=2**62)],
                          subscriber: CurrentSubscriber, session: Session) -> DeliveryDetail:
    """One delivery with its attempt log."""
    d = await deliveries.get_delivery(session, delivery_id, subscriber_id=subscriber.id)
    return await deliveries.detail(session, d)


@me.post("/deliveries/{delivery_id}/replay", name="replay_my_delivery",
         response_model=DeliveryRead, status_code=status.HTTP_202_ACCEPTED)
async def replay_my_delivery(delivery_id: Annotated[int, Path(ge=1, le=2**62)],
                             subscriber: CurrentSubscriber, session: Session) -> DeliveryRead:
    d = await deliveries.get_delivery(session, delivery_id, subscriber_id=subscriber.id)
    return deliveries.delivery_read(await deliveries.replay_one(session, d))


@me.post("/deliveries/replay", name="replay_my_failed_deliveries", response_model=Replayed,
         status_code=status.HTTP_202_ACCEPTED)
async def replay_my_failed_deliveries(body: SubscriberReplayBody, subscriber: CurrentSubscriber,
                                      session: Session) -> Replayed:
    """Queue again every failed delivery created since a time (optionally, of one endpoint)."""
    if body.endpoint_id is not None:
        await service.get_endpoint(session, subscriber, body.endpoint_id)
    n = await deliveries.replay_failed(session, body.since, subscriber_id=subscriber.id,
                                       endpoint_id=body.endpoint_id)
    return Replayed(replayed=n)


@me.get("/acknowledgements/pending", name="list_pending_acknowledgements",
        response_model=list[PendingEvent])
async def list_pending_acknowledgements(subscriber: CurrentSubscriber, session: Session,
                                        settings: CurrentSettings) -> list[PendingEvent]:
    """Events asking you to act that you have not acknowledged yet."""
    return await acks.pending_for(session, settings, subscriber)


@me.post("/acknowledgements", name="acknowledge_event", response_model=AckRead,
         status_code=status.HTTP_201_CREATED)
async def acknowledge_event(body: AckCreate, subscriber: CurrentSubscriber,
                            session: Session) -> AckRead:
    """Confirm your copies are replaced or deleted (idempotent: the first answer stands)."""
    ack = await acks.acknowledge(session, body.event_id, subscriber, AckOutcome(body.outcome),
                                 via="api")
    return acks.ack_read(ack)


# --- providers -------------------------------------------------------------------------------


@provider.get("/{namespace}/{name}/subscribers", name="list_model_subscribers",
              response_model=list[ModelSubscriberRead])
async def list_model_subscribers(namespace: Namespace, name: Name, session: Session,
                                 principal: CurrentPrincipal,
                                 keyring: CurrentKeyring) -> list[ModelSubscriberRead]:
    """The confirmed re-users following one of your models."""
    model = await get_model(session, principal.org_id, f"{namespace}/{name}")
    return await service.subscribers_of_model(session, keyring, model)

"""Reading deliveries and replaying them (for providers and for subscribers)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from app.delivery.models import Delivery, DeliveryAttempt, DeliveryStatus
from app.delivery.schemas import AttemptRead, DeliveryDetail, DeliveryRead
from app.errors import Conflict, NotFound
from app.events.models import Event
from app.models_registry.models import Model
from app.models_registry.service import split_ref
from app.pagination import PageParams, decode_cursor, encode_cursor
from app.subscribers.models import Endpoint

MAX_REPLAY = 10_000


def delivery_read(d: Delivery) -> DeliveryRead:
    return DeliveryRead(
        id=d.id, event_id=d.event_id, event_type=d.event_type, endpoint_id=d.endpoint_id,
        subscriber_id=d.subscriber_id, status=DeliveryStatus(d.status), attempts=d.attempts,
        next_attempt_at=d.next_attempt_at if d.status == DeliveryStatus.pending else None,
        last_attempt_at=d.last_attempt_at, last_status_code=d.last_status_code,
        last_error=d.last_error, succeeded_at=d.succeeded_at, replay_of=d.replay_of,
        created_at=d.created_at)


async def detail(session: AsyncSession, d: Delivery) -> DeliveryDetail:
    rows = await session.scalars(select(DeliveryAttempt).where(
        DeliveryAttempt.delivery_id == d.id).order_by(DeliveryAttempt.number))
    return DeliveryDetail(**delivery_read(d).model_dump(), attempts_log=[
        AttemptRead(number=a.number, started_at=a.started_at, duration_ms=a.duration_ms,
                    status_code=a.status_code, error_class=a.error_class,
                    response_body=a.response_body, next_attempt_at=a.next_attempt_at)
        for a in rows])


def _scope(*, org_id: uuid.UUID | None = None,
           subscriber_id: uuid.UUID | None = None) -> Select[Delivery]:
    query = select(Delivery)
    if org_id is not None:
        query = query.where(Delivery.org_id == org_id)
    if subscriber_id is not None:
        # Through the endpoint index (a delivery's subscriber is its endpoint's, and removed
        # endpoints keep their rows); the subscriber's own column keeps the scope exact.
        endpoints = select(Endpoint.id).where(Endpoint.subscriber_id == subscriber_id)
        query = query.where(Delivery.endpoint_id.in_(endpoints),
                            Delivery.subscriber_id == subscriber_id)
    return query


async def _model_id(session: AsyncSession, ref: str, org_id: uuid.UUID | None) -> uuid.UUID:
    namespace, name = split_ref(ref)
    query = select(Model.id).where(Model.namespace == namespace, Model.name == name)
    if org_id is not None:
        query = query.where(Model.org_id == org_id)
    model_id = await session.scalar(query) if "\x00" not in ref else None
    if model_id is None:
        raise NotFound("model not found")
    return model_id


async def list_deliveries(
    session: AsyncSession, page: PageParams, *, org_id: uuid.UUID | None = None,
    subscriber_id: uuid.UUID | None = None, status: DeliveryStatus | None = None,
    event_id: uuid.UUID | None = None, endpoint_id: uuid.UUID | None = None,
    model: str | None = None,
) -> tuple[list[DeliveryRead], str | None]:
    """Newest first, keyset-paginated on the delivery id."""
    query = _scope(org_id=org_id, subscriber_id=subscriber_id)
    if status is not None:
        query = query.where(Delivery.status == status)
    if event_id is not None:
        query = query.where(Delivery.event_id == event_id)
    if endpoint_id is not None:
        query = query.where(Delivery.endpoint_id == endpoint_id)
    if model is not None:
        model_id = await _model_id(session, model, org_id)
        query = query.where(Delivery.event_id.in_(select(Event.id).where(
            Event.model_id == model_id)))
    if page.cursor:
        [last] = decode_cursor(page.cursor, int)
        query = query.where(Delivery.id < last)
    rows = list(await session.scalars(query.order_by(Delivery.id.desc()).limit(page.limit + 1)))
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    return [delivery_read(d) for d in rows], encode_cursor([rows[-1].id]) if more else None


async def get_delivery(session: AsyncSession, delivery_id: int, *,
                       org_id: uuid.UUID | None = None,
                       subscriber_id: uuid.UUID | None = None) -> Delivery:
    delivery = await session.scalar(
        _scope(org_id=org_id, subscriber_id=subscriber_id).where(Delivery.id == delivery_id))
    if delivery is None:
        raise NotFound("delivery not found")
    return delivery


def _again(d: Delivery, now: datetime) -> dict[str, Any]:
    return {"event_id": d.event_id, "endpoint_id": d.endpoint_id,
            "subscriber_id": d.subscriber_id, "org_id": d.org_id, "event_type": d.event_type,
            "status": DeliveryStatus.pending.value, "attempts": 0, "next_attempt_at": now,
            "created_at": now, "replay_of": d.id, "test_payload": d.test_payload}


async def replay_one(session: AsyncSession, delivery: Delivery) -> Delivery:
    """Send a finished delivery again, as a new delivery (same `webhook-id`)."""
    if delivery.status == DeliveryStatus.pending:
        raise Conflict("this delivery is still being attempted")
    if delivery.status == DeliveryStatus.replayed:
        raise Conflict("this delivery was already replayed; replay the newest one")
    endpoint = await session.get(Endpoint, delivery.endpoint_id)
    if endpoint is None or not endpoint.enabled or endpoint.removed_at is not None:
        raise Conflict("the endpoint is disabled or removed; enable it first")
    now = utcnow()
    again = Delivery(**_again(delivery, now))
    if delivery.status == DeliveryStatus.failed:
        delivery.status = DeliveryStatus.replayed
    session.add(again)
    await session.flush()
    return again


async def replay_failed(
    session: AsyncSession, since: datetime, *, org_id: uuid.UUID | None = None,
    subscriber_id: uuid.UUID | None = None, endpoint_id: uuid.UUID | None = None,
    model: str | None = None,
) -> int:
    """Queue again every failed delivery created since `since` to an enabled endpoint."""
    query = (_scope(org_id=org_id, subscriber_id=subscriber_id)
             .join(Endpoint, Endpoint.id == Delivery.endpoint_id)
             .where(Delivery.status == DeliveryStatus.failed, Delivery.created_at >= since,
                    Endpoint.enabled.is_(True), Endpoint.removed_at.is_(None)))
    if endpoint_id is not None:
        query = query.where(Delivery.endpoint_id == endpoint_id)
    if model is not None:
        model_id = await _model_id(session, model, org_id)
        query = query.where(Delivery.event_id.in_(select(Event.id).where(
            Event.model_id == model_id)))
    failed = list(await session.scalars(query.order_by(Delivery.id).limit(MAX_REPLAY)))
    if not failed:
        return 0
    now = utcnow()
    for chunk in range(0, len(failed), 500):
        part = failed[chunk:chunk + 500]
        session.add_all([Delivery(**_again(d, now)) for d in part])
        await session.execute(update(Delivery).where(Delivery.id.in_([d.id for d in part]))
                              .values(status=DeliveryStatus.replayed)
                              .execution_options(synchronize_session=False))
    await session.flush()
    return len(failed)

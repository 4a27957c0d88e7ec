"""The transactional outbox's fan-out: when an event is recorded, one delivery row per enabled
endpoint of every verified subscriber of the model is written in the same transaction, in one
INSERT ... SELECT (no row-by-row work, whatever the number of endpoints)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Integer, String, Uuid, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.acks import fixes
from app.db import UTCDateTime, utcnow
from app.delivery.models import Delivery, DeliveryStatus
from app.delivery.store_pg import NOTIFY
from app.events.models import Event, EventType, RequiredAction
from app.events.schemas import EndpointTest
from app.notices.models import Notice, NoticeKind
from app.subscribers.models import Endpoint, Subscriber, Subscription


async def fan_out(session: AsyncSession, event: Event) -> None:
    if event.model_id is None:
        return
    now = utcnow()
    followers = (Subscription.model_id == event.model_id) & Subscriber.verified_at.is_not(None)
    rows = (
        select(literal(event.id, Uuid()), Endpoint.id, Endpoint.subscriber_id,
               literal(event.org_id, Uuid()), literal(event.type, String()),
               literal(DeliveryStatus.pending.value, String()), literal(0, Integer()),
               literal(now, UTCDateTime()), literal(now, UTCDateTime()))
        .select_from(Endpoint)
        .join(Subscriber, Subscriber.id == Endpoint.subscriber_id)
        .join(Subscription, Subscription.subscriber_id == Endpoint.subscriber_id)
        .where(followers, Endpoint.enabled.is_(True), Endpoint.removed_at.is_(None))
    )
    await session.execute(insert(Delivery).from_select(
        ["event_id", "endpoint_id", "subscriber_id", "org_id", "event_type", "status",
         "attempts", "next_attempt_at", "created_at"], rows))
    await notify_workers(session)
    if event.action == RequiredAction.no_action:
        return
    # Subscribers with no working webhook hear about an action to take by email.
    with_hooks = select(Endpoint.subscriber_id).where(Endpoint.enabled.is_(True),
                                                      Endpoint.removed_at.is_(None))
    silent = list(await session.scalars(
        select(Subscriber.id).join(Subscription, Subscription.subscriber_id == Subscriber.id)
        .where(followers, Subscriber.id.not_in(with_hooks))))
    if silent:
        notices: list[dict[str, Any]] = [
            {"id": uuid.uuid4(), "kind": NoticeKind.event_action.value, "event_id": event.id,
             "subscriber_id": s, "created_at": now} for s in silent]
        await session.execute(insert(Notice), notices)
        await fixes.drop_earlier_emails(session, event)


async def queue_test(session: AsyncSession, endpoint: Endpoint) -> Delivery:
    """An `endpoint.test` event for one endpoint, on demand: not an event of any model, so it
    lives on its delivery row only."""
    payload = EndpointTest(event_id=uuid.uuid4(), endpoint_id=endpoint.id)
    delivery = Delivery(event_id=None, endpoint_id=endpoint.id,
                        subscriber_id=endpoint.subscriber_id, org_id=None,
                        event_type=EventType.endpoint_test.value, status=DeliveryStatus.pending,
                        attempts=0, next_attempt_at=utcnow(),
                        test_payload=payload.model_dump(mode="json"))
    session.add(delivery)
    await session.flush()
    await notify_workers(session)
    return delivery


async def notify_workers(session: AsyncSession) -> None:
    """Wake the delivery workers when this transaction commits (PostgreSQL NOTIFY; on SQLite
    they notice the commit by themselves)."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        await session.execute(NOTIFY)

"""Recording events: the transactional outbox. Callers record an event in the same session
(and so the same transaction) as the change that caused it; nothing is sent from here: the
event's delivery rows are written in that same transaction, and so is whatever else the
caller asks for (`then`: the lineage cascade, for a fix that derived models must follow)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from app.delivery.fanout import fan_out
from app.events.models import Event, EventType, RequiredAction
from app.events.schemas import PAYLOADS, EventPayload

# A step run on a recorded event, in its transaction. The caller passes it in, so this module
# never reaches up to the features that record events.
Step = Callable[[AsyncSession, Event], Awaitable[None]]


def new_event_id() -> uuid.UUID:
    return uuid.uuid4()


async def record(
    session: AsyncSession, *, event_id: uuid.UUID, type: EventType, org_id: uuid.UUID,
    model_id: uuid.UUID | None, payload: EventPayload, caused_by: Event | None = None,
    then: Sequence[Step] = (),
) -> Event:
    """Store one event and its deliveries, then run the caller's `then` steps on it.
    `payload` must be the model of `type` (see schemas.PAYLOADS) and carry `event_id` as its
    `event_id`."""
    expected = PAYLOADS[type.value]
    if not isinstance(payload, expected):
        raise TypeError(f"{type.value} takes a {expected.__name__} payload")
    data = payload.model_dump(mode="json")
    deadline: datetime | None = getattr(payload, "deadline_at", None)
    event = Event(
        id=event_id, type=type.value, org_id=org_id, model_id=model_id,
        caused_by_id=caused_by.id if caused_by else None,
        root_id=(caused_by.root_id or caused_by.id) if caused_by else event_id,
        occurred_at=utcnow(), action=RequiredAction(data.get("action", "none")),
        action_deadline_at=deadline, data=data,
    )
    session.add(event)
    await session.flush()
    await fan_out(session, event)
    for step in then:
        await step(session, event)
    return event

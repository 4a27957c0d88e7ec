"""Acknowledgements: re-users confirm per event that their copies are replaced or deleted;
providers see who did and who did not; reminders go out once before the deadline."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.acks import fixes
from app.acks.links import ack_url
from app.acks.models import Acknowledgement, AckOutcome, AckReminder
from app.acks.schemas import AckParty, AckRead, AckStatus, PendingEvent
from app.config import Settings
from app.crypto import Keyring
from app.db import utcnow
from app.emails import service as emails
from app.errors import Conflict, NotFound
from app.events.models import Event, RequiredAction
from app.feeds.service import summarise
from app.i18n import use_language
from app.models_registry.models import Model
from app.subscribers.models import Subscriber, Subscription
from app.subscribers.service import contact_email

log = logging.getLogger(__name__)


@dataclass
class PastAck:
    event_id: uuid.UUID
    type: str
    model: str
    outcome: AckOutcome
    via: str
    acknowledged_at: datetime


def asks_action(event: Event) -> bool:
    return event.action != RequiredAction.no_action and event.model_id is not None


async def expected(session: AsyncSession, event: Event) -> list[Subscriber]:
    """Who must act on the event: verified followers of its model when it happened."""
    if not asks_action(event):
        return []
    return list(await session.scalars(
        select(Subscriber).join(Subscription, Subscription.subscriber_id == Subscriber.id)
        .where(Subscription.model_id == event.model_id, Subscriber.verified_at.is_not(None),
               Subscription.created_at <= event.occurred_at)
        .order_by(Subscriber.name, Subscriber.id)))


def ack_read(a: Acknowledgement) -> AckRead:
    return AckRead(event_id=a.event_id, subscriber_id=a.subscriber_id,
                   outcome=AckOutcome(a.outcome), via=a.via, acknowledged_at=a.created_at)


async def acknowledge(session: AsyncSession, event_id: uuid.UUID, subscriber: Subscriber,
                      outcome: AckOutcome, via: str) -> Acknowledgement:
    """Idempotent: a second acknowledgement of the same event returns the first."""
    event = await session.scalar(select(Event).where(Event.id == event_id))
    if event is None or subscriber.id not in {s.id for s in await expected(session, event)}:
        if event is not None and not asks_action(event):
            raise Conflict("this event asks for no action; there is nothing to acknowledge")
        raise NotFound("no event awaiting your acknowledgement has this id")
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    # A concurrent acknowledgement of the same event wins quietly: the first one stands. One
    # acknowledgement answers for the whole fix (each superseded version and its completion).
    for answered in [event, *await fixes.siblings(session, event)]:
        await session.execute(
            insert(Acknowledgement).values(id=uuid.uuid4(), event_id=answered.id,
                                           subscriber_id=subscriber.id, outcome=outcome.value,
                                           via=via, created_at=utcnow())
            .on_conflict_do_nothing(index_elements=["event_id", "subscriber_id"]))
    ack = await session.scalar(select(Acknowledgement).where(
        Acknowledgement.event_id == event.id, Acknowledgement.subscriber_id == subscriber.id))
    assert ack is not None
    return ack


async def status(session: AsyncSession, event: Event) -> AckStatus:
    parties = await expected(session, event)
    acks = {a.subscriber_id: a for a in await session.scalars(
        select(Acknowledgement).where(Acknowledgement.event_id == event.id))}
    done, pending = [], []
    for s in parties:
        a = acks.get(s.id)
        if a is None:
            pending.append(AckParty(subscriber_id=s.id, name=s.name))
        else:
            done.append(AckParty(subscriber_id=s.id, name=s.name,
                                 outcome=AckOutcome(a.outcome), acknowledged_at=a.created_at))
    return AckStatus(event_id=event.id, type=event.type, action=event.action,
                     deadline_at=event.action_deadline_at, expected=len(parties),
                     acknowledged=done, pending=pending)


async def provider_event(session: AsyncSession, org_id: uuid.UUID, event_id: uuid.UUID) -> Event:
    event = await session.scalar(select(Event).where(Event.id == event_id,
                                                     Event.org_id == org_id))
    if event is None:
        raise NotFound("event not found")
    return event


async def pending_for(session: AsyncSession, settings: Settings,
                      subscriber: Subscriber) -> list[PendingEvent]:
    acked = select(Acknowledgement.event_id).where(Acknowledgement.subscriber_id == subscriber.id)
    rows = await session.execute(
        select(Event, Model.namespace, Model.name)
        .join(Subscription, Subscription.model_id == Event.model_id)
        .join(Model, Model.id == Event.model_id)
        .where(Subscription.subscriber_id == subscriber.id,
               Subscription.created_at <= Event.occurred_at,
               Event.action != RequiredAction.no_action, Event.id.not_in(acked))
        .order_by(Event.position.desc()).limit(200))
    return [PendingEvent(event_id=e.id, type=e.type, model=f"{ns}/{n}", action=e.action,
                         deadline_at=e.action_deadline_at,
                         ack_url=ack_url(settings, e.id, subscriber.id)) for e, ns, n in rows]


async def acknowledged_by(session: AsyncSession, subscriber: Subscriber,
                          limit: int = 50) -> list[PastAck]:
    """The subscriber's acknowledgements, newest first, for their management page."""
    rows = await session.execute(
        select(Acknowledgement, Event.type, Model.namespace, Model.name)
        .join(Event, Event.id == Acknowledgement.event_id)
        .join(Model, Model.id == Event.model_id)
        .where(Acknowledgement.subscriber_id == subscriber.id)
        .order_by(Acknowledgement.created_at.desc(), Event.position.desc()).limit(limit))
    return [PastAck(event_id=a.event_id, type=t, model=f"{ns}/{n}", outcome=AckOutcome(a.outcome),
                    via=a.via, acknowledged_at=a.created_at) for a, t, ns, n in rows]


# --- reminders -------------------------------------------------------------------------------


async def _claim_event(session: AsyncSession, event_id: uuid.UUID) -> bool:
    """Insert the event's reminder marker; only the replica whose insert lands sends."""
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    result = await session.execute(
        insert(AckReminder).values(event_id=event_id, created_at=utcnow(), reminded=0)
        .on_conflict_do_nothing(index_elements=["event_id"]).returning(AckReminder.event_id))
    return result.scalar_one_or_none() is not None


async def remind_due(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings,
                     keyring: Keyring, limit: int = 20) -> int:
    """Remind, once per event, the re-users who have not acknowledged it, before the deadline."""
    from app.feeds.service import event_read, events_query

    now = utcnow()
    window = now + timedelta(hours=settings.ack_reminder_lead_hours)
    sent = 0
    async with sessionmaker() as session:
        reminded = select(AckReminder.event_id)
        events = list(await session.scalars(
            select(Event).where(Event.action != RequiredAction.no_action,
                                Event.action_deadline_at.is_not(None),
                                Event.action_deadline_at > now,
                                Event.action_deadline_at <= window,
                                Event.id.not_in(reminded))
            .order_by(Event.action_deadline_at).limit(limit)))
    for event in events:
        async with sessionmaker() as session:
            if not await _claim_event(session, event.id):
                await session.rollback()
                continue
            if not await fixes.is_latest_of_fix(session, event):
                await session.commit()  # the fix's last event carries the one reminder
                continue
            view = event_read((await session.execute(events_query().where(Event.id == event.id))).one())
            state = await status(session, event)
            for party in state.pending:
                subscriber = await session.get(Subscriber, party.subscriber_id)
                assert subscriber is not None
                with use_language(subscriber.language):
                    summary = summarise(view)
                email = contact_email(keyring, subscriber)
                if email is None:  # left since: nobody to remind
                    continue
                await emails.enqueue(
                    session, keyring, to=email, kind="ack_reminder",
                    lang=subscriber.language, context={"name": subscriber.name, "title": summary.title,
                                        "text": summary.text, "deadline_at": event.action_deadline_at,
                                        "link": ack_url(settings, event.id, subscriber.id)})
            marker = await session.get(AckReminder, event.id)
            assert marker is not None
            marker.reminded = len(state.pending)
            await session.commit()
            sent += len(state.pending)
    return sent

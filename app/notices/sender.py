"""Turn notices (written in an event's transaction) into outbox emails."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.acks.links import ack_url
from app.auth.models import Role, User
from app.config import Settings
from app.crypto import Keyring
from app.db import utcnow
from app.emails import service as emails
from app.events.models import Event
from app.feeds.service import event_read, events_query, summarise
from app.i18n import use_language
from app.jobs.claim import claim
from app.notices.models import Notice, NoticeKind
from app.subscribers.models import Subscriber
from app.subscribers.service import contact_email

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=2)


async def send_due(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings,
                   keyring: Keyring, limit: int = 200) -> int:
    async with sessionmaker() as session:
        ids = await claim(session, Notice, due=Notice.sent_at.is_(None), limit=limit,
                          lease=LEASE, order_by=Notice.created_at)
    done = 0
    for notice_id in ids:
        async with sessionmaker() as session:
            notice = await session.get(Notice, notice_id)
            if notice is None or notice.sent_at is not None:
                continue
            row = (await session.execute(
                events_query().where(Event.id == notice.event_id))).one_or_none()
            if row is not None:
                await _send(session, settings, keyring, notice, row)
            notice.sent_at = utcnow()
            notice.lease_until = None
            notice.lease_owner = None
            await session.commit()
            done += 1
    return done


async def _send(session: AsyncSession, settings: Settings, keyring: Keyring, notice: Notice,
                row: object) -> None:
    view = event_read(row)
    base = settings.public_base_url

    def in_language(lang: str) -> dict[str, object]:
        """The update's summary in the recipient's language."""
        with use_language(lang):
            summary = summarise(view)
        return {"title": summary.title, "text": summary.text, "event": view,
                "chain_url": f"{base}/v1/public/events/{view.id}/chain"}
    if notice.kind == NoticeKind.upstream_remediation and notice.org_id is not None:
        admins = (await session.execute(select(User.email, User.language).where(
            User.org_id == notice.org_id, User.role == Role.admin, User.is_active.is_(True)))).all()
        for email, language in admins:
            await emails.enqueue(session, keyring, to=email, kind="upstream_remediation",
                                 lang=language, context={**in_language(language),
                                                     "dashboard": f"{base}/dashboard/propagation"},
                                 org_id=notice.org_id)
    elif notice.kind == NoticeKind.clause_updated and notice.subscriber_id is not None:
        subscriber = await session.get(Subscriber, notice.subscriber_id)
        address = contact_email(keyring, subscriber) if subscriber is not None else None
        if subscriber is not None and address is not None:
            await emails.enqueue(session, keyring, to=address, kind="clause_updated",
                                 lang=subscriber.language,
                                 context={**in_language(subscriber.language),
                                          "name": subscriber.name,
                                          "clause_url": view.data["clause"]["url"],
                                          "version": view.data["clause"]["version"]})
    elif notice.kind in (NoticeKind.event_action, NoticeKind.upstream_remediation) \
            and notice.subscriber_id is not None:
        # A subscriber to act on an event, or one whose declared derivative must follow a fix.
        subscriber = await session.get(Subscriber, notice.subscriber_id)
        address = contact_email(keyring, subscriber) if subscriber is not None else None
        if subscriber is not None and address is not None:  # None: the subscriber left
            await emails.enqueue(session, keyring, to=address,
                                 kind=("event_action" if notice.kind == NoticeKind.event_action
                                       else "derivative_upstream"), lang=subscriber.language,
                                 context={
                                     **in_language(subscriber.language), "name": subscriber.name,
                                     "link": ack_url(settings, view.id, subscriber.id)})
    else:
        log.warning("notice %s of kind %s has nobody to tell", notice.id, notice.kind)

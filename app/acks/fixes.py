"""One fix, one thing to do. A remediation's release tells re-users several events (each
superseded version, then remediation.completed); webhooks carry each, but a person is emailed
once per fix, and one acknowledgement answers for the whole fix."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.events.models import Event, EventType, RequiredAction
from app.notices.models import Notice, NoticeKind

# How far back to look for a fix's other events: they are recorded in one transaction, one
# after the other, so they are among the model's latest few.
NEIGHBOURS = 50
FIX_TYPES = (EventType.version_superseded.value, EventType.remediation_completed.value)


def remediation_of(event: Event) -> str | None:
    """The remediation an event belongs to, if it asks re-users to act on a fix."""
    if event.type not in FIX_TYPES or event.action == RequiredAction.no_action:
        return None
    data: dict[str, Any] = event.data or {}
    found = data.get("remediation_id") or (data.get("remediation") or {}).get("id")
    return str(found) if found else None


async def siblings(session: AsyncSession, event: Event) -> list[Event]:
    """The other events asking to act on the same fix (same model, same remediation)."""
    fix = remediation_of(event)
    if fix is None or event.model_id is None:
        return []
    nearby = await session.scalars(
        select(Event).where(Event.model_id == event.model_id, Event.id != event.id,
                            Event.type.in_(FIX_TYPES),
                            Event.action != RequiredAction.no_action)
        .order_by(Event.position.desc()).limit(NEIGHBOURS))
    return [e for e in nearby if remediation_of(e) == fix]


async def is_latest_of_fix(session: AsyncSession, event: Event) -> bool:
    """Whether this is the fix's last event: the one a person is emailed and reminded about."""
    return all(e.position < event.position for e in await siblings(session, event))


async def drop_earlier_emails(session: AsyncSession, event: Event) -> None:
    """The fix's earlier events were recorded in this same transaction, so their email notices
    are not sent yet: this event's notice replaces them."""
    earlier = [e.id for e in await siblings(session, event) if e.position < event.position]
    if earlier:
        await session.execute(delete(Notice).where(
            Notice.kind == NoticeKind.event_action.value, Notice.event_id.in_(earlier),
            Notice.sent_at.is_(None)))

"""The lineage cascade: a remediation of a model reaches every model derived from it.

When a version is superseded because of a remediation, the caller records that event with
`cascade` as a step (`events.record(..., then=[cascade])`). The cascade walks the lineage graph
down from the fixed model, generation by generation, and records one `upstream.remediation`
event per derived model (of any organisation), in the same transaction: a model reached
through several parents (a merge of two fine-tunes of the fixed model) is told once. Each
event names the event it follows from (`caused_by`, `chain`), so the whole chain can be read
back. Each derived model's provider is told by email (a notice), and its subscribers receive
the event like any other."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Organization
from app.events import service as events
from app.events.models import Event, EventType
from app.events.schemas import ModelRef, UpstreamInfo, UpstreamRemediation, VersionRef
from app.lineage.graph import descendants
from app.models_registry.models import Model
from app.notices.models import Notice, NoticeKind


def _upstream(event: Event) -> UpstreamInfo | None:
    data: dict[str, Any] = event.data
    if event.type != EventType.version_superseded or data.get("reason") != "remediation":
        return None
    return UpstreamInfo(model=data["model"], event_id=event.id,
                        superseded=VersionRef.model_validate(data["superseded"]),
                        replacement=VersionRef.model_validate(data["replacement"]),
                        remediation_id=data.get("remediation_id"))


async def cascade(session: AsyncSession, event: Event) -> None:
    upstream = _upstream(event)
    if upstream is None or event.model_id is None:
        return
    recorded: dict[uuid.UUID, Event] = {event.model_id: event}
    chains: dict[uuid.UUID, list[uuid.UUID]] = {event.model_id: [event.id]}
    for depth, generation in enumerate(await descendants(session, event.model_id), start=1):
        children = {m.id: (m, slug) for m, slug in await session.execute(
            select(Model, Organization.slug).join(Organization, Organization.id == Model.org_id)
            .where(Model.id.in_([c for c, _ in generation])))}
        for child_id, parent_id in generation:
            child, slug = children[child_id]
            cause = recorded[parent_id]
            event_id = events.new_event_id()
            chain = [*chains[parent_id], event_id]
            payload = UpstreamRemediation(
                event_id=event_id, model=ModelRef(id=child.ref, organization=slug),
                upstream=upstream, chain=chain, depth=depth,
                deadline_at=event.action_deadline_at)
            recorded[child_id] = await events.record(
                session, event_id=event_id, type=EventType.upstream_remediation,
                org_id=child.org_id, model_id=child.id, payload=payload, caused_by=cause)
            chains[child_id] = chain
            # A derivative declared by a subscriber has no staff: the subscriber is told.
            session.add(Notice(kind=NoticeKind.upstream_remediation, event_id=event_id,
                               org_id=None if child.declared_by_id else child.org_id,
                               subscriber_id=child.declared_by_id))
    await session.flush()

"""The lineage cascade: a remediation of a model reaches every model derived from it.

When a version is superseded because of a remediation, each registered model whose
`derived_from` is that model (of any organisation) gets an `upstream.remediation` event, in
the same transaction; recording that event cascades again to its own children, and so on down
the lineage. Each child's provider is told by email (a notice), and its subscribers receive the
event like any other."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.events.models import Event, EventType
from app.events.schemas import UpstreamInfo, UpstreamRemediation, VersionRef
from app.models_registry.models import Model
from app.notices.models import Notice, NoticeKind

MAX_DEPTH = 32  # lineage cannot cycle (the registry refuses it); this bounds a bad row anyway


def _upstream(event: Event) -> tuple[UpstreamInfo, list[str], int] | None:
    data: dict[str, Any] = event.data
    if event.type == EventType.version_superseded and data.get("reason") == "remediation":
        info = UpstreamInfo(model=data["model"], event_id=event.id,
                            superseded=VersionRef.model_validate(data["superseded"]),
                            replacement=VersionRef.model_validate(data["replacement"]),
                            remediation_id=data.get("remediation_id"))
        return info, [str(event.id)], 0
    if event.type == EventType.upstream_remediation:
        return (UpstreamInfo.model_validate(data["upstream"]), list(data["chain"]),
                int(data["depth"]))
    return None


async def cascade(session: AsyncSession, event: Event) -> None:
    found = _upstream(event)
    if found is None or event.model_id is None:
        return
    upstream, chain, depth = found
    if depth >= MAX_DEPTH:
        return
    from app.events import service as events
    from app.models_registry.releases import model_ref

    children = list(await session.scalars(
        select(Model).where(Model.derived_from_id == event.model_id)
        .order_by(Model.namespace, Model.name)))
    for child in children:
        event_id = uuid.uuid4()
        payload = UpstreamRemediation(
            event_id=event_id, model=await model_ref(session, child), upstream=upstream,
            chain=[uuid.UUID(c) for c in chain] + [event_id], depth=depth + 1,
            deadline_at=event.action_deadline_at)
        # Recording it cascades on, to this child's own children.
        await events.record(session, event_id=event_id, type=EventType.upstream_remediation,
                            org_id=child.org_id, model_id=child.id, payload=payload,
                            caused_by=event)
        session.add(Notice(kind=NoticeKind.upstream_remediation, event_id=event_id,
                           org_id=child.org_id))
    await session.flush()

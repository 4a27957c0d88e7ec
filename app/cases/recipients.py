"""GDPR Art. 19: who was told of the correction. For a case, the events announcing its fix (a
version superseded because of one of its succeeded remediations) and everything they cascaded
to down the lineage; for each, who had to hear it: the re-users following the model (webhooks
or email), and the providers of derived models. For each recipient: when it was sent, when it
was delivered, when they acknowledged.

Names shown are the re-users' display names (they are told at subscription that data subjects
may see them for this purpose) and derived-model providers' organisation names."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.acks.fixes import FIX_TYPES, remediation_of
from app.acks.models import Acknowledgement
from app.acks.service import asks_action, expected
from app.auth.models import Organization
from app.cases.models import Case, CaseModel
from app.delivery.models import Delivery
from app.events.models import Event, EventType
from app.models_registry.models import Model
from app.notices.models import Notice
from app.remediation.models import Remediation, RemediationCase, RemediationStatus
from app.subscribers.models import Subscriber


class RecipientKind(StrEnum):
    re_user = "re_user"  # follows the model: must replace or delete its copies
    derived_model_provider = "derived_model_provider"  # provides a model derived from it


@dataclass(frozen=True)
class Told:
    kind: RecipientKind
    name: str
    model: str
    event_id: uuid.UUID
    sent_at: datetime | None
    delivered_at: datetime | None
    acknowledged_at: datetime | None
    ack_outcome: str | None
    must_acknowledge: bool  # the event asks re-users to act: an acknowledgement is awaited

    @property
    def ack_pending(self) -> bool:
        return self.must_acknowledge and self.acknowledged_at is None


async def fix_events(session: AsyncSession, case: Case) -> list[Event]:
    """The events that announced the case's fix (each superseded version, then
    remediation.completed: app/acks/fixes.py), and what they cascaded to."""
    rids = {str(r) for r in await session.scalars(
        select(Remediation.id).join(RemediationCase, RemediationCase.remediation_id
                                    == Remediation.id)
        .where(RemediationCase.case_id == case.id,
               Remediation.status == RemediationStatus.succeeded.value))}
    if not rids:
        return []
    models = select(CaseModel.model_id).where(CaseModel.case_id == case.id)
    direct = [e for e in await session.scalars(
        select(Event).where(Event.model_id.in_(models), Event.type.in_(FIX_TYPES),
                            Event.occurred_at >= case.received_at).order_by(Event.position))
        if remediation_of(e) in rids]
    if not direct:
        return []
    ids = [e.id for e in direct]
    cascaded = list(await session.scalars(
        select(Event).where(or_(Event.root_id.in_(ids), Event.caused_by_id.in_(ids)),
                            Event.id.not_in(ids)).order_by(Event.position)))
    return direct + cascaded


async def _model_names(session: AsyncSession, events: list[Event]) -> dict[uuid.UUID, str]:
    ids = {e.model_id for e in events if e.model_id}
    rows = await session.execute(select(Model.id, Model.namespace, Model.name)
                                 .where(Model.id.in_(ids)))
    return {i: f"{ns}/{n}" for i, ns, n in rows}


def _earliest(*values: datetime | None) -> datetime | None:
    present = [v for v in values if v is not None]
    return min(present) if present else None


async def who_was_told(session: AsyncSession, case: Case) -> list[Told]:
    events = await fix_events(session, case)
    if not events:
        return []
    models = await _model_names(session, events)
    ids = [e.id for e in events]
    deliveries = {(ev, sub): (first, ok) for ev, sub, first, ok in await session.execute(
        select(Delivery.event_id, Delivery.subscriber_id, func.min(Delivery.created_at),
               func.min(Delivery.succeeded_at))
        .where(Delivery.event_id.in_(ids)).group_by(Delivery.event_id, Delivery.subscriber_id))}
    notices = list(await session.scalars(select(Notice).where(Notice.event_id.in_(ids))))
    acks = {(a.event_id, a.subscriber_id): a for a in await session.scalars(
        select(Acknowledgement).where(Acknowledgement.event_id.in_(ids)))}
    # One fix of one model is told in several events (webhooks carry each, a person is emailed
    # once): each re-user is one recipient per fix, with the earliest dates over its events.
    fixes: dict[tuple[uuid.UUID | None, str | None], list[Event]] = {}
    for e in events:
        if e.type in FIX_TYPES:
            fixes.setdefault((e.model_id, remediation_of(e)), []).append(e)
        else:
            fixes[(e.model_id, str(e.id))] = [e]
    told: list[Told] = []
    for group in fixes.values():
        latest = group[-1]
        model = models.get(latest.model_id, "") if latest.model_id else ""
        must = any(asks_action(e) for e in group)
        for sub in await expected(session, latest):
            first = ok = None
            for e in group:
                d_first, d_ok = deliveries.get((e.id, sub.id), (None, None))
                emailed = [n for n in notices if n.event_id == e.id and n.subscriber_id == sub.id]
                first = _earliest(first, d_first, *(n.created_at for n in emailed))
                ok = _earliest(ok, d_ok, *(n.sent_at for n in emailed))
            ack = next((acks[(e.id, sub.id)] for e in group if (e.id, sub.id) in acks), None)
            told.append(Told(RecipientKind.re_user, sub.name, model, latest.id, first, ok,
                             ack.created_at if ack else None, ack.outcome if ack else None, must))
        if latest.type == EventType.upstream_remediation.value:
            for n in notices:
                if n.event_id != latest.id or n.kind != "upstream_remediation":
                    continue
                name = await _provider_name(session, n)
                told.append(Told(RecipientKind.derived_model_provider, name, model, latest.id,
                                 n.created_at, n.sent_at, None, None, False))
    return told


async def _provider_name(session: AsyncSession, notice: Notice) -> str:
    if notice.org_id is not None:
        return str(await session.scalar(select(Organization.name)
                                        .where(Organization.id == notice.org_id)) or "")
    return str(await session.scalar(select(Subscriber.name)
                                    .where(Subscriber.id == notice.subscriber_id)) or "")

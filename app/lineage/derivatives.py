"""Derivatives published elsewhere: a subscriber declares a model it derived from models it
follows and publishes outside this service (name and URL). The declared model joins the
lineage graph, so the cascade reaches it like any derived model: its own re-users can follow
it here and receive `upstream.remediation`, and the declaring subscriber is emailed.

A declared model belongs to an organisation of its own, one per declaring subscriber
(`re-user-<id>`), with no staff: it is only ever changed through the subscriber's token."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Organization
from app.errors import BadRequest
from app.lineage.schemas import DerivativeCreate
from app.models_registry import service as registry
from app.models_registry.models import Model
from app.models_registry.schemas import ModelCreate
from app.models_registry.service import ModelView
from app.pagination import PageParams
from app.subscribers.models import Subscriber, Subscription

MAX_DECLARED = 50


def org_slug(subscriber: Subscriber) -> str:
    return f"re-user-{subscriber.id.hex[:12]}"


async def _org(session: AsyncSession, subscriber: Subscriber) -> Organization:
    slug = org_slug(subscriber)
    org = await session.scalar(select(Organization).where(Organization.slug == slug))
    if org is None:
        org = Organization(name=subscriber.name[:200], slug=slug)
        session.add(org)
        await session.flush()
    return org


async def declare(session: AsyncSession, subscriber: Subscriber,
                  body: DerivativeCreate) -> ModelView:
    followed = set(await session.scalars(select(Subscription.model_id).where(
        Subscription.subscriber_id == subscriber.id)))
    for ref in body.derived_from:
        parent = await session.scalar(select(Model).where(
            Model.namespace == ref.partition("/")[0], Model.name == ref.partition("/")[2]))
        if parent is None or parent.id not in followed:
            raise BadRequest("derived_from: you do not follow one of these models; follow "
                             "the models your derivative is built on first")
    count = len(list(await session.scalars(select(Model.id).where(
        Model.declared_by_id == subscriber.id))))
    if count >= MAX_DECLARED:
        raise BadRequest(f"a subscriber declares at most {MAX_DECLARED} derivatives")
    org = await _org(session, subscriber)
    return await registry.create_model(session, org.id, ModelCreate(
        id=body.id, title=body.title, licence=body.licence, homepage=body.url,
        derived_from=list(body.derived_from), intake_open=False), declared_by=subscriber.id)


async def declared_by(session: AsyncSession, subscriber: Subscriber) -> list[ModelView]:
    org = await session.scalar(select(Organization).where(
        Organization.slug == org_slug(subscriber)))
    if org is None:
        return []
    views, _ = await registry.list_models(session, org.id, PageParams(limit=MAX_DECLARED))
    return views

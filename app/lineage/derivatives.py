"""Derivatives published elsewhere: a subscriber declares a model it derived from models it
follows and publishes outside this service (name and URL). The declared model joins the
lineage graph, so the cascade reaches it like any derived model: its own re-users can follow
it here and receive `upstream.remediation`, and the declaring subscriber is emailed.

A declared model belongs to an organisation of its own, one per declaring subscriber
(`re-user-<id>`), with no staff: it is only ever changed through the subscriber's token.

A declaration made in error can be taken back while nothing else rests on it: no re-user
follows it, no model is derived from it, no event (a fix reaching it) names it. Once one does,
it stays: the followers' and the chain's record must hold."""

from __future__ import annotations

from sqlalchemy import delete, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Organization
from app.errors import BadRequest, Conflict, NotFound
from app.events.models import Event
from app.i18n import N_
from app.lineage import graph
from app.lineage.models import ModelParent
from app.lineage.schemas import DerivativeCreate
from app.models_registry import service as registry
from app.models_registry.models import Model, ModelVersion
from app.models_registry.schemas import ModelCreate
from app.models_registry.service import ModelView, split_ref
from app.pagination import PageParams
from app.subscribers.models import Subscriber, Subscription

MAX_DECLARED = 50
RESTS = N_("this derivative has followers, derived models or fixes on record: it stays, so that "
           "their record holds")


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


async def withdraw(session: AsyncSession, subscriber: Subscriber, ref: str) -> None:
    """Take back a declaration (see the module's docstring); refused once anything rests on
    it. Under the lineage lock, so that no model is declared derived from it meanwhile."""
    namespace, name = split_ref(ref)
    model = None if "\x00" in ref else await session.scalar(select(Model).where(
        Model.namespace == namespace, Model.name == name, Model.declared_by_id == subscriber.id))
    if model is None:
        raise NotFound(N_("model not found"))
    await graph.lock(session)
    rests = await session.scalar(select(
        exists().where(Subscription.model_id == model.id)
        | exists().where(ModelParent.parent_id == model.id)
        | exists().where(Event.model_id == model.id)
        | exists().where(ModelVersion.model_id == model.id)))
    if rests:
        raise Conflict(RESTS)
    await session.execute(delete(ModelParent).where(ModelParent.child_id == model.id))
    await session.delete(model)
    try:
        await session.flush()
    except IntegrityError:  # a follower arrived meanwhile: its row names the model
        raise Conflict(RESTS) from None

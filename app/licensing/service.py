"""Update-obligation clauses: versions published by the provider, accepted by subscribers.

Acceptance is evidence: a row per (clause version, subscriber) with who and when, and a row
in the provider's hash-chained audit trail. A new version is announced to followers (event
`model.clause.updated`, and an email each), who must accept it again; the provider sees who
has not."""

from __future__ import annotations

import uuid

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.db import utcnow
from app.errors import Conflict, FieldError, InvalidInput, NotFound
from app.events import service as events
from app.events.models import EventType
from app.events.schemas import ClauseInfo, ClauseUpdated, ModelRef
from app.licensing.models import ClauseAcceptance, LicenceClause
from app.licensing.schemas import AcceptanceRead, ClauseCreate, ClauseRead, SubscriberClauseRead
from app.models_registry.models import Model
from app.notices.models import Notice, NoticeKind
from app.subscribers.models import Subscriber, Subscription


def public_url(base_url: str, model: Model, version: int) -> str:
    return f"{base_url}/models/{model.ref}/clause/{version}"


def clause_read(base_url: str, model: Model, c: LicenceClause) -> ClauseRead:
    return ClauseRead(model=model.ref, version=c.version, text_en=c.text_en, text_fr=c.text_fr,
                      url=c.url, public_url=public_url(base_url, model, c.version),
                      published_at=c.published_at)


async def current(session: AsyncSession, model_id: uuid.UUID) -> LicenceClause | None:
    return await session.scalar(select(LicenceClause).where(LicenceClause.model_id == model_id)
                                .order_by(LicenceClause.version.desc()).limit(1))


async def current_for(session: AsyncSession,
                      model_ids: list[uuid.UUID]) -> dict[uuid.UUID, LicenceClause]:
    """Each model's current clause (models without one are left out)."""
    if not model_ids:
        return {}
    newest = (select(LicenceClause.model_id, func.max(LicenceClause.version).label("v"))
              .where(LicenceClause.model_id.in_(model_ids))
              .group_by(LicenceClause.model_id).subquery())
    rows = await session.scalars(select(LicenceClause).join(
        newest, (newest.c.model_id == LicenceClause.model_id)
        & (newest.c.v == LicenceClause.version)))
    return {c.model_id: c for c in rows}


async def version_of(session: AsyncSession, model: Model, version: int) -> LicenceClause:
    clause = await session.scalar(select(LicenceClause).where(
        LicenceClause.model_id == model.id, LicenceClause.version == version))
    if clause is None:
        raise NotFound("this model has no clause of that version")
    return clause


async def publish(session: AsyncSession, model: Model, body: ClauseCreate, *, actor: str,
                  org_slug: str, base_url: str) -> LicenceClause:
    """A new clause version, announced to the model's followers in this transaction."""
    previous = await current(session, model.id)
    clause = LicenceClause(model_id=model.id, version=(previous.version if previous else 0) + 1,
                           text_en=body.text_en, text_fr=body.text_fr,
                           url=str(body.url) if body.url else None, published_at=utcnow(),
                           published_by=actor[:300])
    session.add(clause)
    try:
        await session.flush()
    except IntegrityError:  # another version was published at the same time
        raise Conflict("another clause version was just published; read it and try again") \
            from None
    await audit.append(session, org_id=model.org_id, actor=actor, action="clause.published",
                       details={"model": model.ref, "version": clause.version})
    event_id = events.new_event_id()
    event = await events.record(
        session, event_id=event_id, type=EventType.clause_updated, org_id=model.org_id,
        model_id=model.id, payload=ClauseUpdated(
            event_id=event_id, model=ModelRef(id=model.ref, organization=org_slug),
            licence=model.licence, clause=ClauseInfo(
                version=clause.version, url=public_url(base_url, model, clause.version),
                external_url=clause.url, published_at=clause.published_at)))
    # Every confirmed follower is emailed to accept the new version.
    followers = await session.scalars(
        select(Subscription.subscriber_id)
        .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
        .where(Subscription.model_id == model.id, Subscriber.verified_at.is_not(None)))
    rows = [{"id": uuid.uuid4(), "kind": NoticeKind.clause_updated.value, "event_id": event.id,
             "subscriber_id": sub_id, "created_at": utcnow()} for sub_id in followers]
    if rows:
        await session.execute(insert(Notice), rows)
    return clause


async def accept(session: AsyncSession, subscriber: Subscriber, model: Model, version: int,
                 via: str) -> ClauseAcceptance:
    """Record that the subscriber accepts this version (it must be the current one).
    Idempotent: accepting again returns the first record."""
    clause = await current(session, model.id)
    if clause is None:
        raise NotFound("this model has no update clause")
    if clause.version != version:
        raise Conflict(f"that is not the current version of the model's update clause; read "
                       f"and accept version {clause.version}")
    existing = await session.scalar(select(ClauseAcceptance).where(
        ClauseAcceptance.clause_id == clause.id, ClauseAcceptance.subscriber_id == subscriber.id))
    if existing is not None:
        return existing
    acceptance = ClauseAcceptance(clause_id=clause.id, model_id=model.id,
                                  subscriber_id=subscriber.id, version=clause.version,
                                  subscriber_name=subscriber.name, via=via, accepted_at=utcnow())
    session.add(acceptance)
    await audit.append(session, org_id=model.org_id, actor=f"subscriber:{subscriber.id}",
                       action="clause.accepted",
                       details={"model": model.ref, "version": clause.version,
                                "subscriber": str(subscriber.id), "via": via})
    await session.flush()
    return acceptance


async def unaccepted(session: AsyncSession, subscriber_id: uuid.UUID,
                     model: Model) -> LicenceClause | None:
    """The model's current clause if the subscriber has not accepted it, else None."""
    clause = await current(session, model.id)
    if clause is None:
        return None
    accepted = await session.scalar(select(ClauseAcceptance.id).where(
        ClauseAcceptance.clause_id == clause.id, ClauseAcceptance.subscriber_id == subscriber_id))
    return clause if accepted is None else None


async def require_accepted(session: AsyncSession, models: list[Model],
                           accepted: dict[str, int], field: str) -> dict[uuid.UUID, int]:
    """Every model with a clause must be accepted at its current version: the versions to
    record, by model id; a 422 naming each model whose clause was not accepted."""
    clauses = await current_for(session, [m.id for m in models])
    problems: list[FieldError] = []
    for model in models:
        clause = clauses.get(model.id)
        if clause is not None and accepted.get(model.ref) != clause.version:
            problems.append(FieldError(
                field=field, location="body",
                message=f"a model chosen binds its re-users by an update clause: read version "
                        f"{clause.version} and accept it"))
    if problems:
        raise InvalidInput(problems)
    return {mid: c.version for mid, c in clauses.items()}


async def _latest_acceptances(session: AsyncSession, model_ids: list[uuid.UUID],
                              subscriber_ids: list[uuid.UUID] | None = None,
                              ) -> dict[tuple[uuid.UUID, uuid.UUID], ClauseAcceptance]:
    query = select(ClauseAcceptance).where(ClauseAcceptance.model_id.in_(model_ids))
    if subscriber_ids is not None:
        query = query.where(ClauseAcceptance.subscriber_id.in_(subscriber_ids))
    latest: dict[tuple[uuid.UUID, uuid.UUID], ClauseAcceptance] = {}
    for a in await session.scalars(query.order_by(ClauseAcceptance.version)):
        latest[(a.model_id, a.subscriber_id)] = a
    return latest


async def for_subscriber(session: AsyncSession, subscriber: Subscriber,
                         base_url: str) -> list[SubscriberClauseRead]:
    models = list(await session.scalars(
        select(Model).join(Subscription, Subscription.model_id == Model.id)
        .where(Subscription.subscriber_id == subscriber.id).order_by(Model.namespace, Model.name)))
    clauses = await current_for(session, [m.id for m in models])
    latest = await _latest_acceptances(session, list(clauses), [subscriber.id])
    out = []
    for m in models:
        if (c := clauses.get(m.id)) is None:
            continue
        a = latest.get((m.id, subscriber.id))
        out.append(SubscriberClauseRead(
            model=m.ref, version=c.version, public_url=public_url(base_url, m, c.version),
            accepted_version=a.version if a else None, accepted_at=a.accepted_at if a else None,
            pending=a is None or a.version != c.version))
    return out


async def acceptances(session: AsyncSession, model: Model) -> list[AcceptanceRead]:
    """Every confirmed follower and the version it last accepted: who has not accepted the
    current one shows `up_to_date: false`."""
    clause = await current(session, model.id)
    followers = list(await session.scalars(
        select(Subscriber).join(Subscription, Subscription.subscriber_id == Subscriber.id)
        .where(Subscription.model_id == model.id, Subscriber.verified_at.is_not(None))
        .order_by(Subscriber.name, Subscriber.id)))
    latest = await _latest_acceptances(session, [model.id], [s.id for s in followers])
    out = []
    for s in followers:
        a = latest.get((model.id, s.id))
        out.append(AcceptanceRead(
            subscriber_id=s.id, name=s.name, accepted_version=a.version if a else None,
            accepted_at=a.accepted_at if a else None, via=a.via if a else None,
            up_to_date=clause is None or (a is not None and a.version == clause.version)))
    return out


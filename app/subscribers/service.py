"""Subscribers: sign-up with email confirmation, their models and webhook endpoints."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.tokens import digest, new_token
from app.config import Settings
from app.crypto import Keyring
from app.db import utcnow
from app.delivery.models import Delivery, DeliveryStatus
from app.delivery.signing import new_secret
from app.delivery.ssrf import Resolver, UrlProblem, check_url
from app.emails import service as emails
from app.errors import BadRequest, Conflict, DomainError, FieldError, InvalidInput, NotFound
from app.i18n import N_
from app.licensing import service as licensing
from app.models_registry.models import Model
from app.models_registry.service import split_ref
from app.subscribers.models import Endpoint, Subscriber, Subscription
from app.subscribers.schemas import (
    MAX_ENDPOINTS,
    EndpointCreate,
    EndpointRead,
    EndpointSecrets,
    ModelSubscriberRead,
    SubscriberCreate,
    SubscriberRead,
)
from app.subscribers.sealing import seal, unseal

TOKEN_PREFIX = "rrs_"  # noqa: S105 (a prefix, not a secret)


class LinkExpired(DomainError):
    status_code = 410
    code = "link_expired"


def manage_url(settings: Settings, token: str) -> str:
    return f"{settings.public_base_url}/s/manage/{token}"


def contact_email(keyring: Keyring, subscriber: Subscriber) -> str | None:
    """The contact address, or None once the subscriber has left (and it was erased)."""
    if not subscriber.email_sealed:
        return None
    return unseal(keyring, subscriber.email_sealed, subscriber.id, "subscriber-email")


# --- models ----------------------------------------------------------------------------------


async def _models(session: AsyncSession, refs: list[str], field: str) -> list[Model]:
    found: list[Model] = []
    problems: list[FieldError] = []
    for i, ref in enumerate(dict.fromkeys(refs)):
        namespace, name = split_ref(ref)
        model = await session.scalar(select(Model).where(Model.namespace == namespace,
                                                         Model.name == name))
        if model is None:
            problems.append(FieldError(field=f"{field}.{i}" if field == "models" else field,
                                       location="body", message="no such model is registered"))
        else:
            found.append(model)
    if problems:
        raise InvalidInput(problems)
    return found


async def model_refs(session: AsyncSession, subscriber_id: uuid.UUID) -> list[str]:
    rows = await session.execute(
        select(Model.namespace, Model.name).join(Subscription, Subscription.model_id == Model.id)
        .where(Subscription.subscriber_id == subscriber_id).order_by(Model.namespace, Model.name))
    return [f"{ns}/{n}" for ns, n in rows]


# --- endpoints -------------------------------------------------------------------------------


async def check_endpoint_url(url: str, settings: Settings, resolver: Resolver,
                             field: str = "url") -> None:
    try:
        await check_url(url, resolver, allow_http=settings.allow_http_webhooks,
                        allow_private=settings.allow_private_webhook_targets)
    except UrlProblem as exc:
        raise InvalidInput([FieldError(field=field, location="body",
                                       message=f"the webhook URL {exc}")]) from None


def _new_endpoint(keyring: Keyring, subscriber_id: uuid.UUID, body: EndpointCreate) -> Endpoint:
    endpoint = Endpoint(id=uuid.uuid4(), subscriber_id=subscriber_id, url=body.url,
                        description=body.description, enabled=True)
    endpoint.secret_sealed = seal(keyring, new_secret(), endpoint.id, "endpoint-secret")
    return endpoint


async def endpoint_reads(session: AsyncSession, endpoints: list[Endpoint]) -> list[EndpointRead]:
    last = await last_successes(session, [e.id for e in endpoints]) if endpoints else {}
    return [EndpointRead(
        id=e.id, url=e.url, description=e.description, enabled=e.enabled,
        disabled_reason=e.disabled_reason, disabled_at=e.disabled_at,
        failing_since=e.failing_since, last_success_at=last.get(e.id),
        previous_secret_expires_at=_grace(e), created_at=e.created_at) for e in endpoints]


async def endpoint_read(session: AsyncSession, endpoint: Endpoint) -> EndpointRead:
    [read] = await endpoint_reads(session, [endpoint])
    return read


async def last_successes(session: AsyncSession,
                         endpoint_ids: list[uuid.UUID]) -> dict[uuid.UUID, datetime]:
    """Each endpoint's latest successful delivery, read from the deliveries (one lookup in
    `ix_deliveries_endpoint_success` per endpoint; migration 0018 says why the endpoint row
    keeps no copy). Endpoints never delivered to are absent."""
    latest = (select(func.max(Delivery.succeeded_at)).where(Delivery.endpoint_id == Endpoint.id)
              .scalar_subquery())
    rows = await session.execute(select(Endpoint.id, latest).where(Endpoint.id.in_(endpoint_ids)))
    return {endpoint_id: at for endpoint_id, at in rows if at is not None}


class SealedSecrets(Protocol):
    """What signing needs of an endpoint (an `Endpoint`, or the columns the worker selects)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def secret_sealed(self) -> bytes: ...
    @property
    def previous_secret_sealed(self) -> bytes | None: ...
    @property
    def previous_secret_expires_at(self) -> datetime | None: ...


def _grace(e: SealedSecrets) -> datetime | None:
    if e.previous_secret_sealed is None or e.previous_secret_expires_at is None:
        return None
    return e.previous_secret_expires_at if e.previous_secret_expires_at > utcnow() else None


def endpoint_secrets(keyring: Keyring, e: SealedSecrets) -> EndpointSecrets:
    secrets = signing_secrets(keyring, e)
    return EndpointSecrets(endpoint_id=e.id, secret=secrets[0],
                           previous_secret=secrets[1] if len(secrets) > 1 else None,
                           previous_secret_expires_at=_grace(e))


def signing_secrets(keyring: Keyring, e: SealedSecrets) -> list[str]:
    """The secrets that sign: the current one, then the previous one in its grace period. (No
    API model on the way: the delivery worker opens one per endpoint it sends to.)"""
    secrets = [unseal(keyring, e.secret_sealed, e.id, "endpoint-secret")]
    if e.previous_secret_sealed is not None and _grace(e) is not None:
        secrets.append(unseal(keyring, e.previous_secret_sealed, e.id, "endpoint-secret"))
    return secrets


async def endpoints_of(session: AsyncSession, subscriber_id: uuid.UUID) -> list[Endpoint]:
    return list(await session.scalars(
        select(Endpoint).where(Endpoint.subscriber_id == subscriber_id,
                               Endpoint.removed_at.is_(None))
        .order_by(Endpoint.created_at, Endpoint.id)))


async def get_endpoint(session: AsyncSession, subscriber: Subscriber,
                       endpoint_id: uuid.UUID) -> Endpoint:
    endpoint = await session.scalar(select(Endpoint).where(
        Endpoint.id == endpoint_id, Endpoint.subscriber_id == subscriber.id,
        Endpoint.removed_at.is_(None)))
    if endpoint is None:
        raise NotFound("endpoint not found")
    return endpoint


async def add_endpoint(session: AsyncSession, keyring: Keyring, settings: Settings,
                       resolver: Resolver, subscriber: Subscriber,
                       body: EndpointCreate) -> Endpoint:
    if len(await endpoints_of(session, subscriber.id)) >= MAX_ENDPOINTS:
        raise Conflict(f"a subscriber has at most {MAX_ENDPOINTS} endpoints; remove one first")
    await check_endpoint_url(body.url, settings, resolver)
    endpoint = _new_endpoint(keyring, subscriber.id, body)
    session.add(endpoint)
    await session.flush()
    return endpoint


async def _fail_pending(session: AsyncSession, endpoint_id: uuid.UUID, why: str) -> None:
    await session.execute(
        update(Delivery).where(Delivery.endpoint_id == endpoint_id,
                               Delivery.status == DeliveryStatus.pending)
        .values(status=DeliveryStatus.failed, last_error=why[:32], lease_until=None,
                lease_owner=None).execution_options(synchronize_session=False))


async def remove_endpoint(session: AsyncSession, subscriber: Subscriber,
                          endpoint_id: uuid.UUID) -> None:
    endpoint = await get_endpoint(session, subscriber, endpoint_id)
    endpoint.removed_at = utcnow()
    endpoint.enabled = False
    endpoint.disabled_reason = "removed by the subscriber"
    await _fail_pending(session, endpoint.id, "endpoint_removed")
    await session.flush()


async def enable_endpoint(session: AsyncSession, settings: Settings, resolver: Resolver,
                          subscriber: Subscriber, endpoint_id: uuid.UUID) -> Endpoint:
    endpoint = await get_endpoint(session, subscriber, endpoint_id)
    if not endpoint.enabled:
        await check_endpoint_url(endpoint.url, settings, resolver)
        endpoint.enabled = True
        endpoint.disabled_reason = None
        endpoint.disabled_at = None
        endpoint.failing_since = None
        endpoint.updated_at = utcnow()
        await session.flush()
    return endpoint


async def rotate_secret(session: AsyncSession, keyring: Keyring, settings: Settings,
                        subscriber: Subscriber, endpoint_id: uuid.UUID) -> Endpoint:
    """A new secret signs from now on; the old one signs beside it for the grace period."""
    endpoint = await get_endpoint(session, subscriber, endpoint_id)
    endpoint.previous_secret_sealed = endpoint.secret_sealed
    endpoint.previous_secret_expires_at = utcnow() + timedelta(
        hours=settings.webhook_secret_grace_hours)
    endpoint.secret_sealed = seal(keyring, new_secret(), endpoint.id, "endpoint-secret")
    endpoint.updated_at = utcnow()
    await session.flush()
    return endpoint


# --- sign-up ---------------------------------------------------------------------------------


@dataclass
class SignUp:
    subscriber: Subscriber
    expires_at: datetime


async def create(session: AsyncSession, keyring: Keyring, settings: Settings,
                 resolver: Resolver, body: SubscriberCreate) -> SignUp:
    """A subscriber waiting for its email confirmation; nothing is delivered before it."""
    models = await _models(session, list(body.models), "models")
    # Following a model bound by an update clause means accepting its current version.
    clauses = await licensing.require_accepted(
        session, models, {a.model: a.version for a in body.accept_clauses}, "accept_clauses")
    for i, ep in enumerate(body.endpoints):
        await check_endpoint_url(ep.url, settings, resolver, field=f"endpoints.{i}.url")
    token = new_token()
    expires_at = utcnow() + timedelta(hours=settings.confirmation_ttl_hours)
    subscriber = Subscriber(id=uuid.uuid4(), name=body.name, email_sealed=b"",
                            email_index=keyring.blind_index("subscriber-email", str(body.email)),
                            confirm_token_hash=digest(token), confirm_expires_at=expires_at,
                            language=body.language)
    subscriber.email_sealed = seal(keyring, str(body.email), subscriber.id, "subscriber-email")
    session.add(subscriber)
    await session.flush()
    for model in models:
        session.add(Subscription(subscriber_id=subscriber.id, model_id=model.id))
        if model.id in clauses:
            await licensing.accept(session, subscriber, model, clauses[model.id], via="sign-up")
    for ep in body.endpoints:
        session.add(_new_endpoint(keyring, subscriber.id, ep))
    await emails.enqueue(
        session, keyring, to=str(body.email), kind="subscriber_confirm", lang=body.language,
        context={"name": body.name, "models": [m.ref for m in models],
                 "link": f"{settings.public_base_url}/s/confirm/{token}",
                 "expires_at": expires_at})
    await session.flush()
    return SignUp(subscriber, expires_at)


async def confirm(session: AsyncSession, keyring: Keyring, settings: Settings,
                  token: str) -> tuple[Subscriber, str]:
    """Single use: returns the subscriber and its new credential (management link secret)."""
    subscriber = await session.scalar(
        select(Subscriber).where(Subscriber.confirm_token_hash == digest(token)))
    if subscriber is None:
        raise NotFound(N_("this confirmation link is not valid or was already used"))
    if subscriber.confirm_expires_at is None or subscriber.confirm_expires_at <= utcnow():
        raise LinkExpired(N_("this confirmation link has expired; please subscribe again"))
    credential = TOKEN_PREFIX + new_token()
    claimed = await session.execute(
        update(Subscriber).where(Subscriber.id == subscriber.id,
                                 Subscriber.confirm_token_hash == digest(token))
        .values(confirm_token_hash=None, confirm_expires_at=None, verified_at=utcnow(),
                token_hash=digest(credential), updated_at=utcnow())
        .execution_options(synchronize_session=False))
    if getattr(claimed, "rowcount", 1) != 1:  # two clicks raced; the other one won
        raise NotFound(N_("this confirmation link is not valid or was already used"))
    await session.refresh(subscriber)
    email = contact_email(keyring, subscriber)
    assert email is not None  # confirming is only possible before leaving
    await emails.enqueue(
        session, keyring, to=email, kind="subscriber_welcome",
        lang=subscriber.language, context={"name": subscriber.name, "link": manage_url(settings, credential),
                            "models": await model_refs(session, subscriber.id)})
    await session.flush()
    return subscriber, credential


async def leave(session: AsyncSession, subscriber: Subscriber) -> None:
    """The re-user stops following every model and its details are erased: endpoints removed
    (their pending deliveries failed), contact email and credential gone. Its past
    acknowledgements stay: they are the provider's record of who updated."""
    await session.execute(delete(Subscription).where(Subscription.subscriber_id == subscriber.id))
    for endpoint in await endpoints_of(session, subscriber.id):
        endpoint.removed_at = utcnow()
        endpoint.enabled = False
        endpoint.disabled_reason = "subscription deleted"
        await _fail_pending(session, endpoint.id, "subscription_deleted")
    subscriber.email_sealed = b""
    subscriber.email_index = digest(new_token())  # matches no address any more
    subscriber.token_hash = None
    subscriber.confirm_token_hash = None
    subscriber.confirm_expires_at = None
    await session.flush()


async def by_token(session: AsyncSession, token: str) -> Subscriber | None:
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    subscriber = await session.scalar(
        select(Subscriber).where(Subscriber.token_hash == digest(token)))
    if subscriber is None or subscriber.verified_at is None:
        return None
    return subscriber


async def read(session: AsyncSession, keyring: Keyring, subscriber: Subscriber) -> SubscriberRead:
    return SubscriberRead(
        id=subscriber.id, name=subscriber.name, email=contact_email(keyring, subscriber) or "",
        verified_at=subscriber.verified_at, language=subscriber.language,
        models=await model_refs(session, subscriber.id),
        endpoints=await endpoint_reads(session, await endpoints_of(session, subscriber.id)),
        created_at=subscriber.created_at)


async def add_model(session: AsyncSession, subscriber: Subscriber, ref: str,
                    accept_clause: int | None = None, via: str = "api") -> None:
    [model] = await _models(session, [ref], "model")
    exists = await session.scalar(select(Subscription.model_id).where(
        Subscription.subscriber_id == subscriber.id, Subscription.model_id == model.id))
    if exists is None:
        clauses = await licensing.require_accepted(
            session, [model], {} if accept_clause is None else {model.ref: accept_clause},
            "accept_clause")
        session.add(Subscription(subscriber_id=subscriber.id, model_id=model.id))
        if model.id in clauses:
            await licensing.accept(session, subscriber, model, clauses[model.id], via=via)
        await session.flush()


async def remove_model(session: AsyncSession, subscriber: Subscriber, ref: str) -> None:
    namespace, name = split_ref(ref)
    sub = await session.scalar(
        select(Subscription).join(Model, Model.id == Subscription.model_id)
        .where(Subscription.subscriber_id == subscriber.id, Model.namespace == namespace,
               Model.name == name))
    if sub is None:
        raise NotFound("you do not follow this model")
    await session.delete(sub)
    await session.flush()


# --- the provider's view ---------------------------------------------------------------------


async def subscribers_of_model(session: AsyncSession, keyring: Keyring,
                               model: Model) -> list[ModelSubscriberRead]:
    enabled = (select(func.count(Endpoint.id))
               .where(Endpoint.subscriber_id == Subscriber.id, Endpoint.enabled.is_(True),
                      Endpoint.removed_at.is_(None)).correlate(Subscriber).scalar_subquery())
    rows = await session.execute(
        select(Subscriber, Subscription.created_at, enabled)
        .join(Subscription, Subscription.subscriber_id == Subscriber.id)
        .where(Subscription.model_id == model.id, Subscriber.verified_at.is_not(None))
        .order_by(Subscription.created_at, Subscriber.id))
    return [ModelSubscriberRead(id=s.id, name=s.name, email=contact_email(keyring, s) or "",
                                subscribed_at=at, endpoints=n or 0) for s, at, n in rows]


def require_verified(subscriber: Subscriber) -> None:
    if subscriber.verified_at is None:
        raise BadRequest("confirm your email address first")

"""Gated access: confirmed subscribers obtain short-lived signed grants to download a
revision of a gated model; every grant is logged. The register is the complete list of the
model's recipients (GDPR Art. 19): `recipients()` is what other features read from it."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.access import tokens
from app.access.models import AccessGrant
from app.access.schemas import GrantCheck, GrantRead, GrantRecord, GrantValid
from app.audit import service as audit
from app.db import utcnow
from app.delivery.signing import ServiceKeys
from app.errors import BadRequest, Conflict, Forbidden, NotFound
from app.licensing import service as licensing
from app.models_registry.models import Model, ModelVersion, VersionStatus
from app.subscribers.models import Subscriber, Subscription


class GrantRefused(BadRequest):
    """A grant that is forged, expired, or for another model or revision."""

    code = "invalid_grant"


async def _subscription(session: AsyncSession, subscriber: Subscriber,
                        model: Model) -> Subscription:
    sub = await session.scalar(select(Subscription).where(
        Subscription.subscriber_id == subscriber.id, Subscription.model_id == model.id))
    if sub is None:
        raise NotFound("you do not follow this model: follow it first")
    return sub


async def _version(session: AsyncSession, model: Model, label: str | None) -> ModelVersion:
    query = select(ModelVersion).where(ModelVersion.model_id == model.id)
    if label is not None:
        version = None if "\x00" in label else await session.scalar(
            query.where(ModelVersion.label == label))
        if version is None:
            raise NotFound("the model has no version with that label")
        if version.status != VersionStatus.current:
            raise Conflict(f"that version is {version.status}: it can no longer be "
                           "downloaded; ask for a current version")
        return version
    version = await session.scalar(
        query.where(ModelVersion.status == VersionStatus.current)
        .order_by(ModelVersion.released_at.desc(), ModelVersion.label.desc()).limit(1))
    if version is None:
        raise NotFound("the model has no current version to download")
    return version


async def issue(session: AsyncSession, keys: ServiceKeys, subscriber: Subscriber, model: Model,
                label: str | None, *, ttl: timedelta, issuer: str) -> GrantRead:
    if not model.gated:
        raise Conflict("this model is not gated: it is downloaded without a grant")
    sub = await _subscription(session, subscriber, model)
    if sub.revoked_at is not None:
        raise Forbidden("the provider revoked your access to this model")
    clause = await licensing.unaccepted(session, subscriber.id, model)
    if clause is not None:
        raise Conflict(f"accept version {clause.version} of the model's update clause first")
    version = await _version(session, model, label)
    now = utcnow()
    grant = AccessGrant(id=uuid.uuid4(), model_id=model.id, version_id=version.id,
                        subscriber_id=subscriber.id, label=version.label,
                        revision=version.revision, subscriber_name=subscriber.name,
                        issued_at=now, expires_at=now + ttl, key_id=keys.current.kid)
    session.add(grant)
    await session.flush()
    token = tokens.sign(keys.current, {
        "v": 1, "gid": str(grant.id), "iss": issuer, "model": model.ref, "label": version.label,
        "revision": version.revision, "sub": str(subscriber.id), "sub_name": subscriber.name,
        "iat": int(now.timestamp()), "exp": int(grant.expires_at.timestamp())})
    return GrantRead(grant=token, grant_id=grant.id, model=model.ref, label=version.label,
                     revision=version.revision, subscriber=subscriber.id, issued_at=now,
                     expires_at=grant.expires_at)


async def check(session: AsyncSession, keys: ServiceKeys, body: GrantCheck) -> GrantValid:
    """What webhooks/grant.py checks offline, plus the register: the grant was issued here."""
    try:
        claims = tokens.verify(body.grant, keys).claims
    except tokens.BadGrant as exc:
        raise GrantRefused(f"grant: {exc}") from None
    try:
        grant_id = uuid.UUID(str(claims["gid"]))
        expires = datetime.fromtimestamp(int(claims["exp"]), UTC)
        model_ref, revision = str(claims["model"]), str(claims["revision"])
    except (KeyError, ValueError, TypeError, OverflowError):
        raise GrantRefused("grant: its claims are incomplete") from None
    if expires <= utcnow():
        raise GrantRefused(f"grant: expired at {expires.isoformat()}")
    if body.model is not None and body.model != model_ref:
        raise GrantRefused("grant: it is for another model")
    if body.revision is not None and body.revision not in (revision, str(claims.get("label"))):
        raise GrantRefused("grant: it is for another revision")
    grant = await session.get(AccessGrant, grant_id)
    if grant is None:
        raise GrantRefused("grant: not in the register")
    return GrantValid(valid=True, grant_id=grant_id, model=model_ref, label=grant.label,
                      revision=revision, subscriber=grant.subscriber_id, expires_at=expires)


async def set_revoked(session: AsyncSession, model: Model, subscriber_id: uuid.UUID,
                      revoked: bool, actor: str) -> Subscription:
    """Revoke (or restore) one follower's access to a gated model: no new grants. It keeps
    hearing about fixes: it may still hold copies."""
    sub = await session.scalar(select(Subscription).where(
        Subscription.subscriber_id == subscriber_id, Subscription.model_id == model.id))
    if sub is None:
        raise NotFound("no subscriber of this model has this id")
    if (sub.revoked_at is not None) != revoked:
        sub.revoked_at = utcnow() if revoked else None
        await audit.append(session, org_id=model.org_id, actor=actor,
                           action="access.revoked" if revoked else "access.restored",
                           details={"model": model.ref, "subscriber": str(subscriber_id)})
        await session.flush()
    return sub


# --- the register ----------------------------------------------------------------------------


def _record(g: AccessGrant, ref: str) -> GrantRecord:
    return GrantRecord(grant_id=g.id, subscriber_id=g.subscriber_id,
                       subscriber_name=g.subscriber_name, model=ref, label=g.label,
                       revision=g.revision, issued_at=g.issued_at, expires_at=g.expires_at)


async def register(session: AsyncSession, model: Model,
                   since: datetime | None = None) -> list[GrantRecord]:
    query = select(AccessGrant).where(AccessGrant.model_id == model.id)
    if since is not None:
        query = query.where(AccessGrant.issued_at >= since)
    rows = await session.scalars(query.order_by(AccessGrant.issued_at, AccessGrant.id))
    return [_record(g, model.ref) for g in rows]


def register_csv(records: list[GrantRecord]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["issued_at", "expires_at", "subscriber_id", "subscriber_name", "model",
                     "label", "revision", "grant_id"])
    for r in records:
        # A name starting with = + - @ would run as a formula in a spreadsheet.
        name = "'" + r.subscriber_name if r.subscriber_name[:1] in "=+-@\t\r" else \
            r.subscriber_name
        writer.writerow([r.issued_at.isoformat(), r.expires_at.isoformat(), r.subscriber_id,
                         name, r.model, r.label, r.revision, r.grant_id])
    return out.getvalue()


@dataclass(frozen=True)
class Recipient:
    """A subscriber that obtained a gated model: which revisions, first and last time."""

    subscriber_id: uuid.UUID
    name: str
    model_id: uuid.UUID
    revisions: tuple[str, ...]
    first_granted_at: datetime
    last_granted_at: datetime
    grants: int


async def recipients(session: AsyncSession, model_ids: Iterable[uuid.UUID],
                     since: datetime | None = None) -> list[Recipient]:
    """Everyone who obtained a grant for these models (since a time): for the Art. 19 list of
    recipients of a gated model. One entry per (subscriber, model)."""
    ids = list(model_ids)
    if not ids:
        return []
    query = select(AccessGrant).where(AccessGrant.model_id.in_(ids))
    if since is not None:
        query = query.where(AccessGrant.issued_at >= since)
    grouped: dict[tuple[uuid.UUID, uuid.UUID], list[AccessGrant]] = {}
    for g in await session.scalars(query.order_by(AccessGrant.issued_at, AccessGrant.id)):
        grouped.setdefault((g.subscriber_id, g.model_id), []).append(g)
    return [Recipient(subscriber_id=sub, name=gs[-1].subscriber_name, model_id=model_id,
                      revisions=tuple(dict.fromkeys(g.revision for g in gs)),
                      first_granted_at=gs[0].issued_at, last_granted_at=gs[-1].issued_at,
                      grants=len(gs))
            for (sub, model_id), gs in grouped.items()]

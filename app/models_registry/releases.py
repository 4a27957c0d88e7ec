"""Model versions and their lifecycle: `current` -> `superseded` | `withdrawn`.

This is the one place a version's status changes, and every change re-users must hear about
records its event here, in the caller's transaction (the outbox)."""

from __future__ import annotations

import uuid
from datetime import UTC, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Organization
from app.copies import service as copies
from app.db import utcnow
from app.errors import BadRequest, Conflict, InvalidTransition, NotFound
from app.events import service as events
from app.events.models import Event, EventType, RequiredAction
from app.events.schemas import (
    FileDigest,
    ModelRef,
    VersionRef,
    VersionReleased,
    VersionSuperseded,
    VersionWithdrawn,
)
from app.i18n import N_
from app.lineage.cascade import cascade
from app.models_registry.models import Model, ModelVersion, VersionStatus
from app.models_registry.schemas import VersionCreate, VersionUpdate
from app.models_registry.service import get_model

VERSION_TRANSITIONS: dict[VersionStatus, frozenset[VersionStatus]] = {
    VersionStatus.current: frozenset({VersionStatus.superseded, VersionStatus.withdrawn}),
    VersionStatus.superseded: frozenset({VersionStatus.withdrawn}),
    VersionStatus.withdrawn: frozenset(),
}


def version_ref(v: ModelVersion) -> VersionRef:
    return VersionRef(label=v.label, revision=v.revision,
                      digests=[FileDigest(**d) for d in v.digests])


async def model_ref(session: AsyncSession, model: Model) -> ModelRef:
    slug = await session.scalar(select(Organization.slug).where(Organization.id == model.org_id))
    assert slug is not None
    return ModelRef(id=model.ref, organization=slug)


async def _find_version(session: AsyncSession, model: Model, label: str) -> ModelVersion | None:
    # No stored label holds NUL, and PostgreSQL refuses it in a query.
    if "\x00" in label:
        return None
    return await session.scalar(select(ModelVersion).where(
        ModelVersion.model_id == model.id, ModelVersion.label == label))


async def get_version(
    session: AsyncSession, org_id: uuid.UUID, ref: str, label: str
) -> tuple[Model, ModelVersion]:
    model = await get_model(session, org_id, ref)
    version = await _find_version(session, model, label)
    if version is None:
        raise NotFound(N_("version not found"))
    return model, version


async def list_versions(
    session: AsyncSession, org_id: uuid.UUID, ref: str
) -> tuple[Model, list[ModelVersion]]:
    model = await get_model(session, org_id, ref)
    rows = await session.scalars(select(ModelVersion).where(ModelVersion.model_id == model.id)
                                 .order_by(ModelVersion.released_at.desc(), ModelVersion.label))
    return model, list(rows)


def _set_status(version: ModelVersion, to: VersionStatus) -> None:
    current = VersionStatus(version.status)
    if to not in VERSION_TRANSITIONS[current]:
        raise InvalidTransition(f"the version is {current.value}; "
                                f"it cannot become {to.value}")
    version.status = to
    version.updated_at = utcnow()


# --- releasing -------------------------------------------------------------------------------


async def release(
    session: AsyncSession, model: Model, version: ModelVersion, *,
    remediation_id: uuid.UUID | None = None,
) -> Event:
    event_id = events.new_event_id()
    return await events.record(
        session, event_id=event_id, type=EventType.version_released, org_id=model.org_id,
        model_id=model.id, payload=VersionReleased(
            event_id=event_id, model=await model_ref(session, model),
            version=version_ref(version), released_at=version.released_at,
            remediation_id=remediation_id))


async def supersede(
    session: AsyncSession, model: Model, old: ModelVersion, replacement: ModelVersion, *,
    deadline: timedelta, remediation_id: uuid.UUID | None = None,
) -> Event:
    """`old` is replaced by `replacement`: re-users must switch their copies before the deadline.
    With a remediation, this is a fix for data-subject requests (and cascades down the lineage)."""
    if replacement.id == old.id or replacement.status != VersionStatus.current:
        raise Conflict(f"the replacement is {replacement.status}; only a current "
                       "version of the same model can replace another")
    _set_status(old, VersionStatus.superseded)
    await session.flush()
    event_id = events.new_event_id()
    return await events.record(
        session, event_id=event_id, type=EventType.version_superseded, org_id=model.org_id,
        model_id=model.id, payload=VersionSuperseded(
            event_id=event_id, model=await model_ref(session, model), superseded=version_ref(old),
            replacement=version_ref(replacement), remediation_id=remediation_id,
            reason="remediation" if remediation_id else "update",
            deadline_at=utcnow() + deadline),
        # A fix for data-subject requests reaches every model derived from this one.
        then=[cascade] if remediation_id else [])


async def withdraw(
    session: AsyncSession, model: Model, version: ModelVersion,
    replacement: ModelVersion | None, *, deadline: timedelta,
) -> Event:
    if replacement is not None and (replacement.id == version.id
                                    or replacement.status != VersionStatus.current):
        raise Conflict(f"the replacement is {replacement.status}; only a current "
                       "version of the same model can replace another")
    _set_status(version, VersionStatus.withdrawn)
    await session.flush()
    event_id = events.new_event_id()
    return await events.record(
        session, event_id=event_id, type=EventType.version_withdrawn, org_id=model.org_id,
        model_id=model.id, payload=VersionWithdrawn(
            event_id=event_id, model=await model_ref(session, model),
            withdrawn=version_ref(version),
            replacement=version_ref(replacement) if replacement else None,
            action=RequiredAction.replace_copies if replacement else RequiredAction.delete_copies,
            deadline_at=utcnow() + deadline))


# --- the API's operations --------------------------------------------------------------------


async def create_version(
    session: AsyncSession, org_id: uuid.UUID, ref: str, body: VersionCreate, *,
    deadline: timedelta, remediation_id: uuid.UUID | None = None,
) -> tuple[Model, ModelVersion]:
    """Register a version. A current version is announced as released, and the versions it
    `supersedes` are superseded by it, all in this transaction."""
    model = await get_model(session, org_id, ref)
    if await _find_version(session, model, body.label) is not None:
        raise Conflict("a version with that label exists")
    replaced: list[ModelVersion] = []
    for label in dict.fromkeys(body.supersedes):
        old = await _find_version(session, model, label)
        if old is None:
            raise BadRequest("supersedes: the model has no version with one of those labels")
        replaced.append(old)
    if replaced and body.status != VersionStatus.current:
        raise BadRequest("supersedes: only a current version can replace others")
    version = ModelVersion(
        model_id=model.id, label=body.label, revision=body.revision,
        digests=[d.model_dump() for d in body.digests],
        released_at=(body.released_at or utcnow()).astimezone(UTC), status=body.status,
        remediation_id=remediation_id,
    )
    session.add(version)
    try:
        await session.flush()
    except IntegrityError:  # created concurrently, after the check above
        raise Conflict("a version with that label exists") from None
    await copies.index_version(session, version)
    if version.status == VersionStatus.current:
        await release(session, model, version, remediation_id=remediation_id)
    for old in replaced:
        await supersede(session, model, old, version, deadline=deadline,
                        remediation_id=remediation_id)
    return model, version


async def _newest_current(session: AsyncSession, model: Model,
                          other_than: ModelVersion) -> ModelVersion | None:
    return await session.scalar(
        select(ModelVersion).where(ModelVersion.model_id == model.id,
                                   ModelVersion.status == VersionStatus.current,
                                   ModelVersion.id != other_than.id)
        .order_by(ModelVersion.released_at.desc(), ModelVersion.label.desc()).limit(1))


async def update_version(
    session: AsyncSession, org_id: uuid.UUID, ref: str, label: str, body: VersionUpdate, *,
    deadline: timedelta,
) -> tuple[Model, ModelVersion]:
    model, version = await get_version(session, org_id, ref, label)
    if body.status == version.status:
        return model, version
    replacement = None
    if body.replaced_by is not None:
        replacement = await _find_version(session, model, body.replaced_by)
        if replacement is None:
            raise BadRequest("replaced_by: the model has no version with that label")
    if body.status == VersionStatus.superseded:
        # Check the transition first, so an illegal move is reported as such.
        if body.status not in VERSION_TRANSITIONS[VersionStatus(version.status)]:
            _set_status(version, body.status)
        replacement = replacement or await _newest_current(session, model, version)
        if replacement is None:
            raise Conflict("nothing replaces it: release the new version first, or "
                           "give replaced_by")
        await supersede(session, model, version, replacement, deadline=deadline)
    elif body.status == VersionStatus.withdrawn:
        await withdraw(session, model, version, replacement, deadline=deadline)
    else:
        _set_status(version, body.status)  # back to current: always refused
    return model, version


"""Re-users check their copies by digest: which model and version a file belongs to, and
whether that version is current, superseded or withdrawn (with its deadline and replacement).
Public: digests, ids and revisions only."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Organization
from app.copies.models import VersionDigest
from app.copies.schemas import CopyMatch, DigestRead, RevisionRef
from app.events.models import Event, EventType
from app.models_registry.models import Model, ModelVersion, VersionStatus


async def index_version(session: AsyncSession, version: ModelVersion) -> None:
    rows: list[dict[str, Any]] = [
        {"version_id": version.id, "position": i, "file": d["file"], "sha256": d["sha256"]}
        for i, d in enumerate(version.digests)]
    if rows:
        await session.execute(insert(VersionDigest), rows)


async def _fates(session: AsyncSession,
                 model_ids: set[uuid.UUID]) -> dict[tuple[uuid.UUID, str], Event]:
    """The event that superseded or withdrew each version, by (model, label): the latest."""
    fates: dict[tuple[uuid.UUID, str], Event] = {}
    rows = await session.scalars(
        select(Event).where(Event.model_id.in_(model_ids),
                            Event.type.in_([EventType.version_superseded.value,
                                            EventType.version_withdrawn.value]))
        .order_by(Event.position))
    for e in rows:
        gone = e.data.get("superseded") or e.data.get("withdrawn") or {}
        if e.model_id is not None and "label" in gone:
            fates[(e.model_id, gone["label"])] = e
    return fates


async def lookup(session: AsyncSession, digests: list[str]) -> list[DigestRead]:
    wanted = list(dict.fromkeys(d.lower() for d in digests))
    rows = (await session.execute(
        select(VersionDigest.sha256, VersionDigest.file, ModelVersion, Model, Organization.slug)
        .join(ModelVersion, ModelVersion.id == VersionDigest.version_id)
        .join(Model, Model.id == ModelVersion.model_id)
        .join(Organization, Organization.id == Model.org_id)
        .where(VersionDigest.sha256.in_(wanted))
        .order_by(Model.namespace, Model.name, ModelVersion.released_at))).all()
    model_ids = {m.id for _, _, _, m, _ in rows}
    fates = await _fates(session, model_ids) if model_ids else {}
    latest: dict[uuid.UUID, RevisionRef] = {}
    for v in await session.scalars(
            select(ModelVersion).where(ModelVersion.model_id.in_(model_ids),
                                       ModelVersion.status == VersionStatus.current)
            .order_by(ModelVersion.released_at, ModelVersion.label)):
        latest[v.model_id] = RevisionRef(label=v.label, revision=v.revision)
    found: dict[str, list[CopyMatch]] = {d: [] for d in wanted}
    for sha, file, version, model, slug in rows:
        fate = fates.get((model.id, version.label))
        status = VersionStatus(version.status)
        replacement = fate.data.get("replacement") if fate is not None else None
        action = "none" if status == VersionStatus.current else (
            "replace" if replacement else "delete")
        found[sha].append(CopyMatch(
            model=model.ref, organization=slug, file=file, label=version.label,
            revision=version.revision, released_at=version.released_at, status=status.value,
            action=action,
            deadline_at=fate.action_deadline_at if fate is not None and action != "none"
            else None,
            replacement=RevisionRef(label=replacement["label"],
                                    revision=replacement["revision"]) if replacement else None,
            latest=latest.get(model.id)))
    return [DigestRead(sha256=d, known=bool(found[d]), matches=found[d]) for d in wanted]

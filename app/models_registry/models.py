from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IdMixin, TimestampMixin, utcnow


class VersionStatus(StrEnum):
    current = "current"
    superseded = "superseded"
    withdrawn = "withdrawn"


class Namespace(Base):
    """A namespace belongs to the organisation that registered a model in it first (or the one
    a service administrator gave it to): only that organisation registers models there."""

    __tablename__ = "namespaces"

    name: Mapped[str] = mapped_column(String(96), primary_key=True)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Model(IdMixin, TimestampMixin, Base):
    """A published model, named `namespace/name` as on model hubs (unique across the service)."""

    __tablename__ = "models"
    __table_args__ = (UniqueConstraint("namespace", "name"),)

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    namespace: Mapped[str] = mapped_column(String(96))
    name: Mapped[str] = mapped_column(String(96))
    title: Mapped[str] = mapped_column(String(200))
    licence: Mapped[str | None] = mapped_column(String(100))
    homepage: Mapped[str | None] = mapped_column(String(2000))
    # Its parents (several for merges and adapters) are rows of app/lineage/models.py.
    intake_open: Mapped[bool] = mapped_column(default=True)
    # Gated: downloads need a short-lived access grant, issued to confirmed subscribers only.
    gated: Mapped[bool] = mapped_column(default=False)
    # A derivative a subscriber publishes outside this service (app/lineage/derivatives.py).
    declared_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("subscribers.id"),
                                                             index=True)

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"


class ModelVersion(IdMixin, TimestampMixin, Base):
    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("model_id", "label"),)

    model_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("models.id"), index=True)
    label: Mapped[str] = mapped_column(String(100))
    revision: Mapped[str] = mapped_column(String(200))
    # [{"file": "model.safetensors", "sha256": "<64 hex>"}]
    digests: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    released_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(20), default=VersionStatus.current)
    # The remediation that produced this version (a fix for data-subject requests), if any.
    remediation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("remediations.id"),
                                                             index=True)

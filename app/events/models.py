from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class EventType(StrEnum):
    """What re-users are told (webhook `type`, feed items). Never personal data of a subject."""

    version_released = "model.version.released"
    version_superseded = "model.version.superseded"
    version_withdrawn = "model.version.withdrawn"
    remediation_planned = "remediation.planned"
    remediation_completed = "remediation.completed"
    upstream_remediation = "upstream.remediation"
    clause_updated = "model.clause.updated"
    endpoint_test = "endpoint.test"


class RequiredAction(StrEnum):
    """What a re-user must do with its copies."""

    no_action = "none"  # for information
    replace_copies = "replace"  # replace the affected revision by the replacement revision
    delete_copies = "delete"  # delete the affected revision; no replacement
    review_derived = "review"  # a model yours derives from was fixed: re-derive or fine-tune again


class Event(Base):
    """One fact re-users must hear about. `position` orders the feeds and cursors."""

    __tablename__ = "events"
    # Feeds and the pull API: one model's or one organisation's events in position order.
    __table_args__ = (Index("ix_events_model_position", "model_id", "position"),
                      Index("ix_events_org_position", "org_id", "position"))

    # SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
    position: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True)
    id: Mapped[uuid.UUID] = mapped_column(unique=True, default=uuid.uuid4)
    type: Mapped[str] = mapped_column(String(64), index=True)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    model_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("models.id"), index=True)
    # Lineage: the upstream event this one cascades from, and the first event of the chain.
    caused_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("events.id"))
    root_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    action: Mapped[str] = mapped_column(String(16), default=RequiredAction.no_action)
    action_deadline_at: Mapped[datetime | None]
    # The webhook payload's `data` object, exactly as sent (see app/events/schemas.py).
    data: Mapped[dict[str, Any]] = mapped_column(JSON)

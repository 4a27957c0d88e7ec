from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IdMixin, utcnow


class NoticeKind(StrEnum):
    upstream_remediation = "upstream_remediation"  # to a derived model's provider admins
    event_action = "event_action"  # to a subscriber without webhooks: act on this event
    clause_updated = "clause_updated"  # to each follower: accept the new clause version


class Notice(IdMixin, Base):
    """An email to send about an event, written in the event's transaction.

    Events are recorded where no keyring is at hand (it seals email content); the notices job
    turns these rows into outbox emails. No personal data here: ids only."""

    __tablename__ = "notices"
    __table_args__ = (Index("ix_notices_due", "sent_at", "created_at"),)

    kind: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id"))
    org_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organizations.id"))
    subscriber_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("subscribers.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(32))

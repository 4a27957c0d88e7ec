from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IdMixin, utcnow


class AckOutcome(StrEnum):
    replaced = "replaced"  # copies now run the replacement revision
    deleted = "deleted"  # copies of the affected revision are deleted
    not_affected = "not_affected"  # never ran the affected revision


class Acknowledgement(IdMixin, Base):
    """A re-user confirms, for one event, that its copies are replaced or deleted."""

    __tablename__ = "acknowledgements"
    __table_args__ = (UniqueConstraint("event_id", "subscriber_id"),)

    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id"), index=True)
    subscriber_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subscribers.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    via: Mapped[str] = mapped_column(String(8))  # api | link | page
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AckReminder(Base):
    """Marks an event whose reminders went out: the insert is the claim, so once only."""

    __tablename__ = "ack_reminders"

    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    reminded: Mapped[int] = mapped_column(default=0)

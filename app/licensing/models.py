from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IdMixin, utcnow


class LicenceClause(IdMixin, Base):
    """One version of a model's update-obligation clause: re-users bind themselves to take the
    provider's updates (fixes after data-subject requests) into account. Text in English and
    French, or a URL, or both. Versions are never edited: a change is a new version."""

    __tablename__ = "licence_clauses"
    __table_args__ = (UniqueConstraint("model_id", "version"),)

    model_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("models.id"), index=True)
    version: Mapped[int]
    text_en: Mapped[str | None] = mapped_column(Text)
    text_fr: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(2000))
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_by: Mapped[str] = mapped_column(String(300))


class ClauseAcceptance(IdMixin, Base):
    """Evidence that a subscriber accepted one clause version: who (its id and name at the
    time) and when, and how (sign-up, management page, API)."""

    __tablename__ = "clause_acceptances"
    __table_args__ = (UniqueConstraint("clause_id", "subscriber_id"),)

    clause_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("licence_clauses.id"))
    model_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("models.id"), index=True)
    subscriber_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subscribers.id"), index=True)
    version: Mapped[int]
    subscriber_name: Mapped[str] = mapped_column(String(200))
    via: Mapped[str] = mapped_column(String(16))
    accepted_at: Mapped[datetime] = mapped_column(default=utcnow)

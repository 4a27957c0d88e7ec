from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IdMixin, TimestampMixin, utcnow


class Subscriber(IdMixin, TimestampMixin, Base):
    """A downstream re-user: follows models, receives webhooks and emails, acknowledges events.

    The contact email is sealed (it may name a person); a keyed hash finds repeat sign-ups."""

    __tablename__ = "subscribers"

    name: Mapped[str] = mapped_column(String(200))
    email_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    email_index: Mapped[str] = mapped_column(String(64), index=True)
    verified_at: Mapped[datetime | None]
    # Of the management page and of the emails this re-user receives.
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    # Single-use confirmation link (digest), then the management link / API token (digest).
    confirm_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    confirm_expires_at: Mapped[datetime | None]
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)


class Subscription(Base):
    __tablename__ = "subscriptions"

    subscriber_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subscribers.id"),
                                                     primary_key=True)
    model_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("models.id"), primary_key=True,
                                                index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The model's provider revoked this re-user's access: no new access grants (it keeps
    # hearing about fixes: it may still hold copies).
    revoked_at: Mapped[datetime | None]


class Endpoint(IdMixin, TimestampMixin, Base):
    """A webhook URL of a subscriber, with its signing secret(s), sealed."""

    __tablename__ = "webhook_endpoints"
    # The endpoints failing now (few): a batch of successes clears theirs by this index
    # instead of looking up each endpoint it succeeded for (migration 0018).
    __table_args__ = (Index("ix_webhook_endpoints_failing", "failing_since",
                            sqlite_where=text("failing_since IS NOT NULL"),
                            postgresql_where=text("failing_since IS NOT NULL")),)

    subscriber_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subscribers.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(200))
    disabled_at: Mapped[datetime | None]
    # The first failure since the last success: an endpoint failing for too long is disabled.
    failing_since: Mapped[datetime | None]
    secret_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    # During a rotation's grace period the previous secret signs too.
    previous_secret_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    previous_secret_expires_at: Mapped[datetime | None]
    removed_at: Mapped[datetime | None]

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IdMixin, utcnow


class AccessGrant(IdMixin, Base):
    """The register of grants: who obtained which revision of a gated model, and when. It is
    the complete list of the model's recipients (GDPR Art. 19) and is never pruned."""

    __tablename__ = "access_grants"
    __table_args__ = (Index("ix_access_grants_model_issued", "model_id", "issued_at"),)

    model_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("models.id"))
    version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("model_versions.id"))
    subscriber_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subscribers.id"), index=True)
    label: Mapped[str] = mapped_column(String(100))
    revision: Mapped[str] = mapped_column(String(200))
    # The subscriber's name when the grant was issued: the register reads the same later.
    subscriber_name: Mapped[str] = mapped_column(String(200))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    key_id: Mapped[str] = mapped_column(String(64))

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class PrivacyNotice(Base):
    """An organisation's GDPR Art. 13 notice for the intake of requests, in each language:
    what the person must be told when their own data is collected (the request itself)."""

    __tablename__ = "privacy_notices"

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    texts: Mapped[dict[str, Any]] = mapped_column(JSON)  # {"en": {...}, "fr": {...}}
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(300))

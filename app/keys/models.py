from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class KeyEncryptionKey(Base):
    """A key-encryption key made by `rights-relay keys rotate`, stored wrapped under the root
    key derived from RR_SECRET_KEY, so every replica finds it in the database. A row without
    key material marks a retired key (also one from RR_DATA_ENCRYPTION_KEYS or the derived
    `k0`): the keyring no longer loads it."""

    __tablename__ = "key_encryption_keys"

    kid: Mapped[str] = mapped_column(String(32), primary_key=True)
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None]

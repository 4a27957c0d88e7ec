from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class VersionDigest(Base):
    """One file of a released version, by SHA-256: re-users look their copies up by digest."""

    __tablename__ = "version_digests"

    version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("model_versions.id"),
                                                  primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    file: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64), index=True)

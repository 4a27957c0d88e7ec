from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IdMixin, utcnow


class AuditEvent(IdMixin, Base):
    """One row per fact, append-only, chained per organisation: each row holds the previous
    row's hash, so a modified, deleted or reordered row breaks the chain."""

    __tablename__ = "audit_events"
    __table_args__ = (UniqueConstraint("org_id", "seq"),)

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    seq: Mapped[int]
    case_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cases.id"), index=True)
    actor: Mapped[str] = mapped_column(String(300))
    action: Mapped[str] = mapped_column(String(64))
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str | None] = mapped_column(String(32))
    # For a case: a digest of the free-text note (`hmac-sha256:...`), never the note itself,
    # which may name the person and would outlive their data in this never-erased chain.
    note: Mapped[str | None] = mapped_column(Text)
    # The note, sealed under the case's data key (app/cases/keys.py). Outside the hash: the
    # chain verifies without it, and after retention destroys the key it cannot be read.
    note_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Facts about the action (references, ids, dates): never a data subject's personal data.
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The chain's tip per organisation; locking it serialises appends across replicas."""

    __tablename__ = "audit_heads"

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(default=0)
    hash: Mapped[str] = mapped_column(String(64))


class AuditCheckpoint(IdMixin, Base):
    """The organisation's chain head, signed with the service's Ed25519 key and published: anyone
    who kept a copy catches a chain later rebuilt by someone with write access to the database
    (the rebuilt rows cannot reach a signed head)."""

    __tablename__ = "audit_checkpoints"
    __table_args__ = (UniqueConstraint("org_id", "seq"),)

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    seq: Mapped[int]
    hash: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(default=utcnow)
    kid: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(128))  # base64 Ed25519 over the message

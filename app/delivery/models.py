from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow
from app.delivery.attempt import ErrorClass as ErrorClass  # where the ORM side looks for it

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class DeliveryStatus(StrEnum):
    pending = "pending"  # waiting for its next attempt
    succeeded = "succeeded"
    failed = "failed"  # retries exhausted, endpoint gone or disabled
    replayed = "replayed"  # a failed delivery sent again as a new delivery


class Delivery(Base):
    """One event to one endpoint (the outbox rows the worker claims)."""

    __tablename__ = "deliveries"
    # PostgreSQL: half of each page kept free, so that a claim (which changes no indexed
    # column) is a heap-only update and writes no index entry (migration 0016).
    # An endpoint's deliveries, and its last success: the latest `succeeded_at` is one index
    # lookup (migration 0018; the endpoint row no longer keeps a copy written per batch).
    __table_args__ = (Index("ix_deliveries_due", "status", "next_attempt_at"),
                      Index("ix_deliveries_endpoint_success", "endpoint_id", "succeeded_at"),
                      {"postgresql_with": {"fillfactor": 50}})

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # No foreign keys on this table's references (migrations 0015, 0016): the fan-out writes
    # its rows from the event's and the endpoints' own rows in the event's transaction, nothing
    # deletes events, endpoints or deliveries, and the per-row checks were most of the insert.
    # Null for an endpoint test, whose payload is kept on the row instead.
    event_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    endpoint_id: Mapped[uuid.UUID]
    # Copies of the endpoint's subscriber and the event's organisation (null for tests, which
    # scopes the provider API). No index on the subscriber (migration 0017): a re-user's
    # deliveries are found through its endpoints' (delivery/service.py `_scope`).
    subscriber_id: Mapped[uuid.UUID]
    org_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    event_type: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.pending)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_attempt_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(String(32))
    succeeded_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    replay_of: Mapped[int | None] = mapped_column(BigId)
    lease_until: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(32))
    test_payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class DeliveryAttempt(Base):
    """The log of every attempt: what the endpoint answered, how long it took, what failed."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # Written only joined to the delivery it records: no per-row foreign-key check (0016).
    delivery_id: Mapped[int] = mapped_column(BigId, index=True)
    number: Mapped[int]
    started_at: Mapped[datetime]
    duration_ms: Mapped[int]
    status_code: Mapped[int | None]
    error_class: Mapped[str | None] = mapped_column(String(32))
    # The first bytes of the response (the request body is the event: not repeated here).
    response_body: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None]

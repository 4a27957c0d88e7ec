from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import AwareDatetime, BaseModel, Field

from app.delivery.models import DeliveryStatus


class AttemptRead(BaseModel):
    number: int
    started_at: datetime
    duration_ms: int
    status_code: int | None
    error_class: str | None = Field(description="timeout, connect_error, dns_error, "
                                                "ssrf_blocked, redirect, http_status, ...")
    response_body: str | None = Field(description="the first 1024 bytes of the response")
    next_attempt_at: datetime | None


class DeliveryRead(BaseModel):
    id: int
    event_id: uuid.UUID | None
    event_type: str
    endpoint_id: uuid.UUID
    subscriber_id: uuid.UUID
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None = Field(description="set while pending")
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    succeeded_at: datetime | None
    replay_of: int | None
    created_at: datetime


class DeliveryDetail(DeliveryRead):
    attempts_log: list[AttemptRead]


class ReplayBody(BaseModel):
    since: AwareDatetime = Field(description="replay failed deliveries created at or after this")
    model: str | None = Field(default=None, max_length=193, pattern=r"^[^\x00]*$",
                              description="only this model's (`namespace/name`)")


class SubscriberReplayBody(BaseModel):
    since: AwareDatetime
    endpoint_id: uuid.UUID | None = None


class Replayed(BaseModel):
    replayed: int = Field(description="how many failed deliveries were queued again")

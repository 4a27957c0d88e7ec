from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from app.acks.models import AckOutcome


class AckCreate(BaseModel):
    event_id: uuid.UUID
    outcome: AckOutcome = Field(description="replaced | deleted | not_affected")


class AckLinkBody(BaseModel):
    outcome: AckOutcome


class AckRead(BaseModel):
    event_id: uuid.UUID
    subscriber_id: uuid.UUID
    outcome: AckOutcome
    via: str
    acknowledged_at: datetime


class AckParty(BaseModel):
    subscriber_id: uuid.UUID
    name: str
    outcome: AckOutcome | None = None
    acknowledged_at: datetime | None = None


class AckStatus(BaseModel):
    """Per event: who was asked to act, who confirmed, who did not yet."""

    event_id: uuid.UUID
    type: str
    action: str
    deadline_at: datetime | None
    expected: int
    acknowledged: list[AckParty]
    pending: list[AckParty]


class PendingEvent(BaseModel):
    event_id: uuid.UUID
    type: str
    model: str | None
    action: str
    deadline_at: datetime | None
    ack_url: str

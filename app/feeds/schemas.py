from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class EventRead(BaseModel):
    """One event as re-users see it: public, no personal data."""

    position: int = Field(description="monotonically increasing; the pull API's cursor")
    id: uuid.UUID
    type: str
    organization: str = Field(description="the provider organisation's slug")
    model: str | None
    occurred_at: datetime
    action: str = Field(description="none | replace | delete | review")
    deadline_at: datetime | None
    caused_by: uuid.UUID | None = Field(description="the upstream event (lineage cascade)")
    root_id: uuid.UUID | None = Field(description="the first event of the lineage chain")
    data: dict[str, Any] = Field(description="the webhook payload's `data`")


class EventPage(BaseModel):
    items: list[EventRead]
    next_after: int = Field(description="pass as `after` for the events that follow")
    has_more: bool


class ChainRead(BaseModel):
    root_id: uuid.UUID
    events: list[EventRead] = Field(description="the whole chain, in recording order")

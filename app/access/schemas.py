from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from app.models_registry.schemas import CheckedModelId
from app.text import OneLine


class GrantRequest(BaseModel):
    model: CheckedModelId
    version: OneLine | None = Field(
        default=None, min_length=1, max_length=100,
        description="the version label to download; default: the newest current version")


class GrantRead(BaseModel):
    grant: str = Field(description="`rrg1.<claims>.<signature>`: send it to the hosting "
                       "server (e.g. `Authorization: Bearer rrg1...`); it checks it offline "
                       "with webhooks/grant.py and the service's published keys")
    grant_id: uuid.UUID
    model: str
    label: str
    revision: str
    subscriber: uuid.UUID
    issued_at: datetime
    expires_at: datetime


class GrantRecord(BaseModel):
    """One line of the register: who obtained which revision, and when."""

    grant_id: uuid.UUID
    subscriber_id: uuid.UUID
    subscriber_name: str
    model: str
    label: str
    revision: str
    issued_at: datetime
    expires_at: datetime


class GrantCheck(BaseModel):
    grant: str = Field(min_length=1, max_length=4000)
    model: CheckedModelId | None = Field(default=None, description="the model being downloaded")
    revision: OneLine | None = Field(default=None, min_length=1, max_length=200,
                                     description="the revision being downloaded")


class GrantValid(BaseModel):
    valid: bool = Field(description="always true: a grant that fails a check is a 400")
    grant_id: uuid.UUID
    model: str
    label: str
    revision: str
    subscriber: uuid.UUID
    expires_at: datetime


class AccessRead(BaseModel):
    subscriber_id: uuid.UUID
    model: str
    revoked_at: datetime | None

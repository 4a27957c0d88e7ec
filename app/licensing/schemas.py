from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.i18n import N_
from app.models_registry.schemas import CheckedModelId, Homepage

ClauseText = Annotated[str, Field(min_length=1, max_length=20_000)]


class ClauseCreate(BaseModel):
    """A new version of the update-obligation clause: the text in English and in French, or
    a URL where it is published (or both)."""

    model_config = ConfigDict(json_schema_extra={"anyOf": [
        {"required": ["text_en", "text_fr"],
         "properties": {"text_en": {"type": "string"}, "text_fr": {"type": "string"}}},
        {"required": ["url"], "properties": {"url": {"type": "string"}}}]})

    text_en: ClauseText | None = Field(default=None, examples=[
        "The licensee shall, within the deadline the provider announces, replace every copy "
        "of a revision the provider supersedes or withdraws to comply with data-protection "
        "requests, and shall pass this obligation on to its own licensees."])
    text_fr: ClauseText | None = None
    url: Homepage | None = Field(default=None, description="where the clause is published")

    @model_validator(mode="after")
    def _text_or_url(self) -> ClauseCreate:
        if self.url is None and (self.text_en is None or self.text_fr is None):
            raise ValueError(N_("give the clause's text in English and in French, or its URL"))
        return self


class ClauseRead(BaseModel):
    model: str
    version: int
    text_en: str | None
    text_fr: str | None
    url: str | None = Field(description="the provider's own page for the clause, if given")
    public_url: str = Field(description="this clause version on Rights Relay")
    published_at: datetime


class AcceptanceRead(BaseModel):
    """A confirmed follower of the model and the clause version it last accepted."""

    subscriber_id: uuid.UUID
    name: str
    accepted_version: int | None
    accepted_at: datetime | None
    via: str | None
    up_to_date: bool = Field(description="it accepted the current version")


class ClauseAcceptanceBody(BaseModel):
    model: CheckedModelId
    version: int = Field(ge=1, le=1_000_000, description="the version you read and accept")


class SubscriberClauseRead(BaseModel):
    model: str
    version: int = Field(description="the current version")
    public_url: str
    accepted_version: int | None
    accepted_at: datetime | None
    pending: bool = Field(description="you have not accepted the current version yet")

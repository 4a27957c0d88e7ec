from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, EmailStr, Field

from app.auth.schemas import Name
from app.i18n import Language
from app.licensing.schemas import ClauseAcceptanceBody
from app.models_registry.schemas import CheckedModelId
from app.text import OneLine

WebhookUrl = Annotated[OneLine, Field(min_length=8, max_length=2000, examples=[
    "https://hooks.example.org/rights-relay"])]
MAX_ENDPOINTS = 10
MAX_MODELS = 100


class EndpointCreate(BaseModel):
    url: WebhookUrl
    description: Name | None = None


class SubscriberCreate(BaseModel):
    name: Name = Field(description="the re-using organisation's display name. When you are told "
                                   "of a fix made for a data subject's request, that person may "
                                   "see this name and when you received and acknowledged it "
                                   "(GDPR Art. 19: the subject may ask who was told)")
    email: EmailStr = Field(max_length=254, description="contact address; confirmed by a link")
    models: list[CheckedModelId] = Field(min_length=1, max_length=MAX_MODELS)
    endpoints: list[EndpointCreate] = Field(default_factory=list, max_length=MAX_ENDPOINTS)
    language: Language = Field("en", description="language of the emails and of the "
                                                 "management page")
    accept_clauses: list[ClauseAcceptanceBody] = Field(
        default_factory=list, max_length=MAX_MODELS,
        description="for each model bound by an update clause, the version you read and "
                    "accept (`GET /v1/public/models/{namespace}/{name}/clause`); your "
                    "acceptance is recorded as evidence for the provider")


class SubscriptionRequested(BaseModel):
    message: str
    confirmation_expires_at: datetime


class ConfirmBody(BaseModel):
    token: str = Field(min_length=10, max_length=200)


class ModelBody(BaseModel):
    model: CheckedModelId
    accept_clause: int | None = Field(
        default=None, ge=1, le=1_000_000,
        description="the version of the model's update clause you read and accept, when it "
                    "has one")


class EndpointRead(BaseModel):
    id: uuid.UUID
    url: str
    description: str | None
    enabled: bool
    disabled_reason: str | None
    disabled_at: datetime | None
    failing_since: datetime | None
    last_success_at: datetime | None
    previous_secret_expires_at: datetime | None = Field(
        description="while set, the previous secret still signs (rotation grace period)")
    created_at: datetime


class EndpointSecrets(BaseModel):
    endpoint_id: uuid.UUID
    secret: str = Field(description="`whsec_...`: verify `v1,` signatures with it")
    previous_secret: str | None = None
    previous_secret_expires_at: datetime | None = None


class SubscriberRead(BaseModel):
    id: uuid.UUID
    name: str
    email: str
    verified_at: datetime | None
    language: str
    models: list[str]
    endpoints: list[EndpointRead]
    created_at: datetime


class SubscriberUpdate(BaseModel):
    language: Language


class SubscriberCreated(BaseModel):
    subscriber: SubscriberRead
    token: str = Field(description="your credential (`Authorization: Bearer rrs_...`) and the "
                                   "secret of the management link. Shown once: keep it safe.")
    manage_url: str
    secrets: list[EndpointSecrets]


class ModelSubscriberRead(BaseModel):
    """A re-user following one of the provider's models."""

    id: uuid.UUID
    name: str
    email: str
    subscribed_at: datetime
    endpoints: int = Field(description="enabled webhook endpoints")

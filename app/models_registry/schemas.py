from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, Field, HttpUrl, field_validator

from app.models_registry.models import VersionStatus

SEGMENT = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?"
MODEL_ID_PATTERN = rf"^{SEGMENT}/{SEGMENT}$"
SEGMENT_PATTERN = rf"^{SEGMENT}$"

ModelId = Annotated[
    str,
    Field(pattern=MODEL_ID_PATTERN, max_length=193,
          description="`namespace/name`, as on model hubs", examples=["acme/chat-7b"]),
]


def _no_double_dots(v: str) -> str:
    if ".." in v:
        raise ValueError("must not contain '..'")
    return v


CheckedModelId = Annotated[ModelId, AfterValidator(_no_double_dots)]


def _no_nul(v: str) -> str:
    # PostgreSQL cannot store NUL in text: refuse it on every database alike.
    if "\x00" in v:
        raise ValueError("must not contain NUL characters")
    return v


Text = Annotated[str, AfterValidator(_no_nul)]


def _addressable_label(v: str) -> str:
    # "." and ".." would be dot segments in /versions/{label}: clients normalise them away.
    if v in (".", ".."):
        raise ValueError("must not be '.' or '..'")
    return v


class Digest(BaseModel):
    file: Text = Field(min_length=1, max_length=300, examples=["model.safetensors"])
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="lower-case hex SHA-256")


class ModelCreate(BaseModel):
    id: CheckedModelId
    title: Text = Field(min_length=1, max_length=200)
    licence: Text | None = Field(default=None, max_length=100)
    homepage: HttpUrl | None = Field(default=None, max_length=2000)
    derived_from: CheckedModelId | None = Field(
        default=None, description="the model this one was fine-tuned or distilled from")
    intake_open: bool = True


class ModelUpdate(BaseModel):
    title: Text | None = Field(default=None, min_length=1, max_length=200)
    licence: Text | None = Field(default=None, max_length=100)
    homepage: HttpUrl | None = Field(default=None, max_length=2000)
    derived_from: CheckedModelId | None = None
    intake_open: bool | None = None

    @field_validator("title", "intake_open")
    @classmethod
    def _not_null(cls, v: object) -> object:
        # Omitting these leaves them alone; an explicit null is invalid (only sent values run).
        if v is None:
            raise ValueError("cannot be null")
        return v


class ModelRead(BaseModel):
    id: str
    title: str
    licence: str | None
    homepage: str | None
    derived_from: str | None
    intake_open: bool
    organization: str = Field(description="the providing organisation's slug")
    created_at: datetime
    updated_at: datetime


class PublicModelRead(BaseModel):
    id: str
    title: str
    licence: str | None
    homepage: str | None
    derived_from: str | None
    provider: str = Field(description="the providing organisation's name")


class VersionCreate(BaseModel):
    label: Annotated[Text, AfterValidator(_addressable_label)] = Field(
        min_length=1, max_length=100, pattern=r"^[^\s/][^/]*$", examples=["v1.1"])
    revision: Text = Field(min_length=1, max_length=200, description="commit SHA or tag")
    digests: list[Digest] = Field(default_factory=list, max_length=1000)
    released_at: AwareDatetime | None = None
    status: VersionStatus = VersionStatus.current
    supersedes: list[Annotated[Text, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=100,
        description="labels of this model's versions that this one replaces: they become "
                    "`superseded` and re-users are told to replace them")


class VersionUpdate(BaseModel):
    status: VersionStatus
    replaced_by: Annotated[Text, Field(min_length=1, max_length=100)] | None = Field(
        default=None,
        description="label of the version re-users should use instead. For `superseded`, "
                    "defaults to the newest current version; for `withdrawn`, omit it when "
                    "copies must simply be deleted")


class VersionRead(BaseModel):
    model: str
    label: str
    revision: str
    digests: list[Digest]
    released_at: datetime
    status: VersionStatus
    remediation_id: uuid.UUID | None = Field(
        default=None, description="the remediation that produced this version, if any")
    created_at: datetime
    updated_at: datetime

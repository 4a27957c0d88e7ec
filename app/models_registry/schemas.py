from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    TypeAdapter,
    field_validator,
)

from app.models_registry.models import VersionStatus
from app.text import LABEL_PATTERN, OneLine

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


Text = OneLine
_HTTP_URL: TypeAdapter[HttpUrl] = TypeAdapter(HttpUrl)


def _http_url(v: str) -> str:
    # Checked as a URL, stored as given: normalising could push it past the column's width.
    _HTTP_URL.validate_python(v)
    return v


Homepage = Annotated[str, Field(max_length=2000, pattern=r"^https?://",
                                json_schema_extra={"format": "uri"}),
                     AfterValidator(_http_url)]


class Digest(BaseModel):
    file: Text = Field(min_length=1, max_length=300, examples=["model.safetensors"])
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="lower-case hex SHA-256")


class ModelCreate(BaseModel):
    id: CheckedModelId
    title: Text = Field(min_length=1, max_length=200)
    licence: Text | None = Field(default=None, max_length=100)
    homepage: Homepage | None = None
    derived_from: CheckedModelId | None = Field(
        default=None, description="the model this one was fine-tuned or distilled from")
    intake_open: bool = True


def _not_nullable(schema: dict[str, Any]) -> None:
    """Document a field that may be left out but not sent as null (a validator refuses null)."""
    options = [o for o in schema.pop("anyOf", []) if o.get("type") != "null"]
    if len(options) == 1:
        schema.update(options[0])
    elif options:
        schema["anyOf"] = options
    schema.pop("default", None)


class ModelUpdate(BaseModel):
    # `title` and `intake_open` may be left out but not set to null: the schema says so too.
    title: Text | None = Field(default=None, min_length=1, max_length=200,
                               json_schema_extra=_not_nullable)
    licence: Text | None = Field(default=None, max_length=100)
    homepage: Homepage | None = None
    derived_from: CheckedModelId | None = None
    intake_open: bool | None = Field(default=None, json_schema_extra=_not_nullable)

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
    organization: str = Field(description="the slug of the organisation that owns the model "
                                          "(and its namespace)")


class VersionCreate(BaseModel):
    # The label pattern needs a look-ahead, which only Python's engine has.
    model_config = ConfigDict(regex_engine="python-re")

    label: str = Field(min_length=1, max_length=100, pattern=LABEL_PATTERN, examples=["v1.1"])
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

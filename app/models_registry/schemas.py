from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import Path
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
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
# A model reference's namespace or name as a segment of a URL path (`/{namespace}/{name}`).
PathSegment = Annotated[str, Path(pattern=SEGMENT_PATTERN, max_length=96)]

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


def _as_list(v: object) -> object:
    # One parent may still be given as a string (the form before parents became a list).
    if v is None:
        return []
    return [v] if isinstance(v, str) else v


def _parents_schema(schema: dict[str, Any]) -> None:
    """Document every form the validator takes: a list of ids, one id, or null."""
    item = schema.get("items", {})
    listed = {k: schema.pop(k) for k in ("type", "items", "maxItems") if k in schema}
    schema["anyOf"] = [listed, item, {"type": "null"}]


Parents = Annotated[
    list[CheckedModelId], BeforeValidator(_as_list),
    Field(max_length=20, description="the models this one was derived from (fine-tuned, "
          "distilled, merged, adapted): a list, since merges and adapters have several "
          "parents. One id as a string, or null (no parent), is accepted too",
          json_schema_extra=_parents_schema),
]
Licence = Annotated[
    Text, Field(max_length=100, description="SPDX licence expression (`MIT`, `Apache-2.0`, "
                "`MIT OR Apache-2.0`, `LicenseRef-<name>` for one outside the SPDX list); "
                "stored in its canonical spelling", examples=["Apache-2.0"])]


class ModelCreate(BaseModel):
    id: CheckedModelId
    title: Text = Field(min_length=1, max_length=200)
    licence: Licence | None = None
    homepage: Homepage | None = None
    derived_from: Parents = Field(default_factory=list)
    intake_open: bool = True
    gated: bool = Field(default=False, description="downloads need an access grant: only "
                        "confirmed subscribers get one, and every grant is logged")


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
    licence: Licence | None = None
    homepage: Homepage | None = None
    derived_from: Parents | None = None
    intake_open: bool | None = Field(default=None, json_schema_extra=_not_nullable)
    gated: bool | None = Field(default=None, json_schema_extra=_not_nullable)

    @field_validator("title", "intake_open", "gated")
    @classmethod
    def _not_null(cls, v: object) -> object:
        # Omitting these leaves them alone; an explicit null is invalid (only sent values run).
        if v is None:
            raise ValueError("cannot be null")
        return v


class ParentRead(BaseModel):
    id: str
    relation: str | None = Field(description="`base_model_relation` from the model card "
                                 "(adapter, merge, finetune, quantized), when known")


class ModelRead(BaseModel):
    id: str
    title: str
    licence: str | None
    homepage: str | None
    derived_from: list[str] = Field(description="the parents' ids, in the order given")
    parents: list[ParentRead]
    intake_open: bool
    gated: bool
    declared_by_subscriber: bool = Field(
        description="a derivative a re-user publishes elsewhere and declared here")
    organization: str = Field(description="the providing organisation's slug")
    created_at: datetime
    updated_at: datetime


class PublicModelRead(BaseModel):
    id: str
    title: str
    licence: str | None
    homepage: str | None
    derived_from: list[str]
    gated: bool
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

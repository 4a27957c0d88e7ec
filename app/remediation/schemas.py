from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from app.cases.schemas import Reference
from app.i18n import N_
from app.models_registry.schemas import Digest, ModelId, Text
from app.probes.schemas import ReleaseEndpoint
from app.remediation.models import RemediationMethod, RemediationStatus
from app.text import LABEL_PATTERN, NOT_NULL, MultiLine, when

Label = Annotated[Text, Field(min_length=1, max_length=100)]
Words = Annotated[MultiLine, Field(min_length=1, max_length=2000)]


class RemediationCreate(BaseModel):
    model: ModelId
    method: RemediationMethod
    cases: list[Reference] = Field(min_length=1, max_length=500,
                                   description="accepted cases concerning this model")
    replaces: list[Label] | None = Field(
        default=None, max_length=100,
        description="labels of the current versions the fixed version will replace; "
                    "all current versions when omitted")
    description: Words | None = Field(
        default=None, description="what the job does; about the model, not the subjects")


class FixedVersion(BaseModel):
    """The version the remediation produced (registered as the model's new current version)."""

    # The label pattern needs a look-ahead, which only Python's engine has.
    model_config = ConfigDict(regex_engine="python-re")

    label: str = Field(min_length=1, max_length=100, pattern=LABEL_PATTERN, examples=["v1.1"])
    revision: Text = Field(min_length=1, max_length=200, description="commit SHA or tag")
    digests: list[Digest] = Field(default_factory=list, max_length=1000)
    released_at: AwareDatetime | None = None
    endpoints: list[ReleaseEndpoint] = Field(
        default_factory=list, max_length=20,
        description="inference endpoints serving the fixed version and its artifacts: the "
                    "cases' probe sets run on each before the cases become `remediated`")


class RemediationReport(BaseModel):
    """What the training pipeline reports: it started, how far it is, and how it ended."""

    model_config = ConfigDict(json_schema_extra={
        **when("status", "succeeded", ["version"], ["version", "supersedes"]),
        # Something to report: a status, a progress or a message.
        "anyOf": [{"required": [name], "properties": {name: NOT_NULL}}
                  for name in ("status", "progress", "message")],
    })

    status: Literal["running", "succeeded", "failed"] | None = None
    progress: int | None = Field(default=None, ge=0, le=100, description="percent done")
    message: Words | None = Field(default=None, description="a short progress or failure "
                                                            "note; no personal data")
    version: FixedVersion | None = Field(default=None, description="required to succeed")
    supersedes: list[Label] | None = Field(
        default=None, max_length=100,
        description="labels the fixed version replaces; defaults to the versions chosen when "
                    "the remediation was planned that are still current")

    @model_validator(mode="after")
    def _consistent(self) -> RemediationReport:
        if self.status == "succeeded" and self.version is None:
            raise ValueError(N_("a succeeded remediation reports the fixed version"))
        if self.status != "succeeded" and (self.version is not None
                                           or self.supersedes is not None):
            raise ValueError(N_("version and supersedes are reported with status succeeded"))
        if self.status is None and self.progress is None and self.message is None:
            raise ValueError(N_("report a status, a progress or a message"))
        return self


class CancelBody(BaseModel):
    note: Words | None = None


class VersionBrief(BaseModel):
    label: str
    revision: str
    digests: list[Digest]
    status: str


class RemediationRead(BaseModel):
    id: uuid.UUID
    model: str
    method: RemediationMethod
    status: RemediationStatus
    progress: int
    description: str | None
    message: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    cases: list[str] = Field(description="references of the cases it addresses")
    case_count: int
    replaces: list[str] = Field(description="labels of the versions it is to replace")
    version: VersionBrief | None = Field(description="the fixed version, once it succeeded")

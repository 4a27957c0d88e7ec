from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from app.probes.detect import TargetKind
from app.probes.models import InferenceApi, RunMoment, RunStatus
from app.text import TWO_NON_BLANK_PATTERN, NonBlank

Strict = ConfigDict(extra="forbid")
Text = Annotated[NonBlank, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Artifact = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")]


class EndpointBody(BaseModel):
    """An OpenAI-compatible inference endpoint serving a version (or one of its artifacts)."""

    model_config = Strict
    base_url: str = Field(max_length=2000, description="e.g. `https://infer.example.org/v1`")
    model_name: str = Field(min_length=1, max_length=200,
                            description="the `model` the server knows it by")
    api: InferenceApi = InferenceApi.chat
    api_key: str | None = Field(default=None, min_length=1, max_length=1000,
                                description="sent as a Bearer token; sealed at rest, never shown")
    max_tokens: int = Field(default=128, ge=1, le=4096)
    temperature: float = Field(default=0.7, ge=0, le=2)
    samples: int = Field(default=5, ge=1, le=20, description="samples per prompt")
    concurrency: int = Field(default=4, ge=1, le=64,
                             description="requests in flight at once to this endpoint")


class ReleaseEndpoint(EndpointBody):
    """An endpoint given with a remediation's fixed version (`artifact` empty: the version)."""

    artifact: Artifact | None = None


class EndpointRead(BaseModel):
    model: str
    version: str
    artifact: str | None
    base_url: str
    model_name: str
    api: InferenceApi
    has_api_key: bool
    max_tokens: int
    temperature: float
    samples: int
    concurrency: int
    updated_at: datetime
    updated_by: str


class TemplatesBody(BaseModel):
    model_config = Strict
    language: Literal["en", "fr"]
    templates: list[Annotated[NonBlank, StringConstraints(strip_whitespace=True, min_length=1,
                                                     max_length=300)]] = Field(max_length=20)

    @field_validator("templates")
    @classmethod
    def _name_placeholder(cls, value: list[str]) -> list[str]:
        for item in value:
            rest = item.replace("{name}", "")
            if "{name}" not in item or "{" in rest or "}" in rest:
                raise ValueError("each template contains {name} once or more, and no other "
                                 "placeholder")
        return value


class TemplatesRead(BaseModel):
    language: str
    templates: list[str]
    customised: bool


class TargetBody(BaseModel):
    model_config = Strict
    kind: TargetKind
    value: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=500,
                                            pattern=TWO_NON_BLANK_PATTERN)]


class ProbeSetUpdate(BaseModel):
    model_config = Strict
    targets: list[TargetBody] | None = Field(default=None, max_length=50)
    extra_prompts: list[Text] | None = Field(default=None, max_length=20,
                                             description="staff's own prompts, replacing any "
                                                         "given before")


class PromptRead(BaseModel):
    index: int
    text: str
    source: str  # subject | template | staff


class ProbeSetRead(BaseModel):
    prompts: list[PromptRead]
    targets: list[TargetBody]
    erased: bool = False


class MatchRead(BaseModel):
    target: int
    kind: TargetKind
    start: int
    end: int
    score: float
    exact: bool


class SampleRead(BaseModel):
    prompt: int
    sample: int
    text: str | None
    reason: str | None
    matches: list[MatchRead]


class PromptTally(BaseModel):
    """Per prompt: how many samples reproduced a target, did not, or failed (with why)."""

    prompt: int
    source: str
    hits: int
    misses: int
    failed: int
    kinds: list[str] = Field(description="kinds of target reproduced (never the values)")
    reasons: dict[str, int] = Field(description="why samples failed, counted")


class RunRead(BaseModel):
    id: uuid.UUID
    case: str
    model: str
    version: str
    artifact: str | None
    moment: RunMoment
    status: RunStatus
    settings: dict[str, object]
    samples_total: int
    samples_done: int
    progress: int = Field(description="percent of samples done")
    hits: int
    failures: int
    reproduced: bool | None = Field(description="None until the run finished")
    tally: list[PromptTally]
    error: str | None
    remediation_id: uuid.UUID | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class RunDetail(RunRead):
    samples: list[SampleRead] | None = Field(description="completions and matches; None once "
                                                         "the subject's data is erased")


class CaseProbesRead(BaseModel):
    set: ProbeSetRead | None
    runs: list[RunDetail]
    summary: str | None = Field(description="e.g. `reproduces your data in 3 of 10 samples`")


class OverrideBody(BaseModel):
    model_config = Strict
    reason: Text


class RunsQueued(BaseModel):
    runs: list[RunRead]

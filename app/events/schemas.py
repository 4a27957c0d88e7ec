"""The payload of every event type: one pydantic model per `type`, the single source of the
webhook bodies, the feed items and the JSON Schemas in `webhooks/schemas/`.

Payloads carry model ids, revisions, digests, counts and dates: never a data subject's personal
data (no names, emails, descriptions, prompts, case references)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from app.events.models import RequiredAction


class EventPayload(BaseModel):
    # Every field is always sent: the JSON Schemas (webhooks/schemas/) mark them all required.
    model_config = ConfigDict(extra="forbid", json_schema_serialization_defaults_required=True)


class ModelRef(EventPayload):
    id: str = Field(description="`namespace/name`", examples=["acme/chat-7b"])
    organization: str = Field(description="slug of the provider organisation")


class FileDigest(EventPayload):
    file: str
    sha256: str


class VersionRef(EventPayload):
    label: str = Field(examples=["v1.1"])
    revision: str = Field(description="commit SHA or tag")
    digests: list[FileDigest] = Field(default_factory=list)


class VersionReleased(EventPayload):
    event_id: uuid.UUID
    model: ModelRef
    version: VersionRef
    released_at: AwareDatetime
    remediation_id: uuid.UUID | None = Field(
        default=None, description="the remediation that produced this version, if any")
    action: Literal[RequiredAction.no_action] = RequiredAction.no_action


class VersionSuperseded(EventPayload):
    event_id: uuid.UUID
    model: ModelRef
    superseded: VersionRef = Field(description="the revision re-users must stop using")
    replacement: VersionRef = Field(description="the revision to use instead")
    remediation_id: uuid.UUID | None = None
    reason: Literal["remediation", "update"] = Field(
        description="`remediation`: fixed for data-subject requests (GDPR Art. 17(2), 19)")
    action: Literal[RequiredAction.replace_copies] = RequiredAction.replace_copies
    deadline_at: AwareDatetime | None = Field(
        default=None, description="replace your copies before this time")


class VersionWithdrawn(EventPayload):
    event_id: uuid.UUID
    model: ModelRef
    withdrawn: VersionRef
    replacement: VersionRef | None = None
    action: Literal[RequiredAction.delete_copies, RequiredAction.replace_copies]
    deadline_at: AwareDatetime | None = None


class RemediationInfo(EventPayload):
    id: uuid.UUID
    method: Literal["unlearning", "retraining", "fine_tuning", "output_filter"]
    case_count: int = Field(description="how many accepted requests it addresses")
    status: Literal["planned", "running", "succeeded", "failed", "cancelled"]


class RemediationPlanned(EventPayload):
    event_id: uuid.UUID
    model: ModelRef
    remediation: RemediationInfo
    affected: list[VersionRef] = Field(description="versions the remediation will replace")
    action: Literal[RequiredAction.no_action] = RequiredAction.no_action


class ProbeCounts(EventPayload):
    """Counts only: how many endpoints of the fixed version will be probed, for how many cases."""

    endpoints: int
    cases: int


class RemediationCompleted(EventPayload):
    event_id: uuid.UUID
    model: ModelRef
    remediation: RemediationInfo
    version: VersionRef = Field(description="the fixed version")
    superseded: list[VersionRef]
    action: Literal[RequiredAction.replace_copies] = RequiredAction.replace_copies
    deadline_at: AwareDatetime | None = None
    probes: ProbeCounts | None = None


class UpstreamInfo(EventPayload):
    model: ModelRef
    event_id: uuid.UUID = Field(description="the upstream event this one follows from")
    superseded: VersionRef
    replacement: VersionRef
    remediation_id: uuid.UUID | None = None


class UpstreamRemediation(EventPayload):
    event_id: uuid.UUID
    model: ModelRef = Field(description="your model, derived from the upstream one")
    upstream: UpstreamInfo
    chain: list[uuid.UUID] = Field(
        description="event ids from the original remediation down to this event")
    depth: int = Field(ge=1, description="1 for a direct child of the fixed model")
    action: Literal[RequiredAction.review_derived] = RequiredAction.review_derived
    deadline_at: AwareDatetime | None = None


class ClauseInfo(EventPayload):
    version: int = Field(ge=1, description="increases with every change of the clause")
    url: str = Field(description="the clause as published by Rights Relay (both languages)")
    external_url: str | None = Field(
        default=None, description="the provider's own page for the clause, if it gave one")
    published_at: AwareDatetime


class ClauseUpdated(EventPayload):
    """The model's update-obligation clause has a new version: followers accept it again
    (`POST /v1/subscriber/clauses/accept`, or the management page)."""

    event_id: uuid.UUID
    model: ModelRef
    licence: str | None = Field(description="the model's SPDX licence expression")
    clause: ClauseInfo
    action: Literal[RequiredAction.no_action] = RequiredAction.no_action


class EndpointTest(EventPayload):
    event_id: uuid.UUID
    endpoint_id: uuid.UUID
    message: str = "This is a test event from Rights Relay."
    action: Literal[RequiredAction.no_action] = RequiredAction.no_action


class WebhookEnvelope(BaseModel):
    """The body of every webhook (Standard Webhooks): `{"type", "timestamp", "data"}`."""

    type: str
    timestamp: datetime
    data: dict[str, object]


PAYLOADS: dict[str, type[EventPayload]] = {
    "model.version.released": VersionReleased,
    "model.version.superseded": VersionSuperseded,
    "model.version.withdrawn": VersionWithdrawn,
    "remediation.planned": RemediationPlanned,
    "remediation.completed": RemediationCompleted,
    "upstream.remediation": UpstreamRemediation,
    "model.clause.updated": ClauseUpdated,
    "endpoint.test": EndpointTest,
}

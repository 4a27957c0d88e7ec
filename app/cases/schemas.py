"""The provider's view of cases: the queue, the detail (with the subject's personal data, for
staff only), the actions on a case, and the record exported for a regulator."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, model_validator

from app.cases.models import CaseKind, CaseStatus, Decision, RejectionGround
from app.models_registry.schemas import Digest
from app.probes.schemas import RunRead
from app.text import MultiLine, when

REFERENCE_PATTERN = r"^RR-[0-9A-Z]{4}-[0-9A-Z]{4}$"

Reference = Annotated[str, Field(pattern=REFERENCE_PATTERN, examples=["RR-7K3F-92QD"])]
# An internal note kept in the audit trail. The trail outlives the subject's data (it is never
# erased), so notes are for the provider's reasoning, not for the subject's personal data.
Note = Annotated[MultiLine, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Message = Annotated[MultiLine, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]
StaffEmail = Annotated[EmailStr, Field(max_length=320)]


# --- reading ---------------------------------------------------------------------------------


class AssigneeRead(BaseModel):
    email: str
    name: str


class CaseRead(BaseModel):
    """A case in the queue: no personal data of the subject."""

    reference: str
    kind: CaseKind
    status: CaseStatus
    models: list[str]
    received_at: datetime
    due_at: datetime
    extended: bool
    overdue: bool = Field(description="the deadline has passed and the provider still owes "
                                      "an answer or the fix")
    due_soon: bool = Field(description="due within 7 days")
    assignee: AssigneeRead | None
    decision: Decision | None
    updated_at: datetime


class SubjectRead(BaseModel):
    name: str
    email: str
    description: str
    identifiers: list[str]
    probe_prompts: list[str]


class MessageRead(BaseModel):
    at: datetime
    kind: str
    direction: str
    author: str
    text: str | None = Field(description="null once the subject's data was erased")


class DecisionRead(BaseModel):
    outcome: Decision
    ground: RejectionGround | None
    explanation: str | None
    decided_at: datetime
    decided_by: str


class ExtensionRead(BaseModel):
    months: int
    reason: str
    extended_at: datetime
    first_due_at: datetime
    due_at: datetime


class TimelineEntryRead(BaseModel):
    seq: int
    at: datetime
    actor: str
    action: str
    from_status: str | None
    to_status: str | None
    note: str | None
    details: dict[str, Any]
    prev_hash: str
    hash: str


class RemediationLinkRead(BaseModel):
    id: uuid.UUID
    model: str
    method: str
    status: str
    progress: int


class FixedVersionRead(BaseModel):
    model: str
    label: str
    revision: str
    digests: list[Digest]
    remediation_id: uuid.UUID | None


class ProbeResultRead(BaseModel):
    index: int
    prompt: str | None
    reproduced: bool
    result: str | None


class ClosureRead(BaseModel):
    closed_at: datetime
    closed_by: str
    fixed_versions: list[FixedVersionRead]
    probes: list[ProbeResultRead]


class NotificationRead(BaseModel):
    """An email sent about the case: its kind and times, never its content."""

    kind: str
    created_at: datetime
    status: str
    sent_at: datetime | None
    attempts: int


class CaseDetailRead(CaseRead):
    """Everything about one case, including the subject's personal data (staff only)."""

    language: str
    confirmed_at: datetime | None
    closed_at: datetime | None
    duplicate_of: str | None
    subject: SubjectRead | None = Field(description="null once erased")
    subject_erased_at: datetime | None
    extension: ExtensionRead | None
    decision_detail: DecisionRead | None
    messages: list[MessageRead]
    remediations: list[RemediationLinkRead]
    closure: ClosureRead | None
    probe_runs: list[RunRead] = Field(description="probe runs: settings and counts per prompt, "
                                                  "never the targets or completions")
    notifications: list[NotificationRead]
    timeline: list[TimelineEntryRead]
    next_steps: list[CaseStatus] = Field(description="statuses the caller may move it to")


class AuditChainRead(BaseModel):
    head_seq: int
    head_hash: str
    intact: bool = Field(description="the organisation's whole chain verified at export time")


class CaseExport(BaseModel):
    """A case's full record, for a regulator (or the subject's access request)."""

    format: Literal["rights-relay/case-record/v1"] = "rights-relay/case-record/v1"
    exported_at: datetime
    exported_by: str
    organization: str
    record: CaseDetailRead
    audit_chain: AuditChainRead


# --- acting ----------------------------------------------------------------------------------


class NoteBody(BaseModel):
    note: Note | None = None


class ReopenBody(BaseModel):
    note: Note = Field(description="why the fix did not hold, e.g. which probe still reproduces "
                                   "the data; no personal data")


class AssignmentBody(BaseModel):
    assignee: StaffEmail | None = Field(description="a staff user's email; null unassigns")
    note: Note | None = None


class InformationRequestBody(BaseModel):
    question: Message = Field(description="shown to the subject on their status page")
    note: Note | None = None


class DecisionBody(BaseModel):
    model_config = ConfigDict(json_schema_extra=when("outcome", "reject",
                                                     ["ground", "explanation"], ["ground"]))

    outcome: Literal["accept", "reject"]
    ground: RejectionGround | None = Field(default=None, description="required to reject")
    explanation: Message | None = Field(
        default=None, description="shown to the subject; required to reject (Art. 12(4))")
    note: Note | None = None

    @model_validator(mode="after")
    def _ground_for_rejections(self) -> DecisionBody:
        if self.outcome == "reject" and (self.ground is None or self.explanation is None):
            raise ValueError("a rejection needs a ground and an explanation")
        if self.outcome == "accept" and self.ground is not None:
            raise ValueError("a ground is given only to reject")
        return self


class ExtensionBody(BaseModel):
    months: int = Field(ge=1, le=2, description="one or two further months")
    reason: Annotated[MultiLine, StringConstraints(strip_whitespace=True, min_length=1,
                                              max_length=1000)] = Field(
        description="told to the subject (Art. 12(3)); kept in the audit trail")


class DuplicateBody(BaseModel):
    of: Reference = Field(description="the earlier case of the same person")
    note: Note | None = None


class ProbeResultBody(BaseModel):
    index: int = Field(ge=0, lt=10, description="position of the subject's probe prompt")
    reproduced: bool = Field(description="does the fixed version still reproduce the data?")
    result: Message = Field(description="what running the prompt gave")


class ClosureBody(BaseModel):
    probe_results: list[ProbeResultBody] = Field(
        default_factory=list, max_length=10,
        description="one per probe prompt the subject gave, run against the fixed version")
    note: Note | None = None


class BulkBody(BaseModel):
    model_config = ConfigDict(json_schema_extra=when("action", "reject",
                                                     ["ground", "explanation"], ["ground"]))

    action: Literal["assign", "review", "accept", "reject"]
    references: list[Reference] = Field(min_length=1, max_length=100)
    assignee: StaffEmail | None = Field(default=None, description="for `assign`; null unassigns")
    ground: RejectionGround | None = None
    explanation: Message | None = None
    note: Note | None = None

    @model_validator(mode="after")
    def _complete(self) -> BulkBody:
        if self.action == "reject" and (self.ground is None or self.explanation is None):
            raise ValueError("a rejection needs a ground and an explanation")
        if self.action != "reject" and self.ground is not None:
            raise ValueError("a ground is given only to reject")
        return self


class BulkItemRead(BaseModel):
    reference: str
    ok: bool
    status: CaseStatus | None = Field(description="the case's status after the action")
    error: str | None = None
    detail: str | None = None


class BulkRead(BaseModel):
    action: str
    succeeded: int
    failed: int
    results: list[BulkItemRead]


# --- what the subject sees on their status page ----------------------------------------------


class DecisionNotice(BaseModel):
    outcome: Decision
    ground: RejectionGround | None
    explanation: str | None
    decided_at: datetime
    complaint_right: bool = Field(
        description="rejected: you may complain to a supervisory authority and seek a judicial "
                    "remedy (GDPR Art. 12(4), 77, 79)")


class ExtensionNotice(BaseModel):
    months: int
    reason: str


class FixedVersionNotice(BaseModel):
    model: str
    label: str
    revision: str

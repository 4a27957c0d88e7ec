"""The provider's view of cases: the queue, the detail (with the subject's personal data, for
staff only), the actions on a case, and the record exported for a regulator."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, model_validator

from app.cases.models import CaseKind, CaseStatus, Decision, ObjectionBasis, RejectionGround
from app.i18n import N_
from app.models_registry.schemas import Digest
from app.probes.schemas import RunRead
from app.text import RequiredText, when

REFERENCE_PATTERN = r"^RR-[0-9A-Z]{4}-[0-9A-Z]{4}$"

Reference = Annotated[str, Field(pattern=REFERENCE_PATTERN, examples=["RR-7K3F-92QD"])]
# An internal note. The audit trail outlives the subject's data (it is never erased), so it
# holds only a digest; the note is sealed under the case's key and erased with the subject's
# data at retention.
Note = Annotated[RequiredText, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Message = Annotated[RequiredText, StringConstraints(strip_whitespace=True, min_length=1,
                                                     max_length=5000)]
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
    particular_situation: str | None = Field(
        default=None, description="objections (Art. 21(1), 21(6)): the person's grounds")


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
    note: str | None = Field(description="the staff note; null once the subject's data (and "
                                         "the key sealing the note) was erased")
    note_digest: str | None = Field(
        default=None, description="what the hash chain holds instead of the note: a MAC of it "
                                  "under the case's data key")
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
    acks_pending_at_closure: int = 0
    pending_acks_reason: str | None = None


class NotificationRead(BaseModel):
    """An email sent about the case: its kind and times, never its content."""

    kind: str
    created_at: datetime
    status: str
    sent_at: datetime | None
    attempts: int


class RecipientNotice(BaseModel):
    """Who was told of the correction (GDPR Art. 19), as the subject sees it."""

    kind: Literal["re_user", "derived_model_provider"]
    name: str = Field(description="the re-user's display name, or the derived model's provider")
    model: str = Field(description="the model they were told about")
    sent_at: datetime | None
    delivered_at: datetime | None
    acknowledged_at: datetime | None = Field(
        description="when they confirmed their copies were replaced or deleted")


class RecipientRead(RecipientNotice):
    """The same with the evidence a regulator needs to check it against the event log."""

    event_id: uuid.UUID
    must_acknowledge: bool
    ack_outcome: str | None
    ack_pending: bool


class RestrictionRead(BaseModel):
    since: datetime
    interim_remediation_id: uuid.UUID | None = Field(
        description="the interim measure: a remediation of method output_filter")


class CaseDetailRead(CaseRead):
    """Everything about one case, including the subject's personal data (staff only)."""

    language: str
    objection_basis: ObjectionBasis | None = Field(
        description="objections: what the person objects to; decides the grounds allowed")
    confirmed_at: datetime | None
    closed_at: datetime | None
    duplicate_of: str | None
    subject: SubjectRead | None = Field(description="null once erased")
    subject_erased_at: datetime | None
    extension: ExtensionRead | None
    restriction: RestrictionRead | None = Field(
        description="Art. 18: processing restricted while the request is weighed")
    decision_detail: DecisionRead | None
    messages: list[MessageRead]
    remediations: list[RemediationLinkRead]
    closure: ClosureRead | None
    probe_runs: list[RunRead] = Field(description="probe runs: settings and counts per prompt, "
                                                  "never the targets or completions")
    notifications: list[NotificationRead]
    recipients: list[RecipientRead] = Field(
        description="Art. 19: who was told of the fix, with sent, delivered and acknowledged "
                    "dates")
    timeline: list[TimelineEntryRead]
    next_steps: list[CaseStatus] = Field(description="statuses the caller may move it to")


class AuditChainRead(BaseModel):
    head_seq: int
    head_hash: str
    intact: bool = Field(description="the organisation's whole chain verified at export time")


class CheckpointRead(BaseModel):
    """The organisation's chain head signed with the service's Ed25519 key (the `kid` and key
    are published at /.well-known/rights-relay/webhook-keys.json)."""

    organization: str
    seq: int
    hash: str
    signed_at: str = Field(description="as signed: ISO 8601")
    kid: str
    public_key: str = Field(description="base64 of the raw 32-byte Ed25519 public key")
    signature: str = Field(description="base64 Ed25519 signature of "
                                       "`rights-relay/audit-checkpoint/v1\\n{organization}\\n"
                                       "{seq}\\n{hash}\\n{signed_at}`")


class ProofRead(BaseModel):
    """Everything needed to check the record offline (`rights-relay audit verify-export`, or
    tools/verify_export.py with Python alone)."""

    algorithm: Literal["sha256/canonical-json/v1"] = "sha256/canonical-json/v1"
    rows: list[dict[str, Any]] = Field(
        description="the case's audit rows exactly as hashed: org_id, seq, case_id, actor, "
                    "action, from, to, note (a digest), details, created_at, prev_hash, hash")
    links: list[tuple[int, str, str]] = Field(
        description="(seq, prev_hash, hash) of every row of the organisation's chain from the "
                    "case's first row to the head")
    head: dict[str, Any]
    checkpoint: CheckpointRead


class CaseExport(BaseModel):
    """A case's full record, for a regulator (or the subject's access request)."""

    format: Literal["rights-relay/case-record/v2"] = "rights-relay/case-record/v2"
    exported_at: datetime
    exported_by: str
    organization: str
    record: CaseDetailRead
    audit_chain: AuditChainRead
    proof: ProofRead


class RegisterLine(BaseModel):
    """One request in the organisation's register (no personal data)."""

    reference: str
    received_at: datetime
    kind: CaseKind
    objection_basis: ObjectionBasis | None
    models: list[str]
    status: CaseStatus
    outcome: str | None = Field(description="accepted, rejected, withdrawn, duplicate, or null "
                                            "while undecided")
    ground: RejectionGround | None
    answered_at: datetime | None
    due_at: datetime
    days_to_answer: int | None
    on_time: bool | None = Field(description="answered by the due date; null while the "
                                             "deadline still runs")
    recipients_told: int = Field(description="re-users and derived-model providers told of "
                                             "the fix (Art. 19)")


# --- acting ----------------------------------------------------------------------------------


class NoteBody(BaseModel):
    note: Note | None = None


class RestrictionBody(BaseModel):
    remediation_id: uuid.UUID | None = Field(
        default=None, description="the interim measure, if any: a remediation of method "
                                  "output_filter on one of the case's models")
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
            raise ValueError(N_("a rejection needs a ground and an explanation"))
        if self.outcome == "accept" and self.ground is not None:
            raise ValueError(N_("a ground is given only to reject"))
        return self


class ExtensionBody(BaseModel):
    months: int = Field(ge=1, le=2, description="one or two further months")
    reason: Annotated[RequiredText, StringConstraints(strip_whitespace=True, min_length=1,
                                              max_length=1000)] = Field(
        description="told to the subject (Art. 12(3)); sealed, erased with the subject's data")


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
    pending_acks_reason: Note | None = Field(
        default=None, description="required when re-users told of the fix have not all "
                                  "acknowledged yet: why the case closes anyway (recorded)")
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
            raise ValueError(N_("a rejection needs a ground and an explanation"))
        if self.action != "reject" and self.ground is not None:
            raise ValueError(N_("a ground is given only to reject"))
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

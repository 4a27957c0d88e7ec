from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, EmailStr, Field, StringConstraints, model_validator

from app.cases.models import CaseKind, CaseStatus, ObjectionBasis
from app.cases.schemas import (
    DecisionNotice,
    ExtensionNotice,
    FixedVersionNotice,
    RecipientNotice,
)
from app.i18n import Language
from app.models_registry.schemas import ModelId
from app.text import RequiredLine, RequiredText

Line = Annotated[RequiredLine, StringConstraints(strip_whitespace=True, min_length=1,
                                                 max_length=500)]
Prompt = Annotated[RequiredText, StringConstraints(strip_whitespace=True, min_length=1,
                                                max_length=2000)]
LongText = Annotated[RequiredText, StringConstraints(strip_whitespace=True, min_length=1,
                                                  max_length=5000)]

LIMITS = {
    "models": 20, "name": 200, "email": 254, "description": 5000, "identifiers": 20,
    "identifier": 500, "probe_prompts": 10, "probe_prompt": 2000, "answer": 5000,
    "particular_situation": 5000,
}


class RequestCreate(BaseModel):
    """A data subject's request. Everything but `models`, `kind` and `language` is personal data:
    it is stored encrypted and never echoed in errors, logs, webhooks or feeds."""

    models: list[ModelId] = Field(min_length=1, max_length=20,
                                  description="models whose intake is open (`namespace/name`)")
    kind: CaseKind = Field(description="`objection` (GDPR Art. 21) or `erasure` (Art. 17)")
    name: Annotated[RequiredLine, StringConstraints(strip_whitespace=True, min_length=1,
                                               max_length=200)]
    email: EmailStr = Field(max_length=254)
    description: LongText = Field(
        description="the personal data concerned, and where it may come from")
    identifiers: list[Line] = Field(default_factory=list, max_length=20,
                                    description="other names, URLs where the data appeared")
    probe_prompts: list[Prompt] = Field(
        default_factory=list, max_length=10,
        description="prompts that show the model reproducing the data")
    language: Language = "en"
    objection_basis: ObjectionBasis | None = Field(
        default=None,
        description="objections only: `particular_situation` (Art. 21(1), the default), "
                    "`direct_marketing` (Art. 21(2)/(3): never refused on 21(1) grounds) or "
                    "`research` (Art. 21(6): research or statistics)")
    particular_situation: LongText | None = Field(
        default=None,
        description="objections on Art. 21(1) or 21(6): the grounds relating to your particular "
                    "situation (required for them)")

    @model_validator(mode="after")
    def _objection_grounds(self) -> RequestCreate:
        if self.kind == CaseKind.erasure:
            if self.objection_basis is not None:
                raise ValueError("objection_basis: only an objection has one")
            return self
        self.objection_basis = self.objection_basis or ObjectionBasis.particular_situation
        if self.objection_basis != ObjectionBasis.direct_marketing and \
                not self.particular_situation:
            raise ValueError("particular_situation: an objection (Art. 21(1), 21(6)) gives the "
                             "grounds relating to your particular situation")
        return self


class RequestReceived(BaseModel):
    status: Literal["pending_verification"] = "pending_verification"
    message: str
    confirmation_expires_at: datetime


class ConfirmBody(BaseModel):
    token: str = Field(min_length=10, max_length=200)


class CaseSummary(BaseModel):
    reference: str
    status: CaseStatus
    duplicate_of: str | None = None


class Confirmed(BaseModel):
    cases: list[CaseSummary]
    message: str


class TimelineEntry(BaseModel):
    at: datetime
    step: str
    text: str


class RequestStatus(BaseModel):
    reference: str
    kind: CaseKind
    objection_basis: ObjectionBasis | None = None
    status: CaseStatus
    models: list[str]
    received_at: datetime
    due_at: datetime
    time_zone: str = Field(default="UTC", description="the provider's IANA time zone: the "
                           "answer is due by the end of `due_at`'s day there")
    timeline: list[TimelineEntry]
    information_requested: str | None = Field(
        default=None, description="the provider's question, while it awaits your answer")
    can_withdraw: bool
    can_answer: bool
    decision: DecisionNotice | None = None
    extension: ExtensionNotice | None = Field(
        default=None, description="the provider extended the deadline, and why (Art. 12(3))")
    fixed_versions: list[FixedVersionNotice] = Field(
        default_factory=list, description="versions released without your data")
    closed_at: datetime | None = None
    restricted_since: datetime | None = Field(
        default=None, description="the provider restricted the processing of your data while "
                                  "it weighs your request (GDPR Art. 18)")
    recipients: list[RecipientNotice] = Field(
        default_factory=list, description="who was told of the correction (GDPR Art. 19): "
        "re-users and providers of derived models, with sent, delivered and acknowledged dates")
    information_until: datetime | None = Field(
        default=None, description="refused because the provider could not identify you: until "
        "then you may send more information (Art. 11(2)), which sends the request back to "
        "review")
    probes: str | None = Field(default=None, description="what testing the fixed model "
                                                         "showed, in plain words")


class AnswerBody(BaseModel):
    answer: LongText


class InformationBody(BaseModel):
    information: LongText = Field(description="what lets the provider identify you")

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IdMixin, TimestampMixin, utcnow


class CaseKind(StrEnum):
    objection = "objection"  # GDPR Art. 21
    erasure = "erasure"  # GDPR Art. 17


class CaseStatus(StrEnum):
    pending_verification = "pending_verification"
    open = "open"
    in_review = "in_review"
    awaiting_subject = "awaiting_subject"
    accepted = "accepted"
    rejected = "rejected"
    in_remediation = "in_remediation"
    remediated = "remediated"
    closed = "closed"
    withdrawn = "withdrawn"
    expired = "expired"
    duplicate = "duplicate"


class Decision(StrEnum):
    accepted = "accepted"
    rejected = "rejected"


class ObjectionBasis(StrEnum):
    """What an objection (Art. 21) is against: each has its own rules for refusing it."""

    particular_situation = "particular_situation"  # 21(1): may be refused on compelling grounds
    direct_marketing = "direct_marketing"  # 21(2)/(3): absolute, never refused on 21(1) grounds
    research = "research"  # 21(6): research or statistics; refused only for a public-interest task


class RejectionGround(StrEnum):
    """Why a request is refused (GDPR Art. 12(4) requires telling the subject the reason)."""

    # Before the points were told apart; kept so that older decisions still read.
    art17_3_exception = "art17_3_exception"
    art17_3_a_expression = "art17_3_a_expression"  # freedom of expression and information
    art17_3_b_legal_obligation = "art17_3_b_legal_obligation"  # legal duty, public task
    art17_3_c_public_health = "art17_3_c_public_health"  # public interest in public health
    # Archiving in the public interest, scientific or historical research or statistics
    # (Art. 89(1)), where erasing would make the research impossible or seriously impair it.
    art17_3_d_research = "art17_3_d_research"
    art17_3_e_legal_claims = "art17_3_e_legal_claims"  # establishing or defending legal claims
    art21_1_compelling_grounds = "art21_1_compelling_grounds"  # Art. 21(1): compelling grounds
    # Art. 21(6): research or statistics necessary for a task carried out in the public interest.
    art21_6_public_interest_research = "art21_6_public_interest_research"
    manifestly_unfounded_or_excessive = "manifestly_unfounded_or_excessive"  # Art. 12(5)
    cannot_identify = "cannot_identify"  # Art. 11(2), 12(2): the person cannot be identified


class Case(IdMixin, TimestampMixin, Base):
    """A data subject's rights request, as one provider organisation works it."""

    __tablename__ = "cases"

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    # One submission against models of several providers becomes one case per provider.
    submission_id: Mapped[uuid.UUID] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(20))
    # For objections: what the person objects to (ObjectionBasis); decides the allowed grounds.
    objection_basis: Mapped[str | None] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(32), index=True)
    language: Mapped[str] = mapped_column(String(8))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime] = mapped_column(index=True)
    confirmed_at: Mapped[datetime | None]
    extended_at: Mapped[datetime | None]
    extension_reason: Mapped[str | None] = mapped_column(Text)  # before 0011 only; now sealed
    extension_reason_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    duplicate_of_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cases.id"))
    closed_at: Mapped[datetime | None]
    # When staff were told the case had not moved for `RR_STALLED_AFTER_DAYS` (reset on every
    # change of status, so each status is flagged at most once).
    stalled_flagged_at: Mapped[datetime | None]
    # Art. 18 restriction while the request is weighed, and its interim measure (a remediation
    # of method output_filter), if any. The history is in the audit trail.
    restricted_at: Mapped[datetime | None]
    restriction_remediation_id: Mapped[uuid.UUID | None]

    # Personal data: sealed (AES-GCM, per-case key wrapped by a key-encryption key).
    # Erasure after retention deletes the wrapped key and the ciphertext (crypto-shredding).
    subject_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    subject_wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    subject_key_id: Mapped[str | None] = mapped_column(String(32))
    subject_erased_at: Mapped[datetime | None]
    # Keyed hashes of the normalised email: duplicates and per-person limits, no plaintext.
    subject_index: Mapped[str] = mapped_column(String(64), index=True)

    status_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    # Working the case (issue 4): who has it, the one extension, the decision, the closure.
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), index=True)
    extension_months: Mapped[int | None]
    decision: Mapped[str | None] = mapped_column(String(16))
    decision_ground: Mapped[str | None] = mapped_column(String(48))
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(300))
    # What the fixed versions were (ids, revisions, digests) and which probes were run: never
    # the prompts or their results, which are sealed in a CaseMessage of kind `closure`.
    closure_evidence: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Optimistic locking: two people deciding the same case at once cannot both win.
    row_version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": row_version}
    # The queue: filtered by status (or not), sorted by due date then id (the keyset cursor).
    __table_args__ = (Index("ix_cases_queue", "org_id", "status", "due_at", "id"),
                      Index("ix_cases_org_due", "org_id", "due_at", "id"))


class CaseModel(Base):
    __tablename__ = "case_models"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    model_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("models.id"), primary_key=True,
                                                index=True)


class Confirmation(IdMixin, Base):
    """A single-use email-confirmation link for one submission (stored as a digest)."""

    __tablename__ = "confirmations"

    submission_id: Mapped[uuid.UUID] = mapped_column(index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class MessageDirection(StrEnum):
    to_subject = "to_subject"  # the provider asks for more information (Art. 12(6))
    from_subject = "from_subject"  # the subject's answer
    internal = "internal"  # the provider's own record (probe results at closure)


class MessageKind(StrEnum):
    question = "question"  # to the subject: more information needed
    answer = "answer"  # from the subject
    decision = "decision"  # to the subject: the explanation of the decision
    closure = "closure"  # internal: the results of running the subject's probe prompts


class CaseMessage(IdMixin, Base):
    """Exchanges with the subject; sealed, as they may hold personal data."""

    __tablename__ = "case_messages"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    direction: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    author: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    key_id: Mapped[str | None] = mapped_column(String(32))


class CaseReminder(Base):
    """One deadline reminder per case per day: the primary key makes a second one, from
    another replica or a rerun, a no-op."""

    __tablename__ = "case_reminders"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True, index=True)  # "not yet today" lookups
    kind: Mapped[str] = mapped_column(String(16))  # due_soon | overdue
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

"""Probe tables. Nothing personal is stored in plain text: probe sets (prompts, targets) and
run results (completions, matches) are sealed under the case's data key, so retention's
crypto-shredding erases them with everything else about the subject."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IdMixin, TimestampMixin, utcnow


class InferenceApi(StrEnum):
    chat = "chat"  # POST {base}/chat/completions
    completions = "completions"  # POST {base}/completions


class RunMoment(StrEnum):
    triage = "triage"  # on review: evidence for the decision
    verification = "verification"  # a remediation reported success: is the fix real?
    regression = "regression"  # a later version: has the data come back?


class RunStatus(StrEnum):
    queued = "queued"
    running = "running"
    finished = "finished"
    failed = "failed"  # could not run at all (no probe set, data erased, endpoint removed)
    cancelled = "cancelled"


class ProbeEndpoint(IdMixin, TimestampMixin, Base):
    """An OpenAI-compatible inference endpoint serving one model version, or one artifact of
    it (`artifact`, e.g. `q4_k_m`; empty for the version as released)."""

    __tablename__ = "probe_endpoints"
    __table_args__ = (UniqueConstraint("version_id", "artifact"),)

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("model_versions.id"), index=True)
    artifact: Mapped[str] = mapped_column(String(100), default="")
    base_url: Mapped[str] = mapped_column(String(2000))
    model_name: Mapped[str] = mapped_column(String(200))
    api: Mapped[str] = mapped_column(String(16), default=InferenceApi.chat)
    # The API key, sealed by the keyring (never returned, only whether one is set).
    key_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    key_wrapped: Mapped[bytes | None] = mapped_column(LargeBinary)
    key_id: Mapped[str | None] = mapped_column(String(32))
    max_tokens: Mapped[int] = mapped_column(default=128)
    temperature: Mapped[float] = mapped_column(default=0.7)
    samples: Mapped[int] = mapped_column(default=5)
    concurrency: Mapped[int] = mapped_column(default=4)
    updated_by: Mapped[str] = mapped_column(String(300))


class ProbeSet(Base):
    """A case's probe prompts and targets, sealed under the case key (purpose `probe.set`)."""

    __tablename__ = "probe_sets"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    prompt_count: Mapped[int] = mapped_column(default=0)
    target_count: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(300))


class ProbeTemplates(Base):
    """An organisation's prompt templates for one language ("{name} lives in"...)."""

    __tablename__ = "probe_templates"

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    language: Mapped[str] = mapped_column(String(8), primary_key=True)
    templates: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProbeRun(IdMixin, Base):
    """One run of a case's probe set against one endpoint. The counts and per-prompt tallies
    are plain (no content); completions and matches are sealed (purpose `probe.run`)."""

    __tablename__ = "probe_runs"
    __table_args__ = (Index("ix_probe_runs_due", "status", "created_at"),)

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    endpoint_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("probe_endpoints.id", ondelete="SET NULL"), index=True)
    version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("model_versions.id"), index=True)
    artifact: Mapped[str] = mapped_column(String(100), default="")
    remediation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("remediations.id"),
                                                             index=True)
    moment: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=RunStatus.queued)
    # {max_tokens, temperature, samples, model_name, api}: the settings the run used.
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    samples_total: Mapped[int] = mapped_column(default=0)
    samples_done: Mapped[int] = mapped_column(default=0)
    hits: Mapped[int] = mapped_column(default=0)  # samples reproducing a target
    failures: Mapped[int] = mapped_column(default=0)  # samples with no usable answer
    # [{"prompt": i, "source": "subject"|"template", "hits", "misses", "failed",
    #   "kinds": [...], "reasons": {...}}]: what an export may show.
    tally: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    results_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    error: Mapped[str | None] = mapped_column(String(200))
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    attempts: Mapped[int] = mapped_column(default=0)
    lease_until: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(String(300))


class ProbeOverride(IdMixin, Base):
    """Staff let a case be remediated although a probe of the fixed version reproduced the
    data; the reason is sealed (it may describe the data), the fact is audited."""

    __tablename__ = "probe_overrides"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), index=True)
    remediation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("remediations.id"))
    reason_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(300))

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IdMixin, TimestampMixin


class RemediationMethod(StrEnum):
    unlearning = "unlearning"
    retraining = "retraining"
    fine_tuning = "fine_tuning"
    output_filter = "output_filter"


class RemediationStatus(StrEnum):
    planned = "planned"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"


class Remediation(IdMixin, TimestampMixin, Base):
    """A job that fixes one model for a set of accepted cases. The version it produced points
    back at it (ModelVersion.remediation_id)."""

    __tablename__ = "remediations"

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), index=True)
    model_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("models.id"), index=True)
    method: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(16), index=True)
    progress: Mapped[int] = mapped_column(default=0)
    # The staff's description of the job and the pipeline's latest report: about the model and
    # the work, never a data subject's personal data.
    description: Mapped[str | None] = mapped_column(Text)
    message: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(300))
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # Ids of the versions the fixed version will replace, chosen when it was planned.
    affected_version_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The pipeline reports while staff may cancel: the later of two racing writes is refused.
    row_version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": row_version}


class RemediationCase(Base):
    """Which cases a remediation addresses (a case about several models may need several)."""

    __tablename__ = "remediation_cases"

    remediation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("remediations.id"),
                                                      primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id"), primary_key=True,
                                               index=True)
    # Set when the case was reopened: this (succeeded) fix did not hold for it.
    reopened_at: Mapped[datetime | None]

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

Sha256 = Annotated[str, Field(pattern=r"^[0-9a-fA-F]{64}$", examples=["e" * 64],
                              description="SHA-256 of the file, 64 hex characters")]


class RevisionRef(BaseModel):
    label: str
    revision: str


class CopyMatch(BaseModel):
    """A released file with this digest, and what a re-user holding it must do."""

    model: str
    organization: str
    file: str
    label: str
    revision: str
    released_at: datetime
    status: Literal["current", "superseded", "withdrawn"]
    action: Literal["none", "replace", "delete"] = Field(
        description="none: this version is current; replace: switch to `replacement` before "
                    "`deadline_at`; delete: delete the copy (withdrawn, nothing replaces it)")
    deadline_at: datetime | None
    replacement: RevisionRef | None
    latest: RevisionRef | None = Field(description="the model's newest current version")


class DigestRead(BaseModel):
    sha256: str
    known: bool = Field(description="false: no released file has this digest (unknown is "
                        "not fine: the copy cannot be checked)")
    matches: list[CopyMatch]


class DigestBatch(BaseModel):
    sha256: list[Sha256] = Field(min_length=1, max_length=1000)


class DigestResults(BaseModel):
    results: list[DigestRead] = Field(description="one per distinct digest, in the order given")

"""Public digest lookup, for re-users' copy checks (webhooks/check_copies.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from app.copies import service
from app.copies.schemas import DigestBatch, DigestRead, DigestResults
from app.db import Session
from app.errors import ErrorRead, NotFound

router = APIRouter(prefix="/v1/public/digests", tags=["copies"],
                   responses={404: {"model": ErrorRead}})
Sha256Path = Annotated[str, Path(pattern=r"^[0-9a-fA-F]{64}$",
                                 description="SHA-256 of the file, 64 hex characters")]


@router.get("/{sha256}", name="lookup_digest", response_model=DigestRead)
async def lookup_digest(sha256: Sha256Path, session: Session) -> DigestRead:
    """Which model and version a file with this SHA-256 belongs to, and whether that version
    is current, superseded or withdrawn (with the deadline and the replacement). 404 when no
    released file has this digest; anything but 64 hex characters is a 422."""
    [result] = await service.lookup(session, [sha256])
    if not result.known:
        raise NotFound("no released file has this digest")
    return result


@router.post("", name="lookup_digests", response_model=DigestResults)
async def lookup_digests(body: DigestBatch, session: Session) -> DigestResults:
    """The same for up to 1,000 digests at once; unknown ones come back `known: false`."""
    return DigestResults(results=await service.lookup(session, body.sha256))

"""Signed checkpoints of each organisation's audit chain head (Ed25519, the service's published
key), made periodically and on every case export, and published. A chain verifies on its own
against itself; a checkpoint anyone kept is what catches a chain rebuilt from scratch by someone
with write access to the database, who cannot sign."""

from __future__ import annotations

import base64
import hmac
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit.models import AuditCheckpoint, AuditHead
from app.audit.verify_export import checkpoint_message
from app.auth.models import Organization
from app.db import utcnow
from app.delivery.signing import ServiceKeys


def signed(keys: ServiceKeys, slug: str, seq: int, head_hash: str,
           signed_at: datetime) -> dict[str, Any]:
    """The checkpoint as published and carried by exports (everything needed to verify it)."""
    key = keys.current
    at = signed_at.isoformat()
    signature = key.private.sign(checkpoint_message(slug, seq, head_hash, at))
    return {"organization": slug, "seq": seq, "hash": head_hash, "signed_at": at,
            "kid": key.kid, "public_key": base64.b64encode(key.public_raw).decode(),
            "signature": base64.b64encode(signature).decode()}


async def record(session: AsyncSession, keys: ServiceKeys, org_id: uuid.UUID, slug: str,
                 head: AuditHead) -> dict[str, Any]:
    """Sign the head now and keep the checkpoint (one per head: an unchanged head is reused)."""
    existing = await session.scalar(select(AuditCheckpoint).where(
        AuditCheckpoint.org_id == org_id, AuditCheckpoint.seq == head.seq))
    if existing is not None and hmac.compare_digest(existing.hash, head.hash):
        return published(existing, slug, keys)
    cp = signed(keys, slug, head.seq, head.hash, utcnow())
    if existing is None:
        session.add(AuditCheckpoint(org_id=org_id, seq=head.seq, hash=head.hash,
                                    signed_at=datetime.fromisoformat(cp["signed_at"]),
                                    kid=cp["kid"], signature=cp["signature"]))
    return cp


def published(cp: AuditCheckpoint, slug: str, keys: ServiceKeys) -> dict[str, Any]:
    public = {k.kid: base64.b64encode(k.public_raw).decode() for k in keys.keys}
    return {"organization": slug, "seq": cp.seq, "hash": cp.hash,
            "signed_at": cp.signed_at.isoformat(), "kid": cp.kid,
            "public_key": public.get(cp.kid, ""), "signature": cp.signature}


async def checkpoint_all(sessionmaker: async_sessionmaker[AsyncSession],
                         keys: ServiceKeys) -> int:
    """The scheduled job: sign every organisation's head that moved since its last checkpoint."""
    made = 0
    async with sessionmaker() as session:
        rows = list(await session.execute(
            select(AuditHead, Organization.slug).join(Organization,
                                                      Organization.id == AuditHead.org_id)))
        for head, slug in rows:
            latest = await session.scalar(
                select(AuditCheckpoint.seq).where(AuditCheckpoint.org_id == head.org_id)
                .order_by(AuditCheckpoint.seq.desc()).limit(1))
            if latest == head.seq:
                continue
            await record(session, keys, head.org_id, slug, head)
            made += 1
        await session.commit()
    return made


async def list_published(session: AsyncSession, keys: ServiceKeys, org: Organization,
                         limit: int) -> list[dict[str, Any]]:
    rows = await session.scalars(select(AuditCheckpoint).where(
        AuditCheckpoint.org_id == org.id).order_by(AuditCheckpoint.seq.desc()).limit(limit))
    return [published(cp, org.slug, keys) for cp in rows]


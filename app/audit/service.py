"""The hash-chained audit trail."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditEvent, AuditHead
from app.db import utcnow

GENESIS = "0" * 64


def _uuid(value: object) -> str:
    # Canonical form whatever the driver hands back (a UUID, or the 32-hex text SQLite stores).
    return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))


def event_hash(e: AuditEvent) -> str:
    payload = {
        "org_id": _uuid(e.org_id), "seq": e.seq, "case_id": _uuid(e.case_id) if e.case_id else None,
        "actor": e.actor, "action": e.action, "from": e.from_status, "to": e.to_status,
        "note": e.note, "details": e.details, "created_at": e.created_at.isoformat(),
        "prev_hash": e.prev_hash,
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def append(
    session: AsyncSession, *, org_id: uuid.UUID, actor: str, action: str,
    case_id: uuid.UUID | None = None, from_status: str | None = None,
    to_status: str | None = None, note: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    head = await _lock_head(session, org_id)
    event = AuditEvent(
        org_id=org_id, seq=head.seq + 1, case_id=case_id, actor=actor, action=action,
        from_status=from_status, to_status=to_status, note=note, details=details or {},
        created_at=utcnow(), prev_hash=head.hash,
    )
    event.hash = event_hash(event)
    head.seq, head.hash = event.seq, event.hash
    session.add(event)
    await session.flush()
    return event


async def _lock_head(session: AsyncSession, org_id: uuid.UUID) -> AuditHead:
    """Make sure the organisation's head row exists, then lock it for this transaction.

    The insert is a write, so on SQLite it takes the database's write lock before the head is
    read (writers serialise, and nobody can append between our read and our write); on
    PostgreSQL, concurrent first appends do not collide, and FOR UPDATE makes appends across
    replicas wait for each other."""
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    await session.execute(insert(AuditHead).values(org_id=org_id, seq=0, hash=GENESIS)
                          .on_conflict_do_nothing(index_elements=["org_id"]))
    head = await session.scalar(
        select(AuditHead).where(AuditHead.org_id == org_id).with_for_update()
        .execution_options(populate_existing=True))
    assert head is not None
    return head


@dataclass
class ChainProblem:
    org_id: uuid.UUID
    seq: int
    problem: str


async def verify_chain(session: AsyncSession, org_id: uuid.UUID) -> list[ChainProblem]:
    """Walk an organisation's chain; report every row that does not follow from the last."""
    problems: list[ChainProblem] = []
    expected_prev, expected_seq = GENESIS, 1
    async for e in _events(session, org_id):
        if e.seq != expected_seq:
            problems.append(ChainProblem(org_id, e.seq,
                                         f"expected row {expected_seq}, found {e.seq} (missing "
                                         "or reordered rows)"))
        if e.prev_hash != expected_prev:
            problems.append(ChainProblem(org_id, e.seq, "does not link to the previous row"))
        if event_hash(e) != e.hash:
            problems.append(ChainProblem(org_id, e.seq, "content was modified"))
        expected_prev, expected_seq = e.hash, e.seq + 1
    head = await session.get(AuditHead, org_id)
    if head is None:
        if expected_seq > 1:
            problems.append(ChainProblem(org_id, expected_seq - 1,
                                         "the chain's head record is missing"))
    elif head.seq != expected_seq - 1 or head.hash != expected_prev:
        problems.append(ChainProblem(org_id, expected_seq - 1,
                                     f"the chain should end at row {head.seq}: rows after this "
                                     "one were deleted, or the head was altered"))
    return problems


async def chain_length(session: AsyncSession, org_id: uuid.UUID) -> int:
    return int(await session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.org_id == org_id)) or 0)


async def _events(session: AsyncSession, org_id: uuid.UUID) -> AsyncIterator[AuditEvent]:
    result = await session.stream_scalars(
        select(AuditEvent).where(AuditEvent.org_id == org_id).order_by(AuditEvent.seq))
    async for e in result:
        yield e


async def case_trail(session: AsyncSession, case_id: uuid.UUID) -> list[AuditEvent]:
    rows = await session.scalars(
        select(AuditEvent).where(AuditEvent.case_id == case_id).order_by(AuditEvent.seq))
    return list(rows)

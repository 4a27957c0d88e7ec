"""The hash-chained audit trail."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from app.audit.models import AuditCheckpoint, AuditEvent, AuditHead
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
    details: dict[str, Any] | None = None, note_sealed: bytes | None = None,
) -> AuditEvent:
    """Add a row to the organisation's chain, as part of the session's transaction.

    The row is chained when the transaction commits (`_chain_at_commit`): everything else the
    transaction writes is flushed first, then the organisation's head is locked, the rows are
    numbered, linked and hashed, and the commit follows. The head lock, which serialises every
    write of an organisation, is held for those few statements instead of the whole request.
    The rows commit with the change they record, or not at all, as before. Reading the trail
    through this module in the same transaction chains the pending rows first."""
    event = AuditEvent(
        org_id=org_id, case_id=case_id, actor=actor, action=action, from_status=from_status,
        to_status=to_status, note=note, details=details or {}, note_sealed=note_sealed,
    )
    sync = session.sync_session
    if sync.get_transaction() is None:
        sync.begin()  # (no I/O) so that a rollback, even before any SQL, drops the row too
    sync.info.setdefault(_PENDING, []).append(event)
    return event


_PENDING = "rr_audit_pending"


async def seal_pending(session: AsyncSession) -> None:
    """Chain this transaction's pending rows now (they hold the head lock until commit)."""
    if session.sync_session.info.get(_PENDING):
        await session.run_sync(_chain_pending)


@event.listens_for(Session, "before_commit")
def _chain_at_commit(session: Session) -> None:
    _chain_pending(session)


@event.listens_for(Session, "after_transaction_end")
def _drop_pending(session: Session, transaction: SessionTransaction) -> None:
    # A transaction that ends without its commit (rolled back, closed) takes its rows with it.
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


def _chain_pending(session: Session) -> None:
    pending: list[AuditEvent] = session.info.pop(_PENDING, None) or []
    if not pending:
        return
    session.flush()  # the rest of the transaction first: the lock is taken last
    by_org: dict[uuid.UUID, list[AuditEvent]] = {}
    for e in pending:
        by_org.setdefault(e.org_id, []).append(e)
    # One order for every transaction: two never wait on each other's heads crosswise.
    for org_id in sorted(by_org, key=str):
        head = _lock_head(session, org_id)
        now = utcnow()
        for e in by_org[org_id]:
            e.seq, e.prev_hash, e.created_at = head.seq + 1, head.hash, now
            e.hash = event_hash(e)
            head.seq, head.hash = e.seq, e.hash
        session.add_all(by_org[org_id])
    session.flush()


def _lock_head(session: Session, org_id: uuid.UUID) -> AuditHead:
    """Lock the organisation's head row for this transaction, making it first if need be.

    On PostgreSQL, FOR UPDATE makes appends across replicas wait for each other, and
    concurrent first appends do not collide (ON CONFLICT DO NOTHING). On SQLite the insert
    always goes first: it is a write, so it takes the database's write lock before the head is
    read (writers serialise, and nobody can append between our read and our write)."""
    postgresql = session.bind is not None and session.bind.dialect.name == "postgresql"
    ensure = (pg_insert if postgresql else sqlite_insert)(AuditHead).values(
        org_id=org_id, seq=0, hash=GENESIS).on_conflict_do_nothing(index_elements=["org_id"])
    locked = (select(AuditHead).where(AuditHead.org_id == org_id).with_for_update()
              .execution_options(populate_existing=True))
    if not postgresql:
        session.execute(ensure)
    head = session.scalar(locked)
    if head is None:
        session.execute(ensure)
        head = session.scalar(locked)
    assert head is not None
    return head


@dataclass
class ChainProblem:
    org_id: uuid.UUID
    seq: int
    problem: str


async def verify_chain(session: AsyncSession, org_id: uuid.UUID) -> list[ChainProblem]:
    """Walk an organisation's chain; report every row that does not follow from the last."""
    await seal_pending(session)
    problems: list[ChainProblem] = []
    expected_prev, expected_seq = GENESIS, 1
    # Signed checkpoints (app/audit/checkpoints.py): a chain rebuilt after one was signed,
    # however consistent with itself, no longer reaches it.
    signed = {cp.seq: cp for cp in await session.scalars(
        select(AuditCheckpoint).where(AuditCheckpoint.org_id == org_id))}
    async for e in _events(session, org_id):
        cp = signed.pop(e.seq, None)
        if cp is not None and cp.hash != e.hash:
            problems.append(ChainProblem(org_id, e.seq, "differs from the checkpoint signed at "
                                         f"{cp.signed_at.isoformat()}: the chain was rewritten"))
        if e.seq != expected_seq:
            problems.append(ChainProblem(org_id, e.seq,
                                         f"expected row {expected_seq}, found {e.seq} (missing "
                                         "or reordered rows)"))
        if e.prev_hash != expected_prev:
            problems.append(ChainProblem(org_id, e.seq, "does not link to the previous row"))
        if event_hash(e) != e.hash:
            problems.append(ChainProblem(org_id, e.seq, "content was modified"))
        expected_prev, expected_seq = e.hash, e.seq + 1
    for seq in sorted(signed):
        problems.append(ChainProblem(org_id, seq, "a signed checkpoint names this row, which is "
                                     "gone: the chain was cut or rewritten"))
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
    await seal_pending(session)
    return int(await session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.org_id == org_id)) or 0)


async def _events(session: AsyncSession, org_id: uuid.UUID) -> AsyncIterator[AuditEvent]:
    result = await session.stream_scalars(
        select(AuditEvent).where(AuditEvent.org_id == org_id).order_by(AuditEvent.seq))
    async for e in result:
        yield e


async def case_trail(session: AsyncSession, case_id: uuid.UUID) -> list[AuditEvent]:
    await seal_pending(session)
    rows = await session.scalars(
        select(AuditEvent).where(AuditEvent.case_id == case_id).order_by(AuditEvent.seq))
    return list(rows)

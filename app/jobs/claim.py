"""Claiming due rows of an outbox table so that several workers and replicas share the work.

A claim sets a lease (`lease_until`, `lease_owner`). A worker that dies leaves the lease to
expire and another worker takes the row again: at-least-once, never stuck. On PostgreSQL the
candidate rows are selected `FOR UPDATE SKIP LOCKED`, so concurrent claimers never wait on or
take each other's rows; SQLite serialises writers, and the lease guard does the rest.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow


async def claim(
    session: AsyncSession, table: Any, *, due: Any, limit: int, lease: timedelta,
    order_by: Any,
) -> list[uuid.UUID]:
    """Lease up to `limit` rows of `table` matching `due`; returns their ids (committed)."""
    now = utcnow()
    owner = uuid.uuid4().hex
    free = or_(table.lease_until.is_(None), table.lease_until < now)
    candidates = select(table.id).where(and_(due, free)).order_by(order_by).limit(limit)
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
        ids = list(await session.scalars(candidates))
        if not ids:
            await session.commit()
            return []
        await session.execute(update(table).where(table.id.in_(ids))
                              .values(lease_until=now + lease, lease_owner=owner))
    else:
        await session.execute(update(table).where(table.id.in_(candidates.scalar_subquery()))
                              .values(lease_until=now + lease, lease_owner=owner)
                              .execution_options(synchronize_session=False))
        ids = list(await session.scalars(select(table.id).where(table.lease_owner == owner)))
    await session.commit()
    return ids

"""Rate limits for the public endpoints: per client address and per email address."""

from __future__ import annotations

import asyncio
import math
import weakref
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
)

from app.batching import Batcher
from app.crypto import Keyring
from app.db import loop_local, utcnow, write_turn
from app.errors import TooManyRequests
from app.ratelimit.models import RateCounter


@dataclass(frozen=True)
class _Hit:
    key: str
    window_start: datetime


async def hit(
    sessionmaker: async_sessionmaker[AsyncSession], keyring: Keyring, *, scope: str, value: str,
    limit: int, window: timedelta,
) -> None:
    """Count one attempt; raise 429 with Retry-After once `limit` is passed in the window.

    Counted in its own autocommitted statement, so refused or failing requests count too;
    the attempts of concurrent requests are counted together (`_counter`), one statement for
    all of them, each getting the count it would have had alone."""
    now = utcnow()
    attempt = _attempt(keyring, scope, value, window, now)
    engine: AsyncEngine = sessionmaker.kw["bind"]
    refusal = _refusal(await _counter(engine).run(attempt), limit, attempt, window, now)
    if refusal is not None:
        raise refusal


async def count_all(
    session: AsyncSession, keyring: Keyring, *, scope: str, values: Sequence[str], limit: int,
    window: timedelta,
) -> list[TooManyRequests | None]:
    """Count one attempt for each value, in the session's transaction (a batch that refuses
    some of its items still commits, and with it their attempts): the 429 refusing each
    attempt past `limit`, or None."""
    now = utcnow()
    attempts = [_attempt(keyring, scope, value, window, now) for value in values]
    counts = await _count(session, attempts) if attempts else []
    return [_refusal(count, limit, a, window, now)
            for count, a in zip(counts, attempts, strict=True)]


def _attempt(keyring: Keyring, scope: str, value: str, window: timedelta,
             now: datetime) -> _Hit:
    span = window.total_seconds()
    start = datetime.fromtimestamp(math.floor(now.timestamp() / span) * span, UTC)
    return _Hit(keyring.blind_index(f"rate:{scope}", value), start)


def _refusal(count: int, limit: int, attempt: _Hit, window: timedelta,
             now: datetime) -> TooManyRequests | None:
    if count <= limit:
        return None
    retry_after = max(1, math.ceil((attempt.window_start + window - now).total_seconds()))
    return TooManyRequests("too many attempts; please wait before trying again",
                           headers={"Retry-After": str(retry_after)})


# One counter per engine and event loop (a batch's task belongs to the loop that made it).
_counters: weakref.WeakKeyDictionary[
    AsyncEngine, weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Batcher[_Hit, int]]
] = weakref.WeakKeyDictionary()


def _counter(engine: AsyncEngine) -> Batcher[_Hit, int]:
    async def count(hits: Sequence[_Hit]) -> list[int]:
        # Atomic by itself: run in autocommit, without BEGIN and COMMIT round trips.
        async with write_turn(engine), engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            return await _count(conn, hits)

    return loop_local(_counters, engine, lambda: Batcher(count, max_batch=500))


async def _count(db: AsyncConnection | AsyncSession, hits: Sequence[_Hit]) -> list[int]:
    """One upsert for a batch of attempts: each counter goes up by its attempts in the batch;
    the n-th attempt on a counter gets the count before the batch plus n."""
    added = Counter(hits)
    bind = db.get_bind() if isinstance(db, AsyncSession) else db
    insert = pg_insert if bind.dialect.name == "postgresql" else sqlite_insert
    upsert = insert(RateCounter).values(
        [{"key": h.key, "window_start": h.window_start, "count": n} for h, n in added.items()])
    upsert = upsert.on_conflict_do_update(
        index_elements=["key", "window_start"],
        set_={"count": RateCounter.count + upsert.excluded.count})
    rows = (await db.execute(upsert.returning(
        RateCounter.key, RateCounter.window_start, RateCounter.count))).all()
    after = {_Hit(key, start): count for key, start, count in rows}
    # Counted down from the new total: the last attempt of the batch on a counter gets it.
    before = {h: after[h] - n for h, n in added.items()}
    counts = []
    for h in hits:
        before[h] += 1
        counts.append(before[h])
    return counts


async def purge_old(session: AsyncSession, older_than: timedelta = timedelta(days=2)) -> None:
    await session.execute(delete(RateCounter).where(RateCounter.window_start < utcnow() - older_than))

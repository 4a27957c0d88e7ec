"""Rate limits for the public endpoints: per client address and per email address."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.crypto import Keyring
from app.db import utcnow
from app.errors import TooManyRequests
from app.ratelimit.models import RateCounter


async def hit(
    sessionmaker: async_sessionmaker[AsyncSession], keyring: Keyring, *, scope: str, value: str,
    limit: int, window: timedelta,
) -> None:
    """Count one attempt; raise 429 with Retry-After once `limit` is passed in the window.

    Counted in its own transaction, so refused or failing requests count too."""
    now = utcnow()
    span = window.total_seconds()
    start = datetime.fromtimestamp(math.floor(now.timestamp() / span) * span, UTC)
    key = keyring.blind_index(f"rate:{scope}", value)
    engine: AsyncEngine = sessionmaker.kw["bind"]
    insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
    upsert = insert(RateCounter).values(key=key, window_start=start, count=1)
    upsert = upsert.on_conflict_do_update(
        index_elements=["key", "window_start"], set_={"count": RateCounter.count + 1})
    # One statement, atomic by itself: run in autocommit, without BEGIN and COMMIT round trips.
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        count = (await conn.execute(upsert.returning(RateCounter.count))).scalar_one()
    if count > limit:
        retry_after = max(1, math.ceil((start + window - now).total_seconds()))
        raise TooManyRequests("too many attempts; please wait before trying again",
                              headers={"Retry-After": str(retry_after)})


async def purge_old(session: AsyncSession, older_than: timedelta = timedelta(days=2)) -> None:
    await session.execute(delete(RateCounter).where(RateCounter.window_start < utcnow() - older_than))

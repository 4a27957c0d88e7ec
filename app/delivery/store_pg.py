"""The delivery store on PostgreSQL: one statement to claim a batch, one to record it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.delivery.models import DeliveryStatus
from app.delivery.store import Claimed, EventRow, Result, result_stamps

log = logging.getLogger(__name__)

# Written with the deliveries (fanout.py), heard by every worker once the transaction commits.
CHANNEL = "rr_deliveries"
NOTIFY: TextClause = text(f"SELECT pg_notify('{CHANNEL}', '')")


_PG_CLAIM = text("""
WITH c AS (
    SELECT id FROM deliveries
    WHERE status = :pending AND next_attempt_at <= :now
      AND (lease_until IS NULL OR lease_until < :now)
    ORDER BY next_attempt_at LIMIT :limit
    FOR UPDATE SKIP LOCKED
), u AS (
    UPDATE deliveries d SET lease_until = :until, lease_owner = :owner
    FROM c WHERE d.id = c.id
    RETURNING d.id, d.attempts, d.subscriber_id, d.event_id, d.event_type, d.created_at,
              d.test_payload, d.endpoint_id, d.next_attempt_at
)
SELECT u.id, u.attempts, u.subscriber_id, u.event_id, u.event_type, u.created_at,
       u.test_payload, u.endpoint_id, e.url, e.enabled, e.removed_at, e.failing_since,
       e.secret_sealed, e.previous_secret_sealed, e.previous_secret_expires_at
FROM u JOIN webhook_endpoints e ON e.id = u.endpoint_id
ORDER BY u.next_attempt_at, u.id
""")

_PG_EVENTS = text("SELECT id, type, occurred_at, data, action FROM events "
                  "WHERE id = ANY(CAST(:ids AS UUID[]))")

# Only rows still held by the claim that sent them are written (`d.lease_owner = v.owner`,
# re-checked by PostgreSQL after any lock wait), and the attempt log gets exactly those rows.
# The batch travels as one JSON document (cheaper to build than a dozen typed arrays).
_PG_RECORD = text("""
WITH v AS (
    SELECT * FROM json_to_recordset(CAST(:rows AS JSON)) AS v(
        id BIGINT, owner VARCHAR, status VARCHAR, attempts INTEGER, next_at TIMESTAMPTZ,
        code INTEGER, error VARCHAR, last_at TIMESTAMPTZ, ok_at TIMESTAMPTZ, logged BOOLEAN,
        started TIMESTAMPTZ, duration INTEGER, body TEXT, retry_at TIMESTAMPTZ)
), u AS (
    UPDATE deliveries d SET status = v.status, attempts = v.attempts, next_attempt_at = v.next_at,
        last_status_code = v.code, last_error = v.error, last_attempt_at = v.last_at,
        succeeded_at = v.ok_at, lease_until = NULL, lease_owner = NULL
    FROM v WHERE d.id = v.id AND d.lease_owner = v.owner
    RETURNING d.id
), a AS (
    INSERT INTO delivery_attempts (delivery_id, number, started_at, duration_ms, status_code,
                                   error_class, response_body, next_attempt_at)
    SELECT v.id, v.attempts, v.started, v.duration, v.code, v.error, v.body, v.retry_at
    FROM v JOIN u ON u.id = v.id WHERE v.logged
), healthy AS (
    UPDATE webhook_endpoints SET failing_since = NULL, last_success_at = :now
    WHERE id = ANY(CAST(:ok AS UUID[])) AND (failing_since IS NOT NULL
          OR last_success_at IS NULL OR last_success_at < :fresh)
), failing AS (
    UPDATE webhook_endpoints SET failing_since = :now
    WHERE id = ANY(CAST(:failing AS UUID[])) AND failing_since IS NULL
)
SELECT id FROM u
""")


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _uuids(values: list[uuid.UUID] | set[uuid.UUID]) -> str:
    """A PostgreSQL array literal (cast in SQL): cheaper than adapting a list item by item."""
    return "{" + ",".join(map(str, values)) + "}"


_PG_RELEASE = text("""
UPDATE deliveries d SET lease_until = NULL, lease_owner = NULL,
    next_attempt_at = COALESCE(CAST(:due_at AS TIMESTAMP WITH TIME ZONE), d.next_attempt_at)
FROM unnest(CAST(:ids AS BIGINT[]), CAST(:owners AS VARCHAR[])) AS v(id, owner)
WHERE d.id = v.id AND d.lease_owner = v.owner AND d.status = :pending
""")


class PgStore:
    """Claims, records and releases each run as one statement in autocommit, on connections
    of the store's own that are not pinged when taken from the pool: one round trip each.

    Why: these run on the event loop that also drives hundreds of sends, and each round trip
    waits for a turn of that loop. Through the app's pool a claim was four (ping, BEGIN, the
    statement, COMMIT): 80-130 ms for 500 rows while the senders ran dry. Each statement is
    atomic by itself (the row locks of `FOR UPDATE SKIP LOCKED` only need to last the
    statement: the lease is the claim). A connection found broken is dropped by SQLAlchemy
    and the statement tried once more on a new one."""

    def __init__(self, engine: AsyncEngine) -> None:
        # Named, so that `pg_stat_activity` tells the worker's connections from the app's.
        self.application_name = f"rights-relay delivery worker (pid {os.getpid()})"
        # Claiming and recording run at once, giving back now and then: three connections.
        # No bitmap scans on them: a fan-out's rows are newer than the table's statistics,
        # so the planner expected a handful of due rows and fetched and sorted every pending
        # row to claim 500 (45 ms per claim at 100,000 pending, sorted on disk); walking the
        # due index in order stops at the 500th (1 ms). No statement here wants a bitmap.
        given = engine.url.query.get("options")  # the URL's own (a search_path, say) stay
        options = " ".join([*([given] if isinstance(given, str) else given or ()),
                            "-c enable_bitmapscan=off"])
        self.engine = create_async_engine(
            engine.url.difference_update_query(["options"]), isolation_level="AUTOCOMMIT",
            pool_pre_ping=False, pool_size=2, max_overflow=1,
            connect_args={"application_name": self.application_name, "options": options})
        self._work = asyncio.Event()
        self._listener: asyncio.Task[None] | None = None

    async def _execute(self, statement: TextClause, params: dict[str, Any]) -> list[Any]:
        try:
            return await self._execute_once(statement, params)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
        return await self._execute_once(statement, params)  # on a new connection

    async def _execute_once(self, statement: TextClause, params: dict[str, Any]) -> list[Any]:
        async with self.engine.connect() as conn:
            result = await conn.execute(statement, params)
            return list(result.all()) if result.returns_rows else []

    async def wait_for_work(self, timeout: float) -> None:
        if self._listener is None or self._listener.done():
            self._listener = asyncio.create_task(self._listen())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._work.wait(), timeout)
        self._work.clear()

    async def _listen(self) -> None:
        """LISTEN on a connection of its own; without it (it failed), polling goes on."""
        import psycopg

        url = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        try:
            async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
                await conn.execute(f"LISTEN {CHANNEL}")
                async for _ in conn.notifies():
                    self._work.set()
        except Exception as exc:  # polling still finds the work
            log.info("listening for new deliveries failed (%s); polling only", exc)
            await asyncio.sleep(5)

    async def claim(self, *, limit: int, now: datetime, until: datetime, owner: str,
                    known_events: set[uuid.UUID]) -> tuple[list[Claimed], list[EventRow]]:
        rows = [Claimed(*r) for r in await self._execute(_PG_CLAIM, {
            "pending": DeliveryStatus.pending.value, "now": now, "limit": limit,
            "until": until, "owner": owner})]
        wanted = list({r.event_id for r in rows if r.event_id is not None} - known_events)
        events = [EventRow(*e) for e in await self._execute(
            _PG_EVENTS, {"ids": _uuids(wanted)})] if wanted else []
        return rows, events

    async def record(self, results: list[Result], *, ok: list[uuid.UUID],
                     failing: list[uuid.UUID], now: datetime, fresh: datetime) -> int:
        docs = [{"id": r.id, "owner": r.owner, "status": r.status, "attempts": r.attempts,
                 "next_at": next_at, "code": r.status_code, "error": r.error,
                 "last_at": last_at, "ok_at": ok_at, "logged": r.logged, "started": started,
                 "duration": r.duration_ms, "body": r.response_body, "retry_at": retry_at}
                for r, (next_at, last_at, ok_at, started, retry_at)
                in zip(results, result_stamps(results, now, _iso), strict=True)]
        rows = json.dumps(docs, separators=(",", ":"))
        params = {"rows": rows, "ok": _uuids(ok), "failing": _uuids(failing), "now": now,
                  "fresh": fresh}
        return len(await self._execute(_PG_RECORD, params))

    async def release(self, held: list[tuple[int, str]], due_at: datetime | None = None) -> None:
        if held:
            await self._execute(_PG_RELEASE, {
                "ids": [i for i, _ in held], "owners": [o for _, o in held],
                "pending": DeliveryStatus.pending.value, "due_at": due_at})

    async def aclose(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
        await self.engine.dispose()

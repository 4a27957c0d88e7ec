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
from app.delivery.store import Claimed, EventRow, Result

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

# Only rows still held by the claim that sent them (`d.lease_owner = v.owner`, re-checked by
# PostgreSQL after any lock wait) are written, and the attempt log gets exactly those rows.
# The batch travels as one JSON document (cheaper to build than a dozen typed arrays), written
# short (see `_docs`): a field that repeats the batch's time, the attempt's start or the next
# attempt is left out and filled in here; the claims' owners are a separate array.
_PG_RECORD = text("""
WITH v AS (
    SELECT v.i AS id, (CAST(:owners AS VARCHAR[]))[v.o] AS owner, v.s AS status,
        v.a AS attempts, COALESCE(v.n, :now) AS next_at, v.c AS code, v.e AS error,
        CASE WHEN v.x THEN NULL ELSE COALESCE(v.l, v.t) END AS last_at,
        CASE WHEN v.ok THEN :now ELSE v.k END AS ok_at,
        v.g AS logged, v.t AS started, v.d AS duration, v.b AS body,
        CASE WHEN v.r THEN COALESCE(v.n, :now) ELSE v.rt END AS retry_at
    FROM json_to_recordset(CAST(:rows AS JSON)) AS v(
        i BIGINT, o INTEGER, s VARCHAR, a INTEGER, n TIMESTAMPTZ, c INTEGER, e VARCHAR,
        l TIMESTAMPTZ, x BOOLEAN, ok BOOLEAN, k TIMESTAMPTZ, g BOOLEAN, t TIMESTAMPTZ, d INTEGER,
        b TEXT, r BOOLEAN, rt TIMESTAMPTZ)
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
    UPDATE webhook_endpoints SET failing_since = NULL
    WHERE id = ANY(CAST(:ok AS UUID[])) AND failing_since IS NOT NULL
), failing AS (
    UPDATE webhook_endpoints SET failing_since = :now
    WHERE id = ANY(CAST(:failing AS UUID[])) AND failing_since IS NULL
)
SELECT id FROM u
""")


def _docs(results: list[Result], now: datetime) -> tuple[list[dict[str, Any]], list[str]]:
    """The batch as `_PG_RECORD` reads it, and the owners it numbers (from 1). Most of a
    result's times are the batch's `now` or the attempt's start (see record.py): those, and
    empty fields, are left out (a third of the bytes: JSON building and sending them was a
    fifth of the worker process's CPU on PostgreSQL)."""
    owners: dict[str | None, int] = {}
    docs: list[dict[str, Any]] = []
    for r in results:
        started = r.started_at
        doc: dict[str, Any] = {"i": r.id, "o": owners.setdefault(r.owner, len(owners) + 1),
                               "s": r.status, "a": r.attempts, "t": started.isoformat(),
                               "d": r.duration_ms}
        if r.logged:
            doc["g"] = True
        if r.next_attempt_at is not now:
            doc["n"] = r.next_attempt_at.isoformat()
        if r.status_code is not None:
            doc["c"] = r.status_code
        if r.error is not None:
            doc["e"] = r.error
        if r.last_attempt_at is None:
            doc["x"] = True
        elif r.last_attempt_at is not started:
            doc["l"] = r.last_attempt_at.isoformat()
        if r.succeeded_at is now:
            doc["ok"] = True
        elif r.succeeded_at is not None:
            doc["k"] = r.succeeded_at.isoformat()
        if r.response_body is not None:
            doc["b"] = r.response_body
        if r.retry_at is not None:
            if r.retry_at is r.next_attempt_at:
                doc["r"] = True
            else:
                doc["rt"] = r.retry_at.isoformat()
        docs.append(doc)
    return docs, [o or "" for o in owners]


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
                     failing: list[uuid.UUID], now: datetime) -> int:
        docs, owners = _docs(results, now)
        params = {"rows": json.dumps(docs, separators=(",", ":")), "owners": owners,
                  "ok": _uuids(ok), "failing": _uuids(failing), "now": now}
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

"""The delivery store on SQLite: a batch is a few statements on the worker's own connection."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from app.delivery.models import DeliveryStatus
from app.delivery.store import Claimed, EventRow, Result, result_stamps


def _ts(value: datetime | None) -> str | None:
    """A timestamp as SQLAlchemy stores it on SQLite (naive UTC text, microseconds).
    `isoformat` and a cut, not `strftime`: a third of the cost, five per recorded result."""
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]  # without its "+00:00"


def _dt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)


def _uuid(value: str | None) -> uuid.UUID | None:
    return None if value is None else _uuid_of(value)


def _uuid_of(value: str, new: Any = object.__new__, put: Any = object.__setattr__) -> uuid.UUID:
    """`uuid.UUID(hex=value)` for a 32-digit hex text SQLite stored (three per claimed row),
    without the constructor's parsing of every other form: a third of its cost."""
    u: uuid.UUID = new(uuid.UUID)
    put(u, "int", int(value, 16))
    put(u, "is_safe", uuid.SafeUUID.unknown)
    return u


DATA_VERSION_POLL = 0.02  # seconds between looks at SQLite's data_version while idle


# A claim hands its ids over as one JSON text, and its rows come back as one JSON text: SQLite
# steps once per statement, not once per row. (The sqlite3 module lets go of the GIL at every
# step; in a worker that sends on its own event loop, each step of a batch run on a thread
# would wait its turn. Recording binds values instead: see below.)
_SQLITE_DUE = """
SELECT json_group_array(id) FROM (
    SELECT id FROM deliveries WHERE status = ? AND next_attempt_at <= ?
    AND (lease_until IS NULL OR lease_until < ?) ORDER BY next_attempt_at LIMIT ?)
"""
_SQLITE_LEASE = ("UPDATE deliveries SET lease_until = ?, lease_owner = ? "
                 "WHERE id IN (SELECT value FROM json_each(?))")
_SQLITE_CLAIMED = """
SELECT json_group_array(json_array(
    d.id, d.attempts, d.subscriber_id, d.event_id, d.event_type, d.created_at, d.test_payload,
    d.endpoint_id, e.url, e.enabled, e.removed_at, e.failing_since, hex(e.secret_sealed),
    hex(e.previous_secret_sealed), e.previous_secret_expires_at))
FROM deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
WHERE d.id IN (SELECT value FROM json_each(?))
"""
_SQLITE_EVENTS = """
SELECT json_group_array(json_array(id, type, occurred_at, data, action)) FROM events
WHERE id IN (SELECT value FROM json_each(?))
"""


# A recorded batch is two prepared statements run for each result (`executemany`): binding
# values costs SQLite less than reading them back out of a JSON text, and building the tuples
# less than the JSON (a third less CPU for 10,000 results). Attempts first, for the rows still
# held; then the rows themselves (the same condition): a late result writes nothing.
_SQLITE_ATTEMPT = """
INSERT INTO delivery_attempts (delivery_id, number, started_at, duration_ms, status_code,
                               error_class, response_body, next_attempt_at)
SELECT id, ?, ?, ?, ?, ?, ?, ? FROM deliveries WHERE id = ? AND lease_owner = ?
"""
_SQLITE_RECORD = """
UPDATE deliveries SET status = ?, attempts = ?, next_attempt_at = ?, last_status_code = ?,
    last_error = ?, last_attempt_at = ?, succeeded_at = ?, lease_until = NULL, lease_owner = NULL
WHERE id = ? AND lease_owner = ?
"""
_SQLITE_HEALTHY = """
UPDATE webhook_endpoints SET failing_since = NULL
WHERE id IN (SELECT value FROM json_each(?)) AND failing_since IS NOT NULL
"""
_SQLITE_FAILING = """
UPDATE webhook_endpoints SET failing_since = ?
WHERE id IN (SELECT value FROM json_each(?)) AND failing_since IS NULL
"""


def _result_rows(results: list[Result], now: datetime,
                 ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The results as `_SQLITE_ATTEMPT` (those logged) and `_SQLITE_RECORD` take them."""
    attempts, rows = [], []
    for r, (next_at, last_at, ok_at, started, retry_at) in zip(
            results, result_stamps(results, now, _ts), strict=True):
        if r.logged:
            attempts.append((r.attempts, started, r.duration_ms, r.status_code, r.error,
                             r.response_body, retry_at, r.id, r.owner))
        rows.append((r.status, r.attempts, next_at, r.status_code, r.error, last_at, ok_at,
                     r.id, r.owner))
    return attempts, rows


def _hexes(values: list[uuid.UUID] | set[uuid.UUID]) -> str:
    return json.dumps([v.hex for v in values])


def _blob(value: str | None) -> bytes | None:
    return bytes.fromhex(value) if value else None


class SqliteStore:
    """One connection of the worker's own. A batch is a few statements of in-process work
    (milliseconds): it runs right on the event loop, waiting at most `IN_LOOP_WAIT` for the
    database's write lock; when another process holds the lock longer, the batch waits for it
    on a thread instead. (Handing every batch to a thread costs a scheduling delay per hop,
    which on a loaded machine is worth more than the work.)"""

    IN_LOOP_WAIT = 20  # ms
    # The connection's page cache (SQLite's default is 2 MB). A batch touches pages all over
    # the deliveries, their indexes and the endpoints; with 2 MB they were read again from the
    # file at every batch: 5 `pread` calls per delivery, 200,000 for 40,000 (strace), against
    # 5,600 with 32 MB. The cache lives as long as no other connection writes; it is filled
    # only as pages are used (at most this much of the worker's memory).
    CACHE_KIB = 32 * 1024

    def __init__(self, path: str) -> None:
        self.path = path
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rr-delivery-db")
        self._conn: sqlite3.Connection | None = None
        self._closed = False
        self._turn = asyncio.Lock()  # one batch at a time on the connection

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            for pragma in ("foreign_keys=ON", f"busy_timeout={self.IN_LOOP_WAIT}",
                           "journal_mode=WAL", "synchronous=NORMAL",
                           f"cache_size=-{self.CACHE_KIB}"):
                conn.execute(f"PRAGMA {pragma}")
            self._conn = conn
        return self._conn

    async def _run(self, fn: Any) -> Any:
        async with self._turn:
            try:
                return fn()
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
            conn = self._connection()
            conn.execute("PRAGMA busy_timeout=30000")
            try:
                return await asyncio.get_running_loop().run_in_executor(self._pool, fn)
            finally:
                conn.execute(f"PRAGMA busy_timeout={self.IN_LOOP_WAIT}")

    @staticmethod
    def _transaction(conn: sqlite3.Connection, work: Any) -> Any:
        # IMMEDIATE: the write lock first, so what is read here cannot change before the write.
        conn.execute("BEGIN IMMEDIATE")
        try:
            out = work(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return out

    async def claim(self, *, limit: int, now: datetime, until: datetime, owner: str,
                    known_events: set[uuid.UUID]) -> tuple[list[Claimed], list[EventRow]]:
        def work(conn: sqlite3.Connection) -> tuple[list[Claimed], list[EventRow]]:
            (ids,) = conn.execute(_SQLITE_DUE, (DeliveryStatus.pending.value, _ts(now), _ts(now),
                                                limit)).fetchone()
            if ids == "[]":
                return [], []
            conn.execute(_SQLITE_LEASE, (_ts(until), owner, ids))
            (found,) = conn.execute(_SQLITE_CLAIMED, (ids,)).fetchone()
            rows = [Claimed(
                id=r[0], attempts=r[1], subscriber_id=_uuid_of(r[2]), event_id=_uuid(r[3]),
                event_type=r[4], created_at=_dt(r[5]) or now,
                test_payload=json.loads(r[6]) if r[6] is not None else None,
                endpoint_id=_uuid_of(r[7]), url=r[8], enabled=bool(r[9]),
                removed_at=_dt(r[10]), failing_since=_dt(r[11]),
                secret_sealed=_blob(r[12]) or b"", previous_secret_sealed=_blob(r[13]),
                previous_secret_expires_at=_dt(r[14])) for r in json.loads(found)]
            wanted = {r.event_id for r in rows if r.event_id} - known_events
            if not wanted:
                return rows, []
            (evs,) = conn.execute(_SQLITE_EVENTS, (_hexes(wanted),)).fetchone()
            return rows, [EventRow(_uuid_of(e[0]), e[1], _dt(e[2]) or now, json.loads(e[3]),
                                   e[4]) for e in json.loads(evs)]

        def due_now(conn: sqlite3.Connection) -> bool:
            (ids,) = conn.execute(_SQLITE_DUE, (DeliveryStatus.pending.value, _ts(now), _ts(now),
                                                1)).fetchone()
            return bool(ids != "[]")

        # The worker wakes at every commit of any connection (data_version); most commits
        # (a filing, a page view's session) queue no delivery. Look first with a plain read,
        # which takes no lock, so those wake-ups never take the write lock from the requests.
        if not await self._run(lambda: due_now(self._connection())):
            return [], []
        result: tuple[list[Claimed], list[EventRow]] = await self._run(
            lambda: self._transaction(self._connection(), work))
        return result

    async def record(self, results: list[Result], *, ok: list[uuid.UUID],
                     failing: list[uuid.UUID], now: datetime) -> int:
        def work(conn: sqlite3.Connection) -> int:
            attempts, rows = _result_rows(results, now)
            conn.executemany(_SQLITE_ATTEMPT, attempts)
            written = conn.executemany(_SQLITE_RECORD, rows).rowcount
            if ok:
                conn.execute(_SQLITE_HEALTHY, (_hexes(ok),))
            if failing:
                conn.execute(_SQLITE_FAILING, (_ts(now), _hexes(failing)))
            return int(written)

        if not results:
            return 0
        written: int = await self._run(lambda: self._transaction(self._connection(), work))
        return written

    async def wait_for_work(self, timeout: float) -> None:
        # Another connection's commit changes `PRAGMA data_version` (a read of shared memory).
        def version() -> int:
            return int(self._connection().execute("PRAGMA data_version").fetchone()[0])

        # Only while no batch is under way: one waiting for the write lock on a thread holds
        # the connection, and the event loop must never wait for it.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        first: int | None = None
        while loop.time() < deadline:
            if not self._turn.locked():
                seen = version()
                if first is None:
                    first = seen
                elif seen != first:
                    return
            await asyncio.sleep(min(DATA_VERSION_POLL, max(0.0, deadline - loop.time())))

    async def release(self, held: list[tuple[int, str]], due_at: datetime | None = None) -> None:
        def work(conn: sqlite3.Connection) -> None:
            conn.executemany("UPDATE deliveries SET lease_until = NULL, lease_owner = NULL, "
                             "next_attempt_at = COALESCE(?, next_attempt_at) "
                             "WHERE id = ? AND lease_owner = ? AND status = ?",
                             [(_ts(due_at), i, o, DeliveryStatus.pending.value)
                              for i, o in held])

        if held:
            await self._run(lambda: self._transaction(self._connection(), work))

    async def aclose(self) -> None:
        def close() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        if not self._closed:
            self._closed = True
            async with self._turn:
                close()
            self._pool.shutdown(wait=False)

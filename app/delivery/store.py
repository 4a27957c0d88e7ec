"""The delivery worker's database work, set-based: one claim and one record per batch.

Claiming and recording a batch of up to a few hundred deliveries cost a fixed number of
statements, whatever the number of rows (store_pg.py, store_sqlite.py; this module holds
only the shapes both share, so neither imports back up; worker.py picks one):

- PostgreSQL: the claim is one statement (`FOR UPDATE SKIP LOCKED` candidates, the lease
  `UPDATE ... RETURNING`, joined to the endpoints); the record is one statement too, the
  results passed as one JSON document (`json_to_recordset`): the lease-guarded `UPDATE`, the
  attempt log for exactly the rows that update touched, and the endpoints' health.
- SQLite: a few statements on the worker's own connection, each handing over or returning the
  whole batch as one JSON text (SQLite steps once per statement, not once per row), run on the
  event loop (a thread only while another process holds the write lock).

Both keep the outbox rules: a row is leased to one claim at a time, and a result is written
only while the row is still held by the claim that sent it (a late result is dropped).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Claimed:
    """A claimed delivery with what sending it needs of its endpoint."""

    id: int
    attempts: int
    subscriber_id: uuid.UUID
    event_id: uuid.UUID | None
    event_type: str
    created_at: datetime
    test_payload: dict[str, Any] | None
    endpoint_id: uuid.UUID
    url: str
    enabled: bool
    removed_at: datetime | None
    failing_since: datetime | None
    secret_sealed: bytes
    previous_secret_sealed: bytes | None
    previous_secret_expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class EventRow:
    id: uuid.UUID
    type: str
    occurred_at: datetime
    data: dict[str, Any]
    action: str


@dataclass(slots=True)
class Result:
    """What to write for one delivery (`logged`: also an attempt row; False when the endpoint
    was disabled or removed before sending)."""

    id: int
    owner: str | None
    status: str
    attempts: int
    next_attempt_at: datetime
    status_code: int | None
    error: str | None
    last_attempt_at: datetime | None
    succeeded_at: datetime | None
    logged: bool
    started_at: datetime
    duration_ms: int
    response_body: str | None
    retry_at: datetime | None  # the attempt log's next_attempt_at (None: no retry)


Stamps = tuple[str | None, str | None, str | None, str, str | None]


def result_stamps(results: list[Result], now: datetime,
                  text: Callable[[datetime | None], str | None]) -> list[Stamps]:
    """Each result's next_attempt_at, last_attempt_at, succeeded_at, started_at and retry_at
    as the store writes them (`text`). Most are the batch's `now`, or the attempt's start twice:
    each is formatted once (it was five calls per result)."""
    now_text = text(now)

    def stamp(value: datetime | None) -> str | None:
        return now_text if value is now else text(value)

    out: list[Stamps] = []
    for r in results:
        started = text(r.started_at)
        assert started is not None
        out.append((stamp(r.next_attempt_at),
                    started if r.last_attempt_at is r.started_at else stamp(r.last_attempt_at),
                    stamp(r.succeeded_at), started, stamp(r.retry_at)))
    return out


class Store(Protocol):
    async def claim(self, *, limit: int, now: datetime, until: datetime, owner: str,
                    known_events: set[uuid.UUID]) -> tuple[list[Claimed], list[EventRow]]:
        """Lease up to `limit` due deliveries to `owner` until `until` (committed); the rows,
        and the events among them not in `known_events`."""

    async def record(self, results: list[Result], *, ok: list[uuid.UUID],
                     failing: list[uuid.UUID], now: datetime) -> int:
        """Write `results` still held by their owner, and the endpoints' health (committed):
        `ok` endpoints are failing no more, `failing` ones are failing since `now` (if not
        already). Returns how many were written (the others were late)."""

    async def release(self, held: list[tuple[int, str]], due_at: datetime | None = None) -> None:
        """Give claimed, unsent deliveries back (the worker is stopping: at once; surplus work
        for a busy lane: due again at `due_at`). No attempt is counted."""

    async def wait_for_work(self, timeout: float) -> None:
        """Return when new deliveries may be due (written by another connection), or after
        `timeout`: so a fan-out starts at once rather than on the next poll."""

    async def aclose(self) -> None: ...

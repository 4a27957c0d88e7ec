"""The delivery worker: claims due deliveries in batches, sends them concurrently with one
shared aiohttp session, and records the results in batches.

Its roles, one module each: claiming and recording are set-based, a fixed number of statements
per batch (store.py); what a send needs is built once per event, endpoint and host (jobs.py);
sending is a fixed pool of sender coroutines per lane (send.py); record.py writes the results.

- Claims are leases (`FOR UPDATE SKIP LOCKED` on PostgreSQL): several workers share the work,
  and a crashed worker's rows are taken again once the lease runs out. A result is written only
  while its row is still held by the claim that sent it: a late result never overwrites.
- The claimer keeps up to eight times the concurrency claimed ahead of the senders, and claims
  again as soon as results are recorded (room freed), not on the next poll.
- On stop, claimed deliveries not yet sent are given back at once (their lease is cleared).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.config import Settings
from app.crypto import Keyring
from app.db import utcnow
from app.delivery.attempt import Job, Outcome
from app.delivery.jobs import JobBuilder, envelope
from app.delivery.record import Recorder
from app.delivery.remote import RemoteSender, SendingProcessLost
from app.delivery.send import BODY_LIMIT, Sender
from app.delivery.signing import ServiceKeys
from app.delivery.ssrf import Resolver, SystemResolver
from app.delivery.store import Store
from app.delivery.store_pg import PgStore
from app.delivery.store_sqlite import SqliteStore

__all__ = ["BODY_LIMIT", "DeliveryWorker", "Job", "Outcome", "envelope", "lease_for"]

log = logging.getLogger(__name__)

def lease_for(settings: Settings) -> timedelta:
    """How long a claimed delivery stays this worker's: longer than one attempt can take, so
    two workers never send the same delivery at once; a crashed worker's rows come back after."""
    floor = settings.webhook_timeout_seconds + 5
    wanted = settings.delivery_lease_seconds or 2 * settings.webhook_timeout_seconds + 60
    return timedelta(seconds=max(floor, wanted))


def store_for(engine: AsyncEngine) -> Store:
    if engine.dialect.name == "sqlite":
        return SqliteStore(engine.url.database or ":memory:")
    return PgStore(engine)


class DeliveryWorker:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings,
                 keyring: Keyring, *, resolver: Resolver | None = None,
                 keys: ServiceKeys | None = None, batch_size: int = 500,
                 lease: timedelta | None = None, sending_process: bool = False) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.resolver = resolver or SystemResolver()
        # The sends in a child process (remote.py), with its own resolver and keys from the
        # settings; else on this event loop.
        assert not (sending_process and (resolver or keys)), "a sending process makes its own"
        self.sending_process = sending_process
        self.keys = keys
        self.concurrency = settings.webhook_concurrency
        self.batch_size = max(1, min(batch_size, self.concurrency * 2))
        self.lease = lease or lease_for(settings)
        # Claimed, not yet recorded, not waiting. Eight rounds of the senders: results wait a
        # little to be recorded in batches, and a claim takes a while on a busy loop; with four,
        # the senders ran out of jobs between claims (PostgreSQL, 10,000 endpoints).
        self.capacity = self.concurrency * 8
        engine = sessionmaker.kw.get("bind")
        assert isinstance(engine, AsyncEngine), "the sessionmaker must be bound to an engine"
        self.store: Store = store_for(engine)
        self.jobs = JobBuilder(settings, keyring)
        self.sender = self._new_sender()
        # Of the capacity, at most this much for endpoints already failing (four rounds of
        # their lane's senders).
        self.failing_capacity = 4 * self.sender.failing_size
        self.recorder = Recorder(self.store, sessionmaker, settings, keyring,
                                 recorded=self._recorded, outstanding=self._outstanding)
        self._in_flight = 0  # claimed and not recorded (waiting sends included)
        self._room = asyncio.Event()  # set when recorded results or slow sends free room
        self.sent = 0  # results recorded (or dropped as late)
        self._started: Callable[[], None] | None = None

    def _new_sender(self) -> Sender | RemoteSender:
        if self.sending_process:
            return RemoteSender(self.settings, done=self._done, room=self._free,
                                give_back=self._give_back)
        return Sender(self.settings, self.keys or ServiceKeys.from_settings(self.settings),
                      self.resolver, done=self._done, room=self._free)

    # --- the loop --------------------------------------------------------------------------

    def _room_left(self) -> int:
        return self.capacity - (self._in_flight - self.sender.waiting)

    async def run(self, stop: asyncio.Event,
                  started: Callable[[], None] | None = None) -> None:
        """Deliver until `stop` is set; then let in-flight requests finish (bounded). A lost
        sending process (what it held given back) is replaced, after a second. `started` is
        called once the senders first run."""
        self._started = started
        recorder = asyncio.create_task(self.recorder.run())
        try:
            while not stop.is_set():
                try:
                    await self._send_until(stop)
                except SendingProcessLost:
                    log.error("the sending process ended unexpectedly; starting another")
                    await _first(stop.wait(), timeout=1.0)
                    self.sender = self._new_sender()
        finally:
            self.recorder.stop()
            await recorder
            await self.store.aclose()

    async def _send_until(self, stop: asyncio.Event) -> None:
        async with self.sender.running():
            if self._started is not None:
                self._started()
                self._started = None
            try:
                await self._claim_loop(stop)
            finally:
                await self._give_back(await self.sender.drain())
                await self.sender.finish(self.settings.webhook_timeout_seconds + 1)

    async def _claim_loop(self, stop: asyncio.Event) -> None:
        poll = self.settings.delivery_poll_seconds
        while not stop.is_set() and not self.sender.lost:
            room = self._room_left()
            if room < max(1, self.batch_size // 2):
                # Full: wait until results are recorded (or sends turn slow), not a poll.
                self._room.clear()
                await _first(self._room.wait(), stop.wait(), timeout=poll)
                continue
            wanted = min(room, self.batch_size)
            jobs: list[Job] = []
            try:
                jobs = await self._claim(wanted)
            except Exception:
                log.exception("claiming deliveries failed; trying again")
            claimed = len(jobs)
            if any(job.failing for job in jobs):
                jobs = await self._defer_surplus_failing(jobs)
            for job in jobs:
                self._in_flight += 1
                self.sender.submit(job)
            if claimed >= wanted:
                # More may be due: claim again at once, but first let the senders (or the
                # writer to the sending process) start on these: a claim does not yield.
                await asyncio.sleep(0)
                continue
            # Nothing more due now: wait for new deliveries to be written (notified), for
            # retries to come due (the poll), or for the stop.
            await _first(stop.wait(), self.store.wait_for_work(poll), timeout=poll)

    async def _claim(self, limit: int) -> list[Job]:
        """Lease up to `limit` due deliveries (committed) and build their jobs."""
        now = utcnow()
        owner = uuid.uuid4().hex
        rows, events = await self.store.claim(limit=limit, now=now, until=now + self.lease,
                                              owner=owner, known_events=self.jobs.known_events())
        self.jobs.learn(events)
        return self.jobs.build(rows, owner, now)

    async def _defer_surplus_failing(self, jobs: list[Job]) -> list[Job]:
        """Endpoints already failing share a small lane. Claimed beyond what it works off in
        a few rounds, their retries would fill the claim's whole capacity and starve healthy
        endpoints (the retries of 1,000 dead endpoints held up 100,000 healthy deliveries for
        minutes): the surplus goes back, due again after one timeout, no attempt counted."""
        room = max(0, self.failing_capacity - self.sender.failing_backlog())
        failing = [job for job in jobs if job.failing]
        surplus = failing[room:]
        if not surplus:
            return jobs
        later = utcnow() + timedelta(seconds=self.settings.webhook_timeout_seconds)
        try:
            await self.store.release([(j.delivery_id, j.lease_owner) for j in surplus
                                      if j.lease_owner is not None], due_at=later)
        except Exception:  # their leases run out instead; they are not sent by this worker
            log.exception("deferring %d deliveries to failing endpoints failed", len(surplus))
        deferred = {id(job) for job in surplus}
        return [job for job in jobs if id(job) not in deferred]

    async def _record(self, batch: list[Outcome]) -> None:
        await self.recorder.record(batch)

    async def _give_back(self, jobs: list[Job]) -> None:
        if not jobs:
            return
        self._in_flight -= len(jobs)
        try:
            await self.store.release([(j.delivery_id, j.lease_owner) for j in jobs
                                      if j.lease_owner is not None])
        except Exception:  # their leases run out instead
            log.exception("giving back %d claimed deliveries failed", len(jobs))

    # --- callbacks from the sender and the recorder ----------------------------------------

    def _done(self, outcome: Outcome) -> None:
        self.recorder.put(outcome)

    def _free(self) -> None:
        self._room.set()

    def _outstanding(self) -> int:
        """Sends handed to the sender whose outcome has not come back yet."""
        return self._in_flight - self.recorder.waiting()

    def _recorded(self, n: int) -> None:
        self._in_flight -= n
        self.sent += n
        self._room.set()


async def _first(*waits: Coroutine[Any, Any, Any], timeout: float) -> None:
    """Return when the first of `waits` is done, or after `timeout`; cancel the rest."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()

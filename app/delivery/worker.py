"""The delivery worker: claims due deliveries in batches, sends them concurrently with one
shared aiohttp session, and records the results in batches.

- Bounded concurrency, per-request timeouts, and a separate, smaller lane for endpoints that
  are already failing. A send still unanswered after `webhook_slow_after_seconds` gives its
  slot back and waits in a larger pool of idle connections: a slow or dead endpoint never
  holds up the others (it only costs a socket until its timeout).
- The claimer wakes as soon as results are recorded (room freed), not on the next poll.
- Claims are leases (`FOR UPDATE SKIP LOCKED` on PostgreSQL): several workers share the work,
  and a crashed worker's rows are taken again once the lease runs out.
- Connect-time SSRF check: the resolver refuses non-public answers and the connection goes to
  the checked address; IP literals are checked before connecting. Redirects are never followed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast
from urllib.parse import urlsplit

import aiohttp
from prometheus_client import Counter, Histogram
from sqlalchemy import CursorResult, Table, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.acks.links import ack_url
from app.config import Settings
from app.crypto import Keyring
from app.db import utcnow
from app.delivery.models import Delivery, DeliveryAttempt, DeliveryStatus, ErrorClass
from app.delivery.schedule import backoff, retry_after
from app.delivery.signing import ServiceKeys, sign_v1, signed_content
from app.delivery.ssrf import CheckingResolver, Resolver, SSRFBlocked, SystemResolver, is_public
from app.delivery.ssrf import literal_ip as _literal_ip
from app.emails import service as emails
from app.events.models import Event, RequiredAction
from app.jobs.claim import claim
from app.subscribers.models import Endpoint, Subscriber
from app.subscribers.service import contact_email, signing_secrets

log = logging.getLogger(__name__)

# An endpoint's last_success_at is only rewritten once it is older than this (and whenever
# the endpoint was failing): a healthy endpoint's row is not updated for every delivery.
SUCCESS_PRECISION = timedelta(seconds=60)
BODY_LIMIT = 1024  # bytes of a response kept in the attempt log
USER_AGENT = "RightsRelay-Webhooks/1.0 (+https://www.standardwebhooks.com/)"

ATTEMPTS = Counter("rr_webhook_attempts_total", "Webhook delivery attempts", ["result"])
ATTEMPT_SECONDS = Histogram("rr_webhook_attempt_seconds", "Webhook attempt duration",
                            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))


@dataclass
class Job:
    delivery_id: int
    attempt: int  # this attempt's number, from 1
    endpoint_id: uuid.UUID
    subscriber_id: uuid.UUID
    url: str
    secrets: list[str]
    failing: bool
    msg_id: str
    event_type: str
    body: bytes
    ack_url: str | None
    lease_owner: str | None = None
    usable: bool = True  # False: endpoint disabled or removed since the row was written


@dataclass(frozen=True, slots=True)
class _Sealed:
    """An endpoint's sealed secrets, as the claim selects them (see `signing_secrets`)."""

    id: uuid.UUID
    secret_sealed: bytes
    previous_secret_sealed: bytes | None
    previous_secret_expires_at: datetime | None


@dataclass
class Outcome:
    job: Job
    started_at: datetime
    duration_ms: int
    status_code: int | None = None
    error: ErrorClass | None = None
    response_body: str | None = None
    retry_after: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.status_code is not None and \
            200 <= self.status_code < 300


def lease_for(settings: Settings) -> timedelta:
    """How long a claimed delivery stays this worker's: longer than one attempt can take, so
    two workers never send the same delivery at once; a crashed worker's rows come back after."""
    floor = settings.webhook_timeout_seconds + 5
    wanted = settings.delivery_lease_seconds or 2 * settings.webhook_timeout_seconds + 60
    return timedelta(seconds=max(floor, wanted))


def envelope(event_type: str, occurred_at: datetime, data: dict[str, Any]) -> bytes:
    """The webhook body, `{"type", "timestamp", "data"}`, as compact JSON."""
    stamp = occurred_at.isoformat().replace("+00:00", "Z")
    return json.dumps({"type": event_type, "timestamp": stamp, "data": data},
                      separators=(",", ":"), ensure_ascii=False).encode()


class DeliveryWorker:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings,
                 keyring: Keyring, *, resolver: Resolver | None = None,
                 keys: ServiceKeys | None = None, batch_size: int = 500,
                 lease: timedelta | None = None) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.keyring = keyring
        self.resolver = resolver or SystemResolver()
        self.keys = keys or ServiceKeys.from_settings(settings)
        self.concurrency = settings.webhook_concurrency
        self.batch_size = max(1, min(batch_size, self.concurrency * 2))
        self.lease = lease or lease_for(settings)
        self.capacity = self.concurrency * 4  # claimed, not yet recorded, not waiting
        self.slow_after = settings.webhook_slow_after_seconds
        self.waiting_capacity = settings.webhook_waiting_connections
        self._healthy = asyncio.Semaphore(self.concurrency)
        self._failing = asyncio.Semaphore(max(2, self.concurrency // 8))
        self._outcomes: asyncio.Queue[Outcome] = asyncio.Queue()
        self._v1a: dict[tuple[str, int], str] = {}
        self._literal_blocked: dict[str, bool] = {}
        self._in_flight = 0
        self._waiting = 0  # slow sends that gave their slot back
        self._room = asyncio.Event()  # set when recorded results or slow sends free room
        # SQLite has one writer at a time: claims and records take turns here rather than in
        # SQLite's busy handler, which sleeps in coarse steps while the other commits.
        bind = sessionmaker.kw.get("bind")
        sqlite = bind is not None and bind.dialect.name == "sqlite"
        self._writing: contextlib.AbstractAsyncContextManager[Any] = \
            asyncio.Lock() if sqlite else contextlib.nullcontext()
        self.sent = 0

    # --- the loop --------------------------------------------------------------------------

    def _client(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self.concurrency + self.waiting_capacity + 8, limit_per_host=0, ttl_dns_cache=10,
            resolver=CheckingResolver(self.resolver,
                                      allow_private=self.settings.allow_private_webhook_targets))
        timeout = aiohttp.ClientTimeout(total=self.settings.webhook_timeout_seconds,
                                        sock_connect=self.settings.webhook_connect_timeout_seconds)
        return aiohttp.ClientSession(connector=connector, timeout=timeout,
                                     cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=False,
                                     headers={"user-agent": USER_AGENT})

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set; then let in-flight requests finish (bounded)."""
        _raise_open_files(self.concurrency + self.waiting_capacity + 256)
        tasks: set[asyncio.Task[None]] = set()
        recorder = asyncio.create_task(self._record_loop())
        async with self._client() as http:
            while not stop.is_set():
                room = self.capacity - self._in_flight
                if room < max(1, self.batch_size // 4):
                    # Full: wait until results are recorded (or sends turn slow), not a poll.
                    self._room.clear()
                    await _first(self._room.wait(), stop.wait(),
                                 timeout=self.settings.delivery_poll_seconds)
                    continue
                jobs: list[Job] = []
                try:
                    jobs = await self._claim(min(room, self.batch_size))
                except Exception:
                    log.exception("claiming deliveries failed; trying again")
                for job in jobs:
                    self._in_flight += 1
                    task = asyncio.create_task(self._send(http, job))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                if jobs and len(jobs) >= min(room, self.batch_size):
                    await asyncio.sleep(0)  # more may be due: claim again at once
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.settings.delivery_poll_seconds)
            if tasks:
                await asyncio.wait(tasks, timeout=self.settings.webhook_timeout_seconds + 1)
                for task in tasks:
                    task.cancel()
        await self._outcomes.put(_STOP)
        await recorder

    async def _claim(self, limit: int) -> list[Job]:
        now = utcnow()
        async with self._writing, self.sessionmaker() as session:
            ids = await claim(session, Delivery, limit=limit, lease=self.lease,
                              order_by=Delivery.next_attempt_at,
                              due=(Delivery.status == DeliveryStatus.pending)
                              & (Delivery.next_attempt_at <= now))
            if not ids:
                return []
            # Plain columns (Core rows, not ORM objects): only what sending needs.
            d, e = Delivery, Endpoint
            rows = (await session.execute(
                select(d.id, d.attempts, d.subscriber_id, d.event_id, d.event_type,
                       d.created_at, d.test_payload, d.lease_owner,
                       e.id.label("endpoint_id"), e.url, e.enabled, e.removed_at,
                       e.failing_since, e.secret_sealed, e.previous_secret_sealed,
                       e.previous_secret_expires_at)
                .join(e, e.id == d.endpoint_id).where(d.id.in_(ids)))).all()
            event_ids = {r.event_id for r in rows if r.event_id is not None}
            events = {ev.id: ev for ev in (await session.execute(
                select(Event.id, Event.type, Event.occurred_at, Event.data, Event.action)
                .where(Event.id.in_(event_ids)))).all()} if event_ids else {}
            await session.commit()
        bodies: dict[uuid.UUID, bytes] = {}
        secrets: dict[uuid.UUID, list[str]] = {}
        jobs: list[Job] = []
        for r in rows:
            usable = r.enabled and r.removed_at is None
            event = events.get(r.event_id) if r.event_id else None
            ack: str | None = None
            if event is not None:
                if event.id not in bodies:
                    bodies[event.id] = envelope(event.type, event.occurred_at, event.data)
                body, msg_id = bodies[event.id], str(event.id)
                if event.action != RequiredAction.no_action:
                    ack = ack_url(self.settings, event.id, r.subscriber_id)
            else:
                payload = r.test_payload or {}
                body = envelope(r.event_type, r.created_at, payload)
                msg_id = str(payload.get("event_id", r.id))
            if usable and r.endpoint_id not in secrets:
                secrets[r.endpoint_id] = signing_secrets(self.keyring, _Sealed(
                    r.endpoint_id, r.secret_sealed, r.previous_secret_sealed,
                    r.previous_secret_expires_at))
            jobs.append(Job(
                delivery_id=r.id, attempt=r.attempts + 1, endpoint_id=r.endpoint_id,
                subscriber_id=r.subscriber_id, url=r.url,
                secrets=secrets.get(r.endpoint_id, []), failing=r.failing_since is not None,
                msg_id=msg_id, event_type=r.event_type, body=body, ack_url=ack,
                lease_owner=r.lease_owner, usable=usable))
        return jobs

    # --- sending ---------------------------------------------------------------------------

    def _signature(self, job: Job, timestamp: int, content: bytes) -> str:
        # Every endpoint of one event signs the same content in a given second: sign it once.
        key = self.keys.current
        cached = self._v1a.get((job.msg_id, timestamp))
        if cached is None:
            if len(self._v1a) > 50_000:
                self._v1a.clear()
            cached = self._v1a[(job.msg_id, timestamp)] = key.sign_v1a(content)
        return " ".join([*(sign_v1(secret, content) for secret in job.secrets), cached])

    def _headers(self, job: Job, timestamp: int) -> dict[str, str]:
        content = signed_content(job.msg_id, timestamp, job.body)
        headers = {
            "content-type": "application/json",
            "webhook-id": job.msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": self._signature(job, timestamp, content),
            "rights-relay-event-type": job.event_type,
            "rights-relay-attempt": str(job.attempt),
        }
        if job.ack_url:
            headers["rights-relay-ack-url"] = job.ack_url
        return headers

    async def _send(self, http: aiohttp.ClientSession, job: Job) -> None:
        if not job.usable:
            await self._outcomes.put(Outcome(job, utcnow(), 0))
            return
        lane = self._failing if job.failing else self._healthy
        await lane.acquire()
        slot = _Slot(self, lane, may_wait=not job.failing)
        try:
            outcome = Outcome(job, utcnow(), 0)
            start = time.perf_counter()
            try:
                await self._post(http, job, outcome)
            except SSRFBlocked:
                outcome.error = ErrorClass.ssrf_blocked
            except aiohttp.ClientConnectorDNSError as exc:
                blocked = isinstance(exc.os_error, SSRFBlocked)
                outcome.error = ErrorClass.ssrf_blocked if blocked else ErrorClass.dns_error
            except (aiohttp.ClientConnectorCertificateError, aiohttp.ClientSSLError):
                outcome.error = ErrorClass.tls_error
            except aiohttp.ClientConnectorError:
                outcome.error = ErrorClass.connect_error
            except TimeoutError:
                outcome.error = ErrorClass.timeout
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError,
                    aiohttp.ClientOSError, ConnectionError):
                outcome.error = ErrorClass.connection_reset
            except aiohttp.ClientError:
                outcome.error = ErrorClass.client_error
            except Exception:  # never let one endpoint take the worker down
                log.exception("delivery %s: unexpected error", job.delivery_id)
                outcome.error = ErrorClass.client_error
            elapsed = time.perf_counter() - start
            outcome.duration_ms = int(elapsed * 1000)
            ATTEMPTS.labels("success" if outcome.ok else (outcome.error or "error")).inc()
            ATTEMPT_SECONDS.observe(elapsed)
        finally:
            slot.release()
        self._outcomes.put_nowait(outcome)

    async def _post(self, http: aiohttp.ClientSession, job: Job, outcome: Outcome) -> None:
        # aiohttp does not resolve IP literals: check them here (once per URL).
        blocked = self._literal_blocked.get(job.url)
        if blocked is None:
            if len(self._literal_blocked) > 50_000:
                self._literal_blocked.clear()
            ip = _literal_ip(urlsplit(job.url).hostname or "")
            blocked = self._literal_blocked[job.url] = ip is not None and \
                not self.settings.allow_private_webhook_targets and not is_public(ip)
        if blocked:
            raise SSRFBlocked("a non-public address")
        headers = self._headers(job, int(time.time()))
        async with http.post(job.url, data=job.body, headers=headers,
                             allow_redirects=False) as resp:
            outcome.status_code = resp.status
            raw = await resp.content.read(BODY_LIMIT)
            outcome.response_body = raw.decode("utf-8", "replace") if raw else None
            outcome.retry_after = resp.headers.get("Retry-After")
        if 300 <= resp.status < 400:
            outcome.error = ErrorClass.redirect
        elif not 200 <= resp.status < 300:
            outcome.error = ErrorClass.http_status

    # --- recording -------------------------------------------------------------------------

    async def _record_loop(self) -> None:
        stopping = False
        while not stopping:
            first = await self._outcomes.get()
            batch: list[Outcome] = []
            if first is _STOP:
                stopping = True
            else:
                batch.append(first)
            deadline = time.monotonic() + 0.05
            while len(batch) < 500:
                timeout = deadline - time.monotonic()
                try:
                    item = (self._outcomes.get_nowait() if timeout <= 0 or stopping
                            else await asyncio.wait_for(self._outcomes.get(), timeout))
                except (asyncio.QueueEmpty, TimeoutError):
                    break
                if item is _STOP:
                    stopping = True
                    continue
                batch.append(item)
            if not batch:
                continue
            try:
                await self._record(batch)
            except Exception:
                # The leases run out and the deliveries are tried again: at least once.
                log.exception("recording %d delivery results failed", len(batch))
            finally:
                self._in_flight -= len(batch)
                self.sent += len(batch)
                self._room.set()

    async def _record(self, batch: list[Outcome]) -> None:
        for tries in range(3):
            try:
                async with self._writing, self.sessionmaker() as session:
                    # Usually every row is still this worker's: one guarded UPDATE tells.
                    # Otherwise (a lease ran out and may have been taken again, or a row was
                    # deleted) nothing of it is kept, and the rows still held are picked first.
                    if not await self._apply(session, batch, check_first=False):
                        await session.rollback()
                        await self._apply(session, batch, check_first=True)
                    await session.commit()
                return
            except IntegrityError:
                # Rows deleted meanwhile (a subscriber removed, a test wiping tables): drop them.
                async with self.sessionmaker() as session:
                    ids = [o.job.delivery_id for o in batch]
                    alive = set(await session.scalars(select(Delivery.id).where(
                        Delivery.id.in_(ids))))
                batch = [o for o in batch if o.job.delivery_id in alive]
                if not batch or tries == 2:
                    return

    async def _apply(self, session: AsyncSession, batch: list[Outcome], *,
                     check_first: bool) -> bool:
        """Record `batch` in `session`. Only rows this worker still holds are written: a lease
        that ran out may have been taken again. With `check_first`, the rows still held are
        selected first, locked (PostgreSQL) so that no claim takes them before the update.
        Without it, the guarded UPDATE (`WHERE id = ... AND lease_owner = ...`) is trusted
        only if it changed every row: False (and the caller rolls back) when it did not."""
        if check_first:
            rows = await session.execute(select(Delivery.id, Delivery.lease_owner).where(
                Delivery.id.in_([o.job.delivery_id for o in batch])).with_for_update())
            held = {(i, owner) for i, owner in rows}
            batch = [o for o in batch if (o.job.delivery_id, o.job.lease_owner) in held]
            if not batch:
                return True
        now = utcnow()
        scale = self.settings.retry_scale
        updates: list[dict[str, Any]] = []
        attempts: list[dict[str, Any]] = []
        last: dict[uuid.UUID, Outcome] = {}
        gone: set[uuid.UUID] = set()
        for o in batch:
            job = o.job
            row: dict[str, Any] = {"b_id": job.delivery_id, "b_owner": job.lease_owner,
                                   "b_attempts": job.attempt,
                                   "b_status": DeliveryStatus.failed.value, "b_next": now,
                                   "b_code": o.status_code,
                                   "b_error": o.error.value if o.error else None,
                                   "b_last": o.started_at, "b_ok_at": None}
            if not job.usable:
                row.update(b_attempts=job.attempt - 1, b_error="endpoint_disabled",
                           b_last=None)
                updates.append(row)
                continue
            next_at: datetime | None = None
            if o.ok:
                row.update(b_status=DeliveryStatus.succeeded.value, b_ok_at=now)
            elif o.status_code == 410:
                gone.add(job.endpoint_id)
            else:
                delay = backoff(job.attempt, scale)
                if delay is not None:
                    asked = retry_after(o.retry_after, now)
                    if asked is not None and asked > delay:
                        delay = asked
                    next_at = now + delay
                    row.update(b_status=DeliveryStatus.pending.value, b_next=next_at)
            updates.append(row)
            attempts.append({"delivery_id": job.delivery_id, "number": job.attempt,
                             "started_at": o.started_at, "duration_ms": o.duration_ms,
                             "status_code": o.status_code,
                             "error_class": o.error.value if o.error else None,
                             "response_body": o.response_body, "next_attempt_at": next_at})
            last[job.endpoint_id] = o
        t = Delivery.__table__
        assert isinstance(t, Table)
        result = await session.execute(
            update(t).where(t.c.id == bindparam("b_id"), t.c.lease_owner == bindparam("b_owner"))
            .values(status=bindparam("b_status"), attempts=bindparam("b_attempts"),
                    next_attempt_at=bindparam("b_next"), last_status_code=bindparam("b_code"),
                    last_error=bindparam("b_error"), last_attempt_at=bindparam("b_last"),
                    succeeded_at=bindparam("b_ok_at"), lease_until=None, lease_owner=None),
            updates)
        if not check_first and cast(CursorResult[Any], result).rowcount != len(updates):
            return False
        if attempts:
            await session.execute(insert(DeliveryAttempt), attempts)
        ok = [e for e, o in last.items() if o.ok]
        failing = [e for e, o in last.items() if not o.ok]
        if ok:
            # A healthy endpoint's row is rewritten at most once a minute (last_success_at is
            # that precise); one that is failing is marked healthy again at once.
            fresh = now - SUCCESS_PRECISION
            await session.execute(update(Endpoint).where(
                Endpoint.id.in_(ok),
                Endpoint.failing_since.is_not(None) | Endpoint.last_success_at.is_(None)
                | (Endpoint.last_success_at < fresh))
                .values(failing_since=None, last_success_at=now)
                .execution_options(synchronize_session=False))
        if failing:
            await session.execute(update(Endpoint).where(Endpoint.id.in_(failing),
                                                         Endpoint.failing_since.is_(None))
                                  .values(failing_since=now)
                                  .execution_options(synchronize_session=False))
        for endpoint_id in gone:
            await self._disable(session, endpoint_id, "the endpoint answered 410 Gone")
        limit = now - timedelta(hours=self.settings.endpoint_disable_after_hours)
        if failing:
            stale = list(await session.scalars(select(Endpoint.id).where(
                Endpoint.id.in_(failing), Endpoint.enabled.is_(True),
                Endpoint.failing_since <= limit)))
            for endpoint_id in stale:
                await self._disable(session, endpoint_id, "failing without a success for "
                                    f"{self.settings.endpoint_disable_after_hours:g} hours")
        return True

    async def _disable(self, session: AsyncSession, endpoint_id: uuid.UUID, why: str) -> None:
        """Disable an endpoint, fail its pending deliveries, and email its owner (outbox)."""
        endpoint = await session.get(Endpoint, endpoint_id)
        if endpoint is None or not endpoint.enabled:
            return
        endpoint.enabled = False
        endpoint.disabled_reason = why
        endpoint.disabled_at = utcnow()
        await session.execute(
            update(Delivery).where(Delivery.endpoint_id == endpoint_id,
                                   Delivery.status == DeliveryStatus.pending)
            .values(status=DeliveryStatus.failed, last_error="endpoint_disabled",
                    lease_until=None, lease_owner=None)
            .execution_options(synchronize_session=False))
        subscriber = await session.get(Subscriber, endpoint.subscriber_id)
        email = contact_email(self.keyring, subscriber) if subscriber is not None else None
        if subscriber is not None and email is not None:
            await emails.enqueue(
                session, self.keyring, to=email,
                kind="endpoint_disabled", lang="en",
                context={"name": subscriber.name, "url": endpoint.url, "reason": why})
        log.warning("webhook endpoint %s disabled: %s", endpoint_id, why)
        await session.flush()


_STOP: Any = object()


class _Slot:
    """A slot of a lane, held for one send. A send still unanswered after `slow_after` gives
    the slot (and its share of the claim capacity) back and waits among the idle connections,
    while there is room there: a slow endpoint does not take a lane's slot for long."""

    __slots__ = ("handle", "lane", "released", "worker")

    def __init__(self, worker: DeliveryWorker, lane: asyncio.Semaphore, *, may_wait: bool) -> None:
        self.worker, self.lane, self.released = worker, lane, False
        self.handle = asyncio.get_running_loop().call_later(worker.slow_after, self._turn_slow) \
            if may_wait else None

    def _turn_slow(self) -> None:
        w = self.worker
        if w._waiting >= w.waiting_capacity:
            return
        self.released = True
        self.lane.release()
        w._waiting += 1
        w._in_flight -= 1
        w._room.set()

    def release(self) -> None:
        if self.handle is not None:
            self.handle.cancel()
        if self.released:
            self.worker._waiting -= 1
            self.worker._in_flight += 1  # counted again until its result is recorded
        else:
            self.lane.release()


def _raise_open_files(wanted: int) -> None:
    """Every connection is a file descriptor: raise the soft limit towards what we may open."""
    try:
        import resource
    except ImportError:  # pragma: no cover (Windows)
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


async def _first(*waits: Coroutine[Any, Any, Any], timeout: float) -> None:
    """Return when the first of `waits` is done, or after `timeout`; cancel the rest."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()

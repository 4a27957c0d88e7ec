"""Recording results in batches: outcomes gather for a moment (or until a batch is full) and
are written by one set-based statement (see store.py). What follows from a result for the
endpoint (disabled after `410 Gone`, or failing for too long) is the rare path, in a session."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

from prometheus_client import Counter as Metric
from prometheus_client import Histogram
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.crypto import Keyring
from app.db import utcnow
from app.delivery.attempt import Outcome
from app.delivery.models import Delivery, DeliveryStatus
from app.delivery.schedule import backoff, retry_after
from app.delivery.store import Result, Store
from app.emails import service as emails
from app.subscribers.models import Endpoint, Subscriber
from app.subscribers.service import contact_email

log = logging.getLogger(__name__)

BATCH = 500  # results per statement
WINDOW = 0.05  # seconds results may wait for others to join their batch (if more are coming)

ATTEMPTS = Metric("rr_webhook_attempts_total", "Webhook delivery attempts", ["result"])
ATTEMPT_SECONDS = Histogram("rr_webhook_attempt_seconds", "Webhook attempt duration",
                            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))


class Recorder:
    def __init__(self, store: Store, sessionmaker: async_sessionmaker[AsyncSession],
                 settings: Settings, keyring: Keyring,
                 recorded: Callable[[int], None], outstanding: Callable[[], int]) -> None:
        self.store = store
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.keyring = keyring
        self._recorded = recorded  # called with the number of results handled, ok or not
        # Sends whose outcome has not come yet: with none, nothing would join a batch, so it
        # is written at once (the last results of a fan-out, a lone delivery), not after
        # the window.
        self._outstanding = outstanding
        self._pending: list[Outcome] = []
        self._writing = 0  # results of the batch being written
        self._arrived = asyncio.Event()
        self._full = asyncio.Event()
        self._stopping = False

    def put(self, outcome: Outcome) -> None:
        self._pending.append(outcome)
        self._arrived.set()
        if len(self._pending) >= BATCH or self._outstanding() <= 0:
            self._full.set()

    def stop(self) -> None:
        self._stopping = True
        self._arrived.set()
        self._full.set()

    async def run(self) -> None:
        """Record until stopped and nothing is left."""
        while True:
            await self._arrived.wait()
            if not self._pending:
                if self._stopping:
                    return
                self._arrived.clear()
                continue
            if len(self._pending) < BATCH and not self._stopping and self._outstanding() > 0:
                self._full.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._full.wait(), WINDOW)
            batch, self._pending = self._pending[:BATCH], self._pending[BATCH:]
            self._writing = len(batch)
            try:
                await self.record(batch)
            except Exception:
                # The leases run out and the deliveries are tried again: at least once.
                log.exception("recording %d delivery results failed", len(batch))
            finally:
                self._writing = 0
                self._recorded(len(batch))

    def waiting(self) -> int:
        """Outcomes in hand, not recorded yet."""
        return len(self._pending) + self._writing

    async def record(self, batch: list[Outcome]) -> None:
        """Write `batch`: only rows still held by the claim that sent them (a lease that ran
        out may have been taken again: that late result is dropped)."""
        now = utcnow()
        scale = self.settings.retry_scale
        results: list[Result] = []
        last: dict[uuid.UUID, Outcome] = {}
        gone: set[uuid.UUID] = set()
        kinds: Counter[str] = Counter()
        for o in batch:
            job = o.job
            code, error = o.status_code, (o.error.value if o.error else None)
            if not job.usable:
                results.append(Result(job.delivery_id, job.lease_owner,
                                      DeliveryStatus.failed.value, job.attempt - 1, now, code,
                                      "endpoint_disabled", None, None, False, o.started_at, 0,
                                      None, None))
                continue
            kinds["success" if o.ok else (error or "error")] += 1
            ATTEMPT_SECONDS.observe(o.duration_ms / 1000)
            status, next_at, retry_at, ok_at = DeliveryStatus.failed.value, now, None, None
            if o.ok:
                status, ok_at = DeliveryStatus.succeeded.value, now
            elif code == 410:
                gone.add(job.endpoint_id)
            else:
                delay = backoff(job.attempt, scale)
                if delay is not None:
                    asked = retry_after(o.retry_after, now)
                    if asked is not None and asked > delay:
                        delay = asked
                    status, next_at = DeliveryStatus.pending.value, now + delay
                    retry_at = next_at
            results.append(Result(job.delivery_id, job.lease_owner, status, job.attempt,
                                  next_at, code, error, o.started_at, ok_at, True,
                                  o.started_at, o.duration_ms, o.response_body, retry_at))
            last[job.endpoint_id] = o
        for kind, n in kinds.items():  # a label lookup per kind, not per result
            ATTEMPTS.labels(kind).inc(n)
        ok = [e for e, o in last.items() if o.ok]
        failing = [e for e, o in last.items() if not o.ok]
        if gone or failing:
            # First, so that a delivery shows failed only once its endpoint shows disabled;
            # this batch's own rows are left for the write below, which fails them for good.
            disabled = await self._endpoints_to_disable(gone, failing, [r.id for r in results])
            for r, o in zip(results, batch, strict=True):
                if o.job.endpoint_id in disabled and r.status == DeliveryStatus.pending:
                    r.status, r.retry_at = DeliveryStatus.failed.value, None
        await self.store.record(results, ok=ok, failing=failing, now=now)

    async def _endpoints_to_disable(self, gone: set[uuid.UUID], failing: list[uuid.UUID],
                                    batch: list[int]) -> set[uuid.UUID]:
        """Disable the endpoints that answered 410, or have failed for too long; returns them."""
        limit = utcnow() - timedelta(hours=self.settings.endpoint_disable_after_hours)
        async with self.sessionmaker() as session:
            stale = list(await session.scalars(select(Endpoint.id).where(
                Endpoint.id.in_(failing), Endpoint.enabled.is_(True),
                Endpoint.failing_since <= limit))) if failing else []
            if not gone and not stale:
                return set()
            for endpoint_id in gone:
                await self._disable(session, endpoint_id, "the endpoint answered 410 Gone",
                                    batch)
            for endpoint_id in stale:
                await self._disable(session, endpoint_id, "failing without a success for "
                                    f"{self.settings.endpoint_disable_after_hours:g} hours",
                                    batch)
            await session.commit()
        return gone | set(stale)

    async def _disable(self, session: AsyncSession, endpoint_id: uuid.UUID, why: str,
                       spare: list[int]) -> None:
        """Disable an endpoint, fail its pending deliveries (but those of `spare`, being
        recorded), and email its owner (outbox)."""
        endpoint = await session.get(Endpoint, endpoint_id)
        if endpoint is None or not endpoint.enabled:
            return
        endpoint.enabled = False
        endpoint.disabled_reason = why
        endpoint.disabled_at = utcnow()
        await session.execute(
            update(Delivery).where(Delivery.endpoint_id == endpoint_id,
                                   Delivery.status == DeliveryStatus.pending,
                                   Delivery.id.not_in(spare))
            .values(status=DeliveryStatus.failed, last_error="endpoint_disabled",
                    lease_until=None, lease_owner=None)
            .execution_options(synchronize_session=False))
        subscriber = await session.get(Subscriber, endpoint.subscriber_id)
        email = contact_email(self.keyring, subscriber) if subscriber is not None else None
        if subscriber is not None and email is not None:
            await emails.enqueue(
                session, self.keyring, to=email,
                kind="endpoint_disabled", lang=subscriber.language,
                context={"name": subscriber.name, "url": endpoint.url, "reason": why})
        log.warning("webhook endpoint %s disabled: %s", endpoint_id, why)
        await session.flush()

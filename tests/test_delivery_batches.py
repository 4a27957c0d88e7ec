"""The worker's set-based claim and record: a batch whose leases partly ran out and were taken
by another worker writes exactly the rows still held (the rest are late, and dropped); a worker
waiting for work hears of a new event at once instead of on its next poll; the last results
are written at once, not after the batch window; a delivery whose endpoint was switched off
meanwhile is failed unsent."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.config import Settings
from app.crypto import Keyring
from app.db import make_engine, make_sessionmaker, utcnow
from app.delivery import record
from app.delivery.worker import DeliveryWorker, Outcome
from tests.propagation import isolated_server, quick_subscriber
from tests.subjects import wait_until
from tests.support import Org, create_org, wipe


@pytest.fixture(scope="module")
def iso(tmp_path_factory, smtp):
    srv, close = isolated_server(str(tmp_path_factory.mktemp("batches")), smtp.port,
                                 run_delivery_worker=False, webhook_concurrency=4)
    yield srv
    close()


@pytest.fixture
def org(iso):
    o = create_org(iso.settings, iso.url, "bat")
    assert o.admin.post("/v1/models", json={"id": "bat/m", "title": "M"}).status_code == 201
    yield o
    o.close()
    wipe(iso.settings.sync_url)


def rows(settings, query: str) -> list[sa.Row]:
    engine = sa.create_engine(settings.sync_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        out = list(conn.execute(sa.text(query)))
    engine.dispose()
    return out


def seconds_until(settings: Settings, org: Org, seen: Callable[[], object],
                  idle: float = 0.0) -> float:
    """Seconds from a new version of bat/m until `seen()` returns (it waits, in a thread), with
    a worker on `settings` running; after `idle` seconds, in which it found nothing to do."""

    async def go() -> float:
        engine = make_engine(settings.sqlalchemy_url, poolclass=sa.pool.NullPool)
        worker = DeliveryWorker(make_sessionmaker(engine), settings,
                                Keyring.from_settings(settings))
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        await asyncio.sleep(idle)
        start = time.monotonic()
        await asyncio.to_thread(org.admin.post, "/v1/models/bat/m/versions",
                                json={"label": "v1", "revision": "r"})
        await asyncio.to_thread(seen)
        took = time.monotonic() - start
        stop.set()
        await task
        await engine.dispose()
        return took

    return asyncio.run(go())


def test_a_batch_records_only_the_rows_its_worker_still_holds(iso, org, receiver):
    quick_subscriber(iso.settings, iso.url, ["bat/m"], [receiver.url(f"/b/{i}") for i in range(3)])
    org.admin.post("/v1/models/bat/m/versions", json={"label": "v1", "revision": "r"})

    async def go() -> tuple[int, int]:
        engine = make_engine(iso.settings.sqlalchemy_url, poolclass=sa.pool.NullPool)
        keyring = Keyring.from_settings(iso.settings)
        a = DeliveryWorker(make_sessionmaker(engine), iso.settings, keyring,
                           lease=timedelta(seconds=0.2))
        b = DeliveryWorker(make_sessionmaker(engine), iso.settings, keyring,
                           lease=timedelta(seconds=30))
        jobs_a = await a._claim(10)
        await asyncio.sleep(0.3)  # A's leases run out; B takes one of the three
        [job_b] = await b._claim(1)
        await a._record([Outcome(j, utcnow(), 5, status_code=200) for j in jobs_a])
        await b._record([Outcome(job_b, utcnow(), 7, status_code=204)])
        await a.store.aclose()
        await b.store.aclose()
        await engine.dispose()
        return len(jobs_a), job_b.delivery_id

    claimed, taken = asyncio.run(go())
    assert claimed == 3
    found = rows(iso.settings, "SELECT id, status, attempts, lease_owner, last_status_code "
                               "FROM deliveries ORDER BY id")
    assert [(r.status, r.attempts, r.lease_owner) for r in found] == [("succeeded", 1, None)] * 3
    # The row B took over carries B's result, not A's late one; each row has one attempt.
    assert {r.id: r.last_status_code for r in found}[taken] == 204
    attempts = rows(iso.settings, "SELECT delivery_id, status_code FROM delivery_attempts")
    assert sorted(a.delivery_id for a in attempts) == sorted(r.id for r in found)
    assert {a.delivery_id: a.status_code for a in attempts}[taken] == 204


def test_an_idle_worker_hears_of_a_new_event_at_once(iso, org, receiver):
    """The worker polls only every 60 s here: a new event still goes out within seconds
    (PostgreSQL NOTIFY; on SQLite, the commit seen through `PRAGMA data_version`)."""
    quick_subscriber(iso.settings, iso.url, ["bat/m"], [receiver.url("/wake")])
    settings = iso.settings.model_copy(update={"delivery_poll_seconds": 60.0})
    took = seconds_until(settings, org, lambda: receiver.wait_for("/wake", 1, 20), idle=0.5)
    assert took < 10  # far less than the 60 s poll


def test_a_worker_keeps_claiming_and_recording_after_its_connections_are_cut(iso, org, receiver):
    """PostgreSQL: the worker's store takes its connections from a pool of its own without a
    ping; when the server has cut them (a restart, an idle timeout), the next statement is
    tried once more on a new connection and nothing is lost. (SQLite: the worker's one
    connection is its own file handle, never cut: the same steps run uncut.)"""
    quick_subscriber(iso.settings, iso.url, ["bat/m"],
                     [receiver.url("/cut/1"), receiver.url("/cut/2")])

    async def go() -> int:
        engine = make_engine(iso.settings.sqlalchemy_url, poolclass=sa.pool.NullPool)
        worker = DeliveryWorker(make_sessionmaker(engine), iso.settings,
                                Keyring.from_settings(iso.settings))
        cut = 0
        for label in ("v1", "v2"):
            await asyncio.to_thread(org.admin.post, "/v1/models/bat/m/versions",
                                    json={"label": label, "revision": label})
            jobs = await worker._claim(10)
            assert len(jobs) == 2, label
            await worker._record([Outcome(j, utcnow(), 3, status_code=204) for j in jobs])
            if label == "v1" and not iso.settings.is_sqlite:
                async with engine.connect() as conn:
                    cut = len((await conn.execute(sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE application_name = :name"),
                        {"name": worker.store.application_name})).all())
        await worker.store.aclose()
        await engine.dispose()
        return cut

    cut = asyncio.run(go())
    assert iso.settings.is_sqlite or cut >= 1  # there was a connection to cut, and it was
    found = rows(iso.settings, "SELECT status, attempts FROM deliveries")
    assert [(r.status, r.attempts) for r in found] == [("succeeded", 1)] * 4
    assert len(rows(iso.settings, "SELECT id FROM delivery_attempts")) == 4


def test_the_last_results_are_recorded_at_once_not_after_the_batch_window(iso, org, receiver,
                                                                          monkeypatch):
    """Results wait a moment for others to join their batch, but only while sends are still
    out: here the window is a minute, and a lone delivery's result (nothing else on its way)
    is still recorded within seconds."""
    monkeypatch.setattr(record, "WINDOW", 60.0)
    quick_subscriber(iso.settings, iso.url, ["bat/m"], [receiver.url("/lone")])
    took = seconds_until(iso.settings, org, lambda: wait_until(lambda: rows(
        iso.settings, "SELECT id FROM deliveries WHERE status = 'succeeded'"), 20))
    assert took < 10  # far less than the 60 s window
    assert len(rows(iso.settings, "SELECT id FROM delivery_attempts")) == 1


def test_a_delivery_whose_endpoint_was_disabled_after_the_event_fails_unsent(iso, org,
                                                                             receiver):
    """An endpoint switched off between the event and the claim: its delivery is failed as
    `endpoint_disabled` without a request or an attempt in its log, and keeps no attempt time;
    the other endpoint's delivery goes out as usual."""
    quick_subscriber(iso.settings, iso.url, ["bat/m"],
                     [receiver.url("/bat-kept"), receiver.url("/bat-off")])
    org.admin.post("/v1/models/bat/m/versions", json={"label": "v1", "revision": "r"})
    engine = sa.create_engine(iso.settings.sync_url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE webhook_endpoints SET enabled = false WHERE url LIKE '%/bat-off'"))
    engine.dispose()

    async def go() -> None:
        async_engine = make_engine(iso.settings.sqlalchemy_url, poolclass=sa.pool.NullPool)
        worker = DeliveryWorker(make_sessionmaker(async_engine), iso.settings,
                                Keyring.from_settings(iso.settings))
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        await asyncio.to_thread(wait_until, lambda: len(rows(
            iso.settings, "SELECT id FROM deliveries WHERE status <> 'pending'")) == 2, 20)
        stop.set()
        await task
        await async_engine.dispose()

    asyncio.run(go())
    found = {r.url.rsplit("/bat-", 1)[1]: r for r in rows(iso.settings, (
        "SELECT e.url, d.id, d.status, d.attempts, d.last_error, d.last_attempt_at, "
        "d.succeeded_at, d.lease_owner FROM deliveries d "
        "JOIN webhook_endpoints e ON e.id = d.endpoint_id"))}
    off, kept = found["off"], found["kept"]
    assert (off.status, off.attempts, off.last_error) == ("failed", 0, "endpoint_disabled")
    assert off.last_attempt_at is None and off.succeeded_at is None and off.lease_owner is None
    assert (kept.status, kept.attempts, kept.last_error) == ("succeeded", 1, None)
    assert kept.last_attempt_at is not None and kept.succeeded_at is not None
    logged = rows(iso.settings, "SELECT delivery_id FROM delivery_attempts")
    assert [a.delivery_id for a in logged] == [kept.id]
    assert receiver.to("/bat-off") == [] and len(receiver.to("/bat-kept")) == 1

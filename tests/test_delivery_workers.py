"""Several workers share the outbox without sending anything twice; a crashed worker's leases
run out and another worker takes over; `rights-relay worker` runs on its own."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.crypto import Keyring
from app.db import make_engine, make_sessionmaker
from app.delivery.worker import DeliveryWorker
from tests.propagation import isolated_server, quick_subscriber
from tests.receiver import Answer
from tests.support import CLI, cli_env, create_org, wipe


@pytest.fixture(scope="module")
def iso(tmp_path_factory, smtp):
    # No worker in the server: the tests run their own.
    srv, close = isolated_server(str(tmp_path_factory.mktemp("workers")), smtp.port,
                                 run_delivery_worker=False, webhook_concurrency=4)
    yield srv
    close()


@pytest.fixture
def org(iso):
    o = create_org(iso.settings, iso.url, "wrk")
    assert o.admin.post("/v1/models", json={"id": "wrk/m", "title": "M"}).status_code == 201
    yield o
    o.close()
    wipe(iso.settings.sync_url)


def statuses(settings) -> dict[str, int]:
    engine = sa.create_engine(settings.sync_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT status, count(*) FROM deliveries GROUP BY status"))
        out = {s: n for s, n in rows}
    engine.dispose()
    return out


async def run_workers(settings, workers_until, *workers_args):
    """Run DeliveryWorkers (each with its own engine, like separate processes) until done()."""
    engines, workers = [], []
    for kwargs in workers_args:
        engine = make_engine(settings.sqlalchemy_url, poolclass=sa.pool.NullPool)
        engines.append(engine)
        workers.append(DeliveryWorker(make_sessionmaker(engine), settings,
                                      Keyring.from_settings(settings), **kwargs))
    stop = asyncio.Event()
    tasks = [asyncio.create_task(w.run(stop)) for w in workers]
    deadline = time.monotonic() + 20
    while not workers_until() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)  # let results be recorded
    stop.set()
    await asyncio.gather(*tasks)
    for engine in engines:
        await engine.dispose()
    return workers


def test_two_workers_share_the_work_and_send_each_delivery_once(iso, org, receiver):
    # More deliveries than one worker claims ahead (8 x 4 senders): the other gets a share.
    paths = [f"/w/{i}" for i in range(60)]
    for p in paths:
        receiver.answer(p, Answer(200, delay=0.05))
    for i in range(0, 60, 10):
        quick_subscriber(iso.settings, iso.url, ["wrk/m"], [receiver.url(p) for p in paths[i:i + 10]])
    org.admin.post("/v1/models/wrk/m/versions", json={"label": "v1", "revision": "r"})
    assert statuses(iso.settings) == {"pending": 60}

    def done() -> bool:
        return all(receiver.to(p) for p in paths)

    one, two = asyncio.run(run_workers(iso.settings, done, {"batch_size": 5}, {"batch_size": 5}))
    assert all(len(receiver.to(p)) == 1 for p in paths)
    assert one.sent + two.sent == 60
    assert one.sent > 0 and two.sent > 0
    assert statuses(iso.settings) == {"succeeded": 60}


def test_a_crashed_workers_leases_run_out_and_another_worker_delivers(iso, org, receiver):
    quick_subscriber(iso.settings, iso.url, ["wrk/m"], [receiver.url("/orphan")])
    org.admin.post("/v1/models/wrk/m/versions", json={"label": "v1", "revision": "r"})
    lease = timedelta(seconds=0.6)

    async def crash_after_claiming() -> float:
        engine = make_engine(iso.settings.sqlalchemy_url, poolclass=sa.pool.NullPool)
        crashed = DeliveryWorker(make_sessionmaker(engine), iso.settings,
                                 Keyring.from_settings(iso.settings), lease=lease)
        # Read the clock before the claim: the lease runs from inside it, and the time
        # taken to close the engine after it must not count towards the lease (CI saw
        # 65 ms of it, and the hit land "early").
        before = time.time()
        assert len(await crashed._claim(10)) == 1  # claimed, then the process "dies"
        await engine.dispose()
        return before

    claimed_at = asyncio.run(crash_after_claiming())
    asyncio.run(run_workers(iso.settings, lambda: bool(receiver.to("/orphan")), {}))
    [hit] = receiver.to("/orphan")
    assert hit.at - claimed_at >= lease.total_seconds()
    assert statuses(iso.settings) == {"succeeded": 1}


def test_the_worker_command_delivers_and_stops_cleanly(iso, org, receiver):
    quick_subscriber(iso.settings, iso.url, ["wrk/m"], [receiver.url("/cli")])
    s = iso.settings
    env = cli_env(s, RR_ALLOW_PRIVATE_WEBHOOK_TARGETS="true", RR_ALLOW_HTTP_WEBHOOKS="true",
                  RR_DELIVERY_POLL_SECONDS="0.05")
    proc = subprocess.Popen([CLI, "worker", "--no-jobs"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        org.admin.post("/v1/models/wrk/m/versions", json={"label": "v1", "revision": "r"})
        receiver.wait_for("/cli", timeout=20)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "delivery worker started" in out and "delivery worker stopped" in out
    assert statuses(iso.settings) == {"succeeded": 1}


def test_a_late_result_never_overwrites_a_delivery_another_worker_leased_again(iso, org,
                                                                                receiver):
    """Worker A's lease runs out while it sends; worker B takes the row. A's result arrives
    late: it is dropped, and the row stays B's, to be recorded by B."""
    from app.db import utcnow
    from app.delivery.worker import Outcome

    quick_subscriber(iso.settings, iso.url, ["wrk/m"], [receiver.url("/late")])
    org.admin.post("/v1/models/wrk/m/versions", json={"label": "v1", "revision": "r"})

    async def go() -> None:
        engine = make_engine(iso.settings.sqlalchemy_url, poolclass=sa.pool.NullPool)
        keyring = Keyring.from_settings(iso.settings)
        a = DeliveryWorker(make_sessionmaker(engine), iso.settings, keyring,
                           lease=timedelta(seconds=0.2))
        b = DeliveryWorker(make_sessionmaker(engine), iso.settings, keyring,
                           lease=timedelta(seconds=30))
        [job_a] = await a._claim(10)
        assert await b._claim(10) == []  # A's lease still runs
        await asyncio.sleep(0.3)
        [job_b] = await b._claim(10)
        assert job_b.delivery_id == job_a.delivery_id and job_b.lease_owner != job_a.lease_owner
        await a._record([Outcome(job_a, utcnow(), 5, status_code=200)])
        await engine.dispose()

    asyncio.run(go())
    engine = sa.create_engine(iso.settings.sync_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        [(status, owner, attempts)] = conn.execute(sa.text(
            "SELECT status, lease_owner, attempts FROM deliveries")).all()
        logged = conn.execute(sa.text("SELECT count(*) FROM delivery_attempts")).scalar()
    engine.dispose()
    assert (status, attempts, logged) == ("pending", 0, 0) and owner is not None

"""Slow or dead endpoints never hold up healthy ones: a send unanswered for a moment gives its
slot back (real HTTP receiver, real database, the real worker)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime

import pytest
import sqlalchemy as sa

from app.db import utcnow
from tests.propagation import isolated_server, quick_subscriber
from tests.receiver import Answer
from tests.support import create_org, wipe
from tests.test_delivery_workers import run_workers, statuses


@pytest.fixture(scope="module")
def iso(tmp_path_factory, smtp):
    srv, close = isolated_server(str(tmp_path_factory.mktemp("lanes")), smtp.port,
                                 run_delivery_worker=False, webhook_concurrency=4,
                                 webhook_timeout_seconds=4, webhook_slow_after_seconds=0.2)
    yield srv
    close()


@pytest.fixture
def org(iso):
    o = create_org(iso.settings, iso.url, "lanes")
    assert o.admin.post("/v1/models", json={"id": "lanes/m", "title": "M"}).status_code == 201
    yield o
    o.close()
    wipe(iso.settings.sync_url)


def deliver(iso, receiver, healthy: list[str], then: Callable[[], bool] = lambda: True
            ) -> float | None:
    """Run a worker until every path in `healthy` was heard (and `then()` holds); returns the
    seconds until they were all heard, or None."""
    start = time.monotonic()
    heard: list[float] = []

    def done() -> bool:
        if not heard and all(receiver.to(p) for p in healthy):
            heard.append(time.monotonic() - start)
        return bool(heard) and then()

    asyncio.run(run_workers(iso.settings, done, {}))
    time.sleep(1.5)  # the receiver's handlers of the dead endpoints finish before it stops
    return heard[0] if heard else None


def test_dead_endpoints_do_not_delay_healthy_ones(iso, org, receiver):
    dead = [f"/dead/{i}" for i in range(12)]  # three times the worker's 4 slots
    healthy = [f"/ok/{i}" for i in range(20)]
    for p in dead:
        receiver.answer(p, Answer(204, delay=5))  # never answers within the 4 s timeout
    for p in healthy:
        receiver.answer(p, Answer(204, delay=0.02))
    for group in (dead[:6], dead[6:], healthy[:10], healthy[10:]):  # 10 endpoints at most each
        quick_subscriber(iso.settings, iso.url, ["lanes/m"], [receiver.url(p) for p in group])
    org.admin.post("/v1/models/lanes/m/versions", json={"label": "v1", "revision": "r"})
    heard = deliver(iso, receiver, healthy,
                    then=lambda: statuses(iso.settings) == {"succeeded": 20, "pending": 12})
    # Healthy endpoints were served while every dead one still held its connection.
    assert heard is not None and heard < 3, heard
    # The dead ones timed out and wait for their retry; the healthy ones succeeded.
    assert statuses(iso.settings) == {"succeeded": 20, "pending": 12}


def test_retries_to_failing_endpoints_never_take_the_healthy_ones_room(iso, org, receiver,
                                                                       caplog):
    """Endpoints already failing share a small lane. Their due retries, however many, are not
    all claimed at once: the surplus goes back for later (no attempt counted), so healthy
    deliveries due after them still go out at once."""
    dead = [f"/gone/{i}" for i in range(40)]  # 40 against a claim capacity of 32 (8 x 4 slots)
    healthy = [f"/fine/{i}" for i in range(10)]
    for p in dead:
        receiver.answer(p, Answer(204, delay=5))  # never answers within the 4 s timeout
    for p in healthy:
        receiver.answer(p, Answer(204, delay=0.02))
    assert org.admin.post("/v1/models", json={"id": "lanes/ok", "title": "OK"}).status_code == 201
    for i in range(0, 40, 10):
        quick_subscriber(iso.settings, iso.url, ["lanes/m"], [receiver.url(p) for p in dead[i:i + 10]])
    quick_subscriber(iso.settings, iso.url, ["lanes/ok"], [receiver.url(p) for p in healthy])
    engine = sa.create_engine(iso.settings.sync_url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:  # they have been failing for a while: the failing lane's
        conn.execute(sa.text("UPDATE webhook_endpoints SET failing_since = :at "
                             "WHERE url LIKE '%/gone/%'"), {"at": utcnow()})
    # The dead endpoints' deliveries are due first (their event came first).
    org.admin.post("/v1/models/lanes/m/versions", json={"label": "v1", "revision": "r"})
    org.admin.post("/v1/models/lanes/ok/versions", json={"label": "v1", "revision": "r"})
    heard = deliver(iso, receiver, healthy)
    # Without the surplus given back, the healthy ones waited for 40 / 2 dead rounds of 4 s.
    assert heard is not None and heard < 3, heard
    assert statuses(iso.settings) == {"succeeded": 10, "pending": 40}
    with engine.connect() as conn:  # given back unsent: no attempt counted or logged for them
        attempts, logged = conn.execute(sa.text(
            "SELECT (SELECT sum(attempts) FROM deliveries WHERE status = 'pending'), "
            "(SELECT count(*) FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id "
            "WHERE d.status = 'pending')")).one()
        # ...and their leases cleared at once, not left to run out (the worker has stopped:
        # nothing is held any more).
        held = conn.execute(sa.text("SELECT count(*) FROM deliveries "
                                    "WHERE lease_owner IS NOT NULL")).scalar_one()
    engine.dispose()
    assert attempts == logged < 40, (attempts, logged)
    assert held == 0, held
    # Giving back and deferring went through without a hitch (nothing left to lease expiry).
    assert not [r.getMessage() for r in caplog.records
                if r.name.startswith("app.delivery") and r.levelname == "ERROR"]


def test_an_endpoints_last_success_is_its_latest_successful_delivery(iso, org, receiver):
    """`last_success_at` of the endpoint API is read from the deliveries (migration 0018):
    none before any, none while failing, then the newest success; a success also ends the
    endpoint's failing spell. Whole rows and the subscriber's own view agree."""
    receiver.answer("/health/a", Answer(204), Answer(204))
    receiver.answer("/health/b", Answer(500, retry_after="3600"), Answer(204))  # retry: later
    sub = quick_subscriber(iso.settings, iso.url, ["lanes/m"],
                           [receiver.url("/health/a"), receiver.url("/health/b")])
    a, b = (sub.endpoints[receiver.url(p)] for p in ("/health/a", "/health/b"))

    def endpoint(eid: str) -> dict:
        r = sub.api.get(f"/v1/subscriber/endpoints/{eid}")
        assert r.status_code == 200, r.text
        return r.json()

    def succeeded(eid: str) -> list[str]:
        r = sub.api.get("/v1/subscriber/deliveries",
                        params={"endpoint_id": eid, "status": "succeeded"})
        assert r.status_code == 200, r.text
        return [d["succeeded_at"] for d in r.json()["items"]]  # newest first

    def same(x: str | None, y: str | None) -> bool:
        return x is not None and y is not None and \
            datetime.fromisoformat(x) == datetime.fromisoformat(y)

    def publish_and_deliver(label: str, expect: dict[str, int]) -> None:
        assert org.admin.post("/v1/models/lanes/m/versions",
                              json={"label": label, "revision": label}).status_code == 201
        asyncio.run(run_workers(iso.settings, lambda: statuses(iso.settings) == expect, {}))
        assert statuses(iso.settings) == expect

    assert endpoint(a)["last_success_at"] is None and endpoint(b)["last_success_at"] is None
    publish_and_deliver("h1", {"succeeded": 1, "pending": 1})  # b answered 500: a retry waits
    [first] = succeeded(a)
    assert same(endpoint(a)["last_success_at"], first)
    assert endpoint(b)["last_success_at"] is None and endpoint(b)["failing_since"] is not None

    publish_and_deliver("h2", {"succeeded": 3, "pending": 1})
    newest_a, older_a = succeeded(a)
    [only_b] = succeeded(b)
    assert older_a == first and datetime.fromisoformat(newest_a) > datetime.fromisoformat(first)
    assert same(endpoint(a)["last_success_at"], newest_a)
    assert same(endpoint(b)["last_success_at"], only_b) and endpoint(b)["failing_since"] is None
    mine = {e["id"]: e for e in sub.api.get("/v1/subscriber").json()["endpoints"]}
    assert same(mine[a]["last_success_at"], newest_a) and same(mine[b]["last_success_at"], only_b)


def test_a_send_past_the_timeout_is_ended_and_its_sender_serves_the_next(iso, org, receiver):
    """The sweeper ends a send at `webhook_timeout_seconds` (aiohttp has no timer per request):
    it is logged as a timeout after about that long, and the sender coroutine it ran on goes on
    to the next send. Here both senders of the failing lane (two) are held by hanging
    endpoints, and two more failing endpoints can only be served by those same senders."""
    hanging = ["/hang/0", "/hang/1"]
    later = ["/after/0", "/after/1"]
    for p in hanging:
        receiver.answer(p, Answer(204, delay=6))  # past the 4 s timeout
    for p in later:
        receiver.answer(p, Answer(204))
    assert org.admin.post("/v1/models", json={"id": "lanes/later", "title": "L"}).status_code \
        == 201
    quick_subscriber(iso.settings, iso.url, ["lanes/m"], [receiver.url(p) for p in hanging])
    quick_subscriber(iso.settings, iso.url, ["lanes/later"], [receiver.url(p) for p in later])
    engine = sa.create_engine(iso.settings.sync_url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:  # all four are failing already: the failing lane's two senders
        conn.execute(sa.text("UPDATE webhook_endpoints SET failing_since = :at "
                             "WHERE url LIKE '%/hang/%' OR url LIKE '%/after/%'"),
                     {"at": utcnow()})
    org.admin.post("/v1/models/lanes/m/versions", json={"label": "v1", "revision": "r"})
    org.admin.post("/v1/models/lanes/later/versions", json={"label": "v1", "revision": "r"})
    expect = {"succeeded": 2, "pending": 2}
    asyncio.run(run_workers(iso.settings, lambda: statuses(iso.settings) == expect, {}))
    assert statuses(iso.settings) == expect
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT e.url, a.error_class, a.status_code, a.duration_ms FROM delivery_attempts a "
            "JOIN deliveries d ON d.id = a.delivery_id "
            "JOIN webhook_endpoints e ON e.id = d.endpoint_id")).all()
    engine.dispose()
    hang = [(url.rsplit("/", 1)[-1], error, code, ms) for url, error, code, ms in rows
            if "/hang/" in url]
    # Each hanging endpoint timed out (retried at least once meanwhile: they are failing), each
    # time at the timeout (4 s), not when the receiver would have answered (6 s).
    assert {h[0] for h in hang} == {"0", "1"}, rows
    assert all(error == "timeout" and code is None and 3_900 <= ms < 5_500
               for _, error, code, ms in hang), rows
    assert sorted((url.rsplit("/", 1)[-1], code) for url, _, code, _ in rows
                  if "/after/" in url) == [("0", 204), ("1", 204)], rows

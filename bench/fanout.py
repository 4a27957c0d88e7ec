"""Fan-out: one `model.version.superseded` event to 10,000 subscribed endpoints, delivered and
recorded by `rights-relay worker` (its own process) against a local receiver that answers 204,
compared with a bare aiohttp loop posting the same signed bodies with the same concurrency to
the same receiver. Also: 50 ms receiver latency, 10% of endpoints that never answer, and the
worker's peak RSS."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import aiohttp
import sqlalchemy as sa
from pydantic import SecretStr

from bench.support import ROOT, SECRET, Database, Result, app_env, free_port, wait_until_up

ENDPOINTS = 10_000
CONCURRENCY = 256  # the worker's default RR_WEBHOOK_CONCURRENCY, used by the baseline too


@contextmanager
def receiver(latency_ms: float = 0) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
        [sys.executable, "-m", "bench.receiver", "--port", str(port),
         "--latency-ms", str(latency_ms)], cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, proc, "receiver", seconds=20)
        yield url
    finally:
        proc.kill()
        proc.wait()


@dataclass
class Scenario:
    """One model followed by `len(urls)` subscribers with one endpoint each."""

    model_id: uuid.UUID
    org_id: uuid.UUID
    urls: list[str]
    secrets: list[str]


def _settings(db: Database):  # type: ignore[no-untyped-def]
    from app.config import Settings

    return Settings(database_url=db.url, secret_key=SecretStr(SECRET), environment="test",
                    allow_private_webhook_targets=True, allow_http_webhooks=True)


def seed(db: Database, urls: list[str]) -> Scenario:
    """Bulk-inserted: an organisation, a model with two current versions, one verified
    subscriber per URL following the model, one endpoint each (sealed secret)."""
    from app.auth.models import Organization
    from app.crypto import Keyring
    from app.db import make_engine, utcnow
    from app.delivery.signing import new_secret
    from app.models_registry.models import Model, ModelVersion
    from app.subscribers.models import Endpoint, Subscriber, Subscription
    from app.subscribers.sealing import seal

    settings = _settings(db)
    keyring = Keyring.from_settings(settings)
    tag = uuid.uuid4().hex[:8]
    org_id, model_id = uuid.uuid4(), uuid.uuid4()
    now = utcnow()
    subs, subscriptions, endpoints, secrets = [], [], [], []
    for i, url in enumerate(urls):
        sid, eid, secret = uuid.uuid4(), uuid.uuid4(), new_secret()
        subs.append({"id": sid, "name": f"Re-user {i}",
                     "email_sealed": seal(keyring, f"r{i}@{tag}.example", sid, "contact-email"),
                     "email_index": uuid.uuid4().hex, "verified_at": now,
                     "created_at": now, "updated_at": now})
        subscriptions.append({"subscriber_id": sid, "model_id": model_id, "created_at": now})
        endpoints.append({"id": eid, "subscriber_id": sid, "url": url, "enabled": True,
                          "secret_sealed": seal(keyring, secret, eid, "endpoint-secret"),
                          "created_at": now, "updated_at": now})
        secrets.append(secret)

    async def go() -> None:
        engine = make_engine(settings.sqlalchemy_url)
        async with engine.begin() as conn:
            await conn.execute(sa.insert(Organization), [
                {"id": org_id, "name": f"Fan-out {tag}", "slug": f"fanout-{tag}",
                 "created_at": now, "updated_at": now}])
            await conn.execute(sa.insert(Model), [
                {"id": model_id, "org_id": org_id, "namespace": "bench", "name": f"fanout-{tag}",
                 "title": "Fan-out bench", "intake_open": True, "created_at": now,
                 "updated_at": now}])
            await conn.execute(sa.insert(ModelVersion), [
                {"id": uuid.uuid4(), "model_id": model_id, "label": label, "revision": label,
                 "digests": [], "released_at": now, "status": "current", "created_at": now,
                 "updated_at": now} for label in ("v1", "v2")])
            for table, rows in ((Subscriber, subs), (Subscription, subscriptions),
                                (Endpoint, endpoints)):
                for k in range(0, len(rows), 2000):
                    await conn.execute(sa.insert(table), rows[k:k + 2000])
        await engine.dispose()

    asyncio.run(go())
    return Scenario(model_id, org_id, urls, secrets)


def supersede(db: Database, scenario: Scenario) -> uuid.UUID:
    """v1 superseded by v2 through the service's own code: one event, its deliveries written
    in the same transaction."""
    from app.db import make_engine, make_sessionmaker
    from app.models_registry import releases
    from app.models_registry.models import Model, ModelVersion

    async def go() -> uuid.UUID:
        engine = make_engine(_settings(db).sqlalchemy_url)
        async with make_sessionmaker(engine)() as session:
            model = await session.get_one(Model, scenario.model_id)
            versions = {v.label: v for v in await session.scalars(
                sa.select(ModelVersion).where(ModelVersion.model_id == model.id))}
            event = await releases.supersede(session, model, versions["v1"], versions["v2"],
                                             deadline=timedelta(days=30))
            await session.commit()
        await engine.dispose()
        return event.id

    return asyncio.run(go())


def _delivered(db: Database, event_id: uuid.UUID) -> int:
    with db.engine().connect() as conn:
        return int(conn.execute(sa.text(
            "SELECT count(*) FROM deliveries WHERE event_id = :e AND status = 'succeeded'"),
            {"e": event_id.hex if db.dialect == "sqlite" else event_id}).scalar_one())


@contextmanager
def worker(db: Database) -> Iterator[subprocess.Popen[str]]:
    """`rights-relay worker --no-jobs` in its own process, once it says it started."""
    env = app_env(db, run_jobs="false", delivery_poll_seconds="0.2")
    exe = Path(sys.executable).parent / "rights-relay"
    proc = subprocess.Popen([str(exe), "worker", "--no-jobs"], cwd=ROOT, env=env,  # noqa: S603
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if "started" not in line:
            raise RuntimeError(f"worker did not start: {line!r}")
        yield proc
    finally:
        proc.send_signal(2)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def deliver(db: Database, scenario: Scenario, expect: int,
            timeout: float = 300) -> tuple[float, float]:
    """Seconds from recording the event until `expect` deliveries are recorded as succeeded,
    and the worker's peak RSS (MB)."""
    with worker(db) as proc:
        start = time.perf_counter()
        event_id = supersede(db, scenario)
        while _delivered(db, event_id) < expect:
            if time.perf_counter() - start > timeout:
                raise RuntimeError(f"only {_delivered(db, event_id)} of {expect} delivered")
            time.sleep(0.05)
        elapsed = time.perf_counter() - start
        return elapsed, peak_rss_mb(proc.pid)


def baseline(scenario: Scenario) -> float:
    """A bare aiohttp loop posting the same signed bodies, same concurrency, same receiver."""
    from app.config import Settings
    from app.db import utcnow
    from app.delivery.signing import ServiceKeys, sign_v1, signed_content
    from app.delivery.worker import envelope

    key = ServiceKeys.from_settings(Settings(secret_key=SecretStr(SECRET))).current
    msg_id = str(uuid.uuid4())
    body = envelope("model.version.superseded", utcnow(), {"event_id": msg_id, "bench": True})
    stamp = int(time.time())
    content = signed_content(msg_id, stamp, body)
    v1a = key.sign_v1a(content)
    requests = [(url, {"content-type": "application/json", "webhook-id": msg_id,
                       "webhook-timestamp": str(stamp),
                       "webhook-signature": f"{sign_v1(secret, content)} {v1a}"})
                for url, secret in zip(scenario.urls, scenario.secrets, strict=True)]

    async def go() -> float:
        queue = list(reversed(requests))
        connector = aiohttp.TCPConnector(limit=CONCURRENCY, limit_per_host=0)
        async with aiohttp.ClientSession(connector=connector) as http:

            async def client() -> None:
                while queue:
                    url, headers = queue.pop()
                    async with http.post(url, data=body, headers=headers) as r:
                        await r.read()
                        assert r.status == 204, r.status

            start = time.perf_counter()
            await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
            return time.perf_counter() - start

    return asyncio.run(go())


def run(db: Database, endpoints: int = ENDPOINTS) -> list[Result]:
    name = f"fan-out ({db.dialect})"
    results: list[Result] = []
    with receiver() as fast:
        s = seed(db, [f"{fast}/ok/{i}" for i in range(endpoints)])
        base = baseline(s)
        ours, rss = deliver(db, s, endpoints)
        results.append(Result(name, f"{endpoints:,} deliveries, 204 at once", ours, base, "s",
                              "ratio <= 2", ours <= 2 * base))
        results.append(Result(name, f"worker peak RSS, {endpoints:,} endpoints", rss, None, "MB",
                              "< 300 MB", rss < 300))
        healthy = endpoints - endpoints // 10
        alone_s = seed(db, [f"{fast}/ok/{i}" for i in range(healthy)])
        alone, _ = deliver(db, alone_s, healthy)
        mixed = seed(db, [f"{fast}/ok/{i}" if i % 10 else f"{fast}/dead/{i}"
                          for i in range(endpoints)])
        with_dead, _ = deliver(db, mixed, healthy)
        results.append(Result(name, f"{healthy:,} healthy with {endpoints // 10:,} never answering",
                              with_dead, alone, "s", "ratio <= 1.5 (vs alone)",
                              with_dead <= 1.5 * alone))
    with receiver(latency_ms=50) as slow:
        s = seed(db, [f"{slow}/ok/{i}" for i in range(endpoints)])
        base = baseline(s)
        ours, _ = deliver(db, s, endpoints)
        results.append(Result(name, f"{endpoints:,} deliveries, 50 ms latency", ours, base, "s",
                              "< 10 s", ours < 10))
    return results

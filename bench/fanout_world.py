"""The fan-out benchmark's machinery: a seeded world (an organisation, a model followed by one
subscriber per endpoint), the local receiver, `rights-relay worker` processes, the bare-loop
baseline in a process of its own, and where the CPU went. bench/fanout.py runs the scenarios."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from pydantic import SecretStr

from bench.progress import Progress, last_attempt, next_poll
from bench.support import (
    ROOT,
    SECRET,
    Database,
    app_env,
    free_port,
    wait_until_up,
)

ENDPOINTS = 10_000
LARGE = 100_000  # the memory run
CONCURRENCY = 256  # the worker's default RR_WEBHOOK_CONCURRENCY, used by the baseline too
ROUNDS = 5  # of the 10,000-endpoint comparison (one round of either moves by 25% or more here)


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
    versions: int = 2
    superseded: int = 0  # events recorded so far (v1 by v2, then v2 by v3...)
    # A model nobody follows: superseded once before the clock starts, so that this process's
    # first-time costs (connecting, compiling the statements) are not counted as the run's.
    warm_model_id: uuid.UUID | None = None


def _settings(db: Database):  # type: ignore[no-untyped-def]
    from app.config import Settings

    return Settings(database_url=db.url, secret_key=SecretStr(SECRET), environment="test",
                    allow_private_webhook_targets=True, allow_http_webhooks=True)


def seed(db: Database, urls: list[str], versions: int = 2) -> Scenario:
    """Bulk-inserted: an organisation, a model with `versions` current versions (v1, v2...),
    one verified subscriber per URL following the model, one endpoint each (sealed secret)."""
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
    org_id, model_id, warm_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
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
                {"id": mid, "org_id": org_id, "namespace": "bench", "name": f"{name}-{tag}",
                 "title": "Fan-out bench", "intake_open": True, "created_at": now,
                 "updated_at": now} for mid, name in ((model_id, "fanout"), (warm_id, "warm"))])
            await conn.execute(sa.insert(ModelVersion), [
                {"id": uuid.uuid4(), "model_id": mid, "label": f"v{n}", "revision": f"v{n}",
                 "digests": [], "released_at": now, "status": "current", "created_at": now,
                 "updated_at": now}
                for mid, count in ((model_id, versions), (warm_id, 2))
                for n in range(1, count + 1)])
            for table, rows in ((Subscriber, subs), (Subscription, subscriptions),
                                (Endpoint, endpoints)):
                for k in range(0, len(rows), 2000):
                    await conn.execute(sa.insert(table), rows[k:k + 2000])
        await engine.dispose()

    asyncio.run(go())
    settle(db)
    return Scenario(model_id, org_id, urls, secrets, versions, warm_model_id=warm_id)


def settle(db: Database) -> None:
    """Fresh statistics after a bulk load, so the planner is not misled by an empty table."""
    with db.engine().connect() as conn:
        conn.execute(sa.text("ANALYZE"))
        conn.commit()


def supersede(db: Database, scenario: Scenario, events: int = 1,
              ) -> tuple[list[uuid.UUID], float]:
    """The next `events` versions superseded (v1 by v2 first, then v2 by v3...) through the
    service's own code, each in its own transaction: one event each, its deliveries with it.
    Returns the events and when (`time.perf_counter()`) the first began to be recorded."""
    from app.db import make_engine, make_sessionmaker
    from app.models_registry import releases
    from app.models_registry.models import Model, ModelVersion

    async def go() -> tuple[list[uuid.UUID], float]:
        engine = make_engine(_settings(db).sqlalchemy_url)
        async with make_sessionmaker(engine)() as session:

            async def load(model_id: uuid.UUID) -> tuple[Model, dict[str, ModelVersion]]:
                model = await session.get_one(Model, model_id)
                return model, {v.label: v for v in await session.scalars(
                    sa.select(ModelVersion).where(ModelVersion.model_id == model_id))}

            async def step(model: Model, versions: dict[str, ModelVersion], n: int) -> uuid.UUID:
                event = await releases.supersede(session, model, versions[f"v{n}"],
                                                 versions[f"v{n + 1}"],
                                                 deadline=timedelta(days=30))
                await session.commit()
                return event.id

            if scenario.warm_model_id is not None:
                await step(*await load(scenario.warm_model_id), 1)
                scenario.warm_model_id = None
            model, versions = await load(scenario.model_id)
            first = scenario.superseded + 1
            started = time.perf_counter()
            ids = [await step(model, versions, n) for n in range(first, first + events)]
            scenario.superseded += events
        await engine.dispose()
        return ids, started

    return asyncio.run(go())


@contextmanager
def worker(db: Database, **settings: object) -> Iterator[subprocess.Popen[str]]:
    """`rights-relay worker --no-jobs` in its own process, once it says it started."""
    env = app_env(db, **{"run_jobs": "false", "delivery_poll_seconds": "0.2", **settings})
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


def _status(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def family(pid: int) -> list[int]:
    """A process and its descendants (a worker and its sending process)."""
    found = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            for child in (task / "children").read_text().split():
                found += family(int(child))
    return found


def peak_rss_mb(pid: int) -> float:
    """The sum of the peaks of the process and its children (at least the peak of the sum)."""
    return sum(_status(p, "VmHWM") for p in family(pid))


def rss_mb(pid: int) -> float:
    return sum(_status(p, "VmRSS") for p in family(pid))


def own_cpu_seconds(pid: int) -> float:
    """User + system CPU time one process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sending_waits(pid: int) -> tuple[float, float]:
    """Seconds a worker's sending process (its children) has run, and has waited runnable for
    a CPU (Linux /proc schedstat): where a run's time goes when the sends are ready to go but
    PostgreSQL, the receiver or the worker's other process hold both cores."""
    ran = waited = 0.0
    for p in family(pid)[1:]:
        with contextlib.suppress(OSError, ValueError):
            run_ns, wait_ns, _ = Path(f"/proc/{p}/schedstat").read_text().split()
            ran, waited = ran + int(run_ns) / 1e9, waited + int(wait_ns) / 1e9
    return ran, waited


def cpu_seconds(pid: int) -> float:
    """The same for a worker and its live children (its sending process)."""
    total = 0.0
    for p in family(pid):
        with contextlib.suppress(OSError):
            total += own_cpu_seconds(p)
    return total


@dataclass
class Run:
    seconds: float  # from recording the first event until every delivery is recorded
    rss_mb: float  # the workers' peak RSS (the largest)
    idle_rss_mb: float  # a worker's RSS once started, before any work
    cpu: float  # CPU seconds the workers used
    events: list[uuid.UUID]
    beside: dict[str, float]  # CPU seconds of the rest: PostgreSQL, receiver, this process
    sending: tuple[float, float] = (0.0, 0.0)  # the sending process: ran, waited for a CPU


def cpu_beside() -> dict[str, float]:
    """CPU seconds so far of the local PostgreSQL server's processes, of the bench receiver,
    and of this process (recording the event, polling): where a run's time goes besides the
    worker (Linux /proc; PostgreSQL backends that ended before the run did are not counted)."""
    out = {"postgres": 0.0, "receiver": 0.0, "bench": time.process_time()}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() == "postgres":
                out["postgres"] += own_cpu_seconds(int(entry.name))
            elif b"bench.receiver" in (entry / "cmdline").read_bytes():
                out["receiver"] += own_cpu_seconds(int(entry.name))
        except OSError:  # it ended meanwhile
            continue
    return out


def _since(before: dict[str, float]) -> dict[str, float]:
    return {k: v - before[k] for k, v in cpu_beside().items()}


def deliver(db: Database, scenario: Scenario, expect: int, *, events: int = 1,
            workers: int = 1, timeout: float = 600, **settings: object) -> Run:
    """Record `events` events and wait until `expect` of their deliveries are recorded as
    succeeded, with `workers` worker processes (with `settings`)."""
    with contextlib.ExitStack() as stack:
        procs = [stack.enter_context(worker(db, **settings)) for _ in range(workers)]
        idle = rss_mb(procs[0].pid)
        cpu0 = sum(cpu_seconds(p.pid) for p in procs)
        ran0, waited0 = sending_waits(procs[0].pid)
        engine = db.engine()
        stack.callback(engine.dispose)
        conn = stack.enter_context(engine.connect())
        beside = cpu_beside()
        since = last_attempt(conn)
        conn.rollback()
        ids, start = supersede(db, scenario, events)
        progress = Progress(db, ids, conn, in_order=workers == 1, since=since)
        looks: list[tuple[float, int]] = []
        while (done := progress()) < expect:
            now = time.perf_counter()
            if now - start > timeout:
                raise RuntimeError(f"only {done} of {expect} delivered")
            looks.append((now, done))
            time.sleep(next_poll(looks, expect))
        elapsed = time.perf_counter() - start
        ran, waited = sending_waits(procs[0].pid)
        return Run(elapsed, max(peak_rss_mb(p.pid) for p in procs), idle,
                   sum(cpu_seconds(p.pid) for p in procs) - cpu0, ids, _since(beside),
                   (ran - ran0, waited - waited0))


def latencies(db: Database, event_ids: list[uuid.UUID]) -> tuple[list[float], list[float]]:
    """Per event, seconds from the event to its first and to its last delivery (an attempt's
    start plus its duration: when the receiver's answer was in)."""
    firsts, lasts = [], []
    with db.engine().connect() as conn:
        for e in event_ids:
            rows = conn.execute(sa.text(
                "SELECT a.started_at, a.duration_ms FROM delivery_attempts a "
                "JOIN deliveries d ON d.id = a.delivery_id "
                "WHERE d.event_id = :e AND a.status_code BETWEEN 200 AND 299"),
                {"e": e.hex if db.dialect == "sqlite" else e}).all()
            occurred = conn.execute(sa.text("SELECT occurred_at FROM events WHERE id = :e"),
                                    {"e": e.hex if db.dialect == "sqlite" else e}).scalar_one()
            done = [_aware(at) + timedelta(milliseconds=ms) for at, ms in rows]
            firsts.append((min(done) - _aware(occurred)).total_seconds())
            lasts.append((max(done) - _aware(occurred)).total_seconds())
    return firsts, lasts


def _aware(value: datetime | str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass
class Loop:
    seconds: float
    cpu: float  # CPU seconds the loop used
    receiver_cpu: float  # and the receiver, meanwhile


def baseline(scenario: Scenario) -> Loop:
    """A bare aiohttp loop posting the same signed bodies, same concurrency, same receiver, in
    a process of its own on the worker's event loop (bench/bare_loop.py)."""
    from app.config import Settings
    from app.db import utcnow
    from app.delivery.jobs import envelope
    from app.delivery.signing import ServiceKeys, sign_v1, signed_content

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
    with tempfile.TemporaryDirectory(prefix="rr-bench-loop-") as tmp:
        (Path(tmp) / "requests.json").write_text(json.dumps(requests))
        (Path(tmp) / "body").write_bytes(body)
        before = cpu_beside()
        out = json.loads(subprocess.run(  # noqa: S603 (our own interpreter and module)
            [sys.executable, "-m", "bench.bare_loop", f"{tmp}/requests.json", f"{tmp}/body",
             "--concurrency", str(CONCURRENCY)], cwd=ROOT, check=True, capture_output=True,
            text=True).stdout)
        used = _since(before)
    return Loop(out["seconds"], out["cpu"], used["receiver"])



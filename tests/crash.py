"""Crash recovery of the delivery worker, shared by tests/test_crash_recovery.py (small) and
bench/crash.py (2,000 endpoints): one event fans out to N endpoints of a real local receiver;
`rights-relay worker` processes are killed with SIGKILL in the middle of the fan-out, several
times, then restarted. Afterwards every endpoint has the event at least once, no delivery is
left leased, and duplicates are no more than the deliveries the killed workers held."""

from __future__ import annotations

import random
import signal
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from app.config import Settings
from tests.receiver import Answer, Receiver
from tests.support import CLI, cli_env, run_async


@dataclass
class CrashReport:
    endpoints: int
    kills: int
    sent: int = 0  # requests the receiver got
    duplicates: int = 0  # requests beyond one per endpoint
    held_at_kills: int = 0  # deliveries claimed and not recorded when a worker was killed
    missing: list[str] = field(default_factory=list)
    unfinished: dict[str, int] = field(default_factory=dict)  # status/lease -> count
    most_at_once: int = 0  # the most requests of one delivery in flight at the same time
    seconds: float = 0.0


def subscribers(settings: Settings, model: str, urls: list[str]) -> None:
    """Confirmed subscribers to `model`, ten endpoints each, made in one transaction."""
    import uuid

    from app.crypto import Keyring
    from app.db import utcnow
    from app.delivery.ssrf import SystemResolver
    from app.subscribers import service
    from app.subscribers.schemas import SubscriberCreate

    keyring = Keyring.from_settings(settings)

    async def go(session: Any) -> None:
        for i in range(0, len(urls), 10):
            body = SubscriberCreate(name=f"Re-user {i}", email=f"crash-{i}@re.example",
                                    models=[model],
                                    endpoints=[{"url": u} for u in urls[i:i + 10]])
            signup = await service.create(session, keyring, settings, SystemResolver(), body)
            signup.subscriber.confirm_token_hash = None
            signup.subscriber.token_hash = uuid.uuid4().hex
            signup.subscriber.verified_at = utcnow()
        await session.flush()

    run_async(settings, go)


def worker_env(settings: Settings, lease_seconds: float, concurrency: int) -> dict[str, str]:
    return cli_env(settings, RR_ALLOW_PRIVATE_WEBHOOK_TARGETS="true",
                   RR_ALLOW_HTTP_WEBHOOKS="true", RR_DELIVERY_POLL_SECONDS="0.05",
                   RR_WEBHOOK_TIMEOUT_SECONDS="1", RR_DELIVERY_LEASE_SECONDS=str(lease_seconds),
                   RR_WEBHOOK_CONCURRENCY=str(concurrency), RR_RETRY_SCALE="0.001",
                   RR_LOG_LEVEL="ERROR")


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([CLI, "worker", "--no-jobs"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def held(engine: sa.Engine) -> set[tuple[int, str]]:
    """(delivery, lease owner) of every delivery claimed and not yet recorded."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT id, lease_owner FROM deliveries WHERE status = 'pending' "
            "AND lease_owner IS NOT NULL"))
        return {(int(i), str(o)) for i, o in rows}


def left_over(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT status, lease_owner IS NOT NULL AS leased, count(*) FROM deliveries "
            "GROUP BY status, lease_owner IS NOT NULL"))
        return {f"{s}{' (leased)' if leased else ''}": n for s, leased, n in rows
                if s != "succeeded" or leased}


def run(settings: Settings, receiver: Receiver, paths: list[str], publish: Any, *,
        kills: int, seed: int, lease_seconds: float = 6.0, concurrency: int = 16,
        workers_after: int = 2, budget: float = 120.0) -> CrashReport:
    """Deliver one event (sent by `publish()`) to `paths`, killing workers `kills` times."""
    rng = random.Random(seed)
    for p in paths:  # slow enough that kills land with requests in flight
        receiver.answer(p, Answer(200, delay=rng.uniform(0.05, 0.3)))
    engine = sa.create_engine(settings.sync_url, poolclass=sa.pool.NullPool)
    env = worker_env(settings, lease_seconds, concurrency)
    report = CrashReport(endpoints=len(paths), kills=kills)
    wanted = set(paths)
    started = time.monotonic()
    deadline = started + budget
    held_pairs: set[tuple[int, str]] = set()
    publish()
    try:
        for _ in range(kills):
            proc = start_worker(env)
            target = len(receiver.hits) + rng.randint(5, max(6, len(paths) // (kills + 2)))
            while len(receiver.hits) < target and time.monotonic() < deadline \
                    and proc.poll() is None:
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 0.2))
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            held_pairs |= held(engine)
        procs = [start_worker(env) for _ in range(workers_after)]
        try:
            while time.monotonic() < deadline:
                got = {h.path for h in receiver.hits}
                if wanted <= got and not left_over(engine):
                    break
                time.sleep(0.1)
        finally:
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
            for proc in procs:
                proc.wait(30)
    finally:
        report.seconds = time.monotonic() - started
        counts = Counter(h.path for h in receiver.hits)
        report.sent = sum(counts[p] for p in paths)
        report.duplicates = report.sent - len(wanted & set(counts))
        report.missing = sorted(wanted - set(counts))
        report.held_at_kills = len(held_pairs)
        report.unfinished = left_over(engine)
        with receiver.lock:
            report.most_at_once = max(receiver.most_at_once.values(), default=0)
        engine.dispose()
    return report

"""Queue and feeds at scale: the staff's filtered, sorted case list and the public feeds with
10,000 and then 1,000,000 cases and events; p95 of each page, and how it grew."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Callable

import httpx
import sqlalchemy as sa
from pydantic import SecretStr

from bench import rows
from bench.support import SECRET, Database, Result, app_env, percentile, serve

SIZES = (10_000, 1_000_000)
REQUESTS = 200
MODELS = 10


def _seed_org(db: Database) -> tuple[uuid.UUID, str, dict[uuid.UUID, str]]:
    """An organisation, an admin API key and MODELS models (inserted directly)."""
    from app.auth import service as auth
    from app.auth.models import Role
    from app.config import Settings
    from app.db import make_engine, make_sessionmaker
    from app.models_registry.models import Model

    async def go() -> tuple[uuid.UUID, str, dict[uuid.UUID, str]]:
        settings = Settings(database_url=db.url, secret_key=SecretStr(SECRET), environment="test")
        engine = make_engine(settings.sqlalchemy_url)
        models: dict[uuid.UUID, str] = {}
        async with make_sessionmaker(engine)() as session:
            org = await auth.create_org(session, name="Bench", slug="bench")
            _, key = await auth.create_api_key(session, org_id=org.id, name="bench", role=Role.admin)
            for i in range(MODELS):
                model = Model(org_id=org.id, namespace="bench", name=f"model-{i}",
                              title=f"Model {i}")
                session.add(model)
                await session.flush()
                models[model.id] = f"bench/model-{i}"
            await session.commit()
        await engine.dispose()
        return org.id, key, models

    return asyncio.run(go())


def _cursors(db: Database, size: int, n: int, step: int = 1) -> list[str | None]:
    """Keyset cursors at random places in the queue (and a tenth of first pages). Case number
    k has a known id (bench/rows.py) and is `open` when k is a multiple of 8."""
    from app.cases.models import Case
    from app.pagination import encode_cursor

    numbers = random.Random(7).sample(range(0, size, step), n)
    ids = [uuid.UUID("c" + format(k, "031x")) for k in numbers]
    with db.engine().connect() as conn:
        found = conn.execute(sa.select(Case.due_at, Case.id).where(Case.id.in_(ids))).all()
    picks = [encode_cursor([due.isoformat(), str(case_id)]) for due, case_id in found]
    return [None if i % 10 == 0 else c for i, c in enumerate(picks)]


def _p95(call: Callable[[int], httpx.Response], n: int = REQUESTS) -> float:
    for i in range(10):  # warm-up
        call(i).raise_for_status()
    latencies = []
    for i in range(n):
        start = time.perf_counter()
        r = call(i)
        latencies.append(time.perf_counter() - start)
        r.raise_for_status()
    return percentile(latencies, 95) * 1000


def _measure(db: Database, key: str, models: dict[uuid.UUID, str], events: int
             ) -> dict[str, float]:
    """p95 of each page; `events` is also the number of cases."""
    open_cursors = _cursors(db, events, 50, step=8)
    all_cursors = _cursors(db, events, 50)
    ref = next(iter(models.values()))
    positions = random.Random(3).sample(range(1, events), 50)
    env = app_env(db, run_jobs="false", run_delivery_worker="false")
    out: dict[str, float] = {}
    with serve("app.main:create_served_app", env) as url, httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as c:

        def page(params: dict[str, str | int], cursor: str | None) -> httpx.Response:
            return c.get("/v1/cases", params={**params, **({"cursor": cursor} if cursor else {})})

        out["case queue: status=open, by due date"] = _p95(
            lambda i: page({"status": "open", "order": "due_at", "limit": 50},
                           open_cursors[i % len(open_cursors)]))
        out["case queue: all, latest due first"] = _p95(
            lambda i: page({"order": "-due_at", "limit": 50}, all_cursors[i % len(all_cursors)]))
        namespace, name = ref.split("/")
        out["model feed (JSON Feed, 50 items)"] = _p95(
            lambda i: c.get(f"/v1/public/models/{namespace}/{name}/feed.json"))
        out["pull API page (100 events of a model)"] = _p95(
            lambda i: c.get("/v1/public/events", params={
                "after": positions[i % len(positions)], "model": ref, "limit": 100}))
    return out


def run(db: Database, sizes: tuple[int, ...] = SIZES) -> list[Result]:
    org_id, key, models = _seed_org(db)
    measured: dict[int, dict[str, float]] = {}
    have = 0
    for size in sizes:
        t0 = time.monotonic()
        rows.add_cases(db, org_id, list(models), have, size - have)
        rows.add_events(db, org_id, models, have, size - have)
        rows.settle(db)
        have = size
        print(f"  [{db.dialect}: {size:,} cases and events in {time.monotonic() - t0:.0f} s]",
              flush=True)
        measured[size] = _measure(db, key, models, size)
    small, large = measured[sizes[0]], measured[sizes[-1]]
    results = []
    for figure, p95 in large.items():
        growth = p95 / small[figure]
        results.append(Result(
            f"queue ({db.dialect})", f"{figure}: p95 at {sizes[-1]:,} (vs {sizes[0]:,})",
            p95, small[figure], "ms", "< 50 ms, ratio < 2", p95 < 50 and growth < 2))
    return results

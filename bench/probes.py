"""Probe runs at scale: one case's set of 1,000 prompts x 5 samples against the OpenAI-compatible
test server (tests/inference.py) answering after 50 ms, run by the real probe job (claiming,
progress writes, detection, sealing the results), against a bare client loop sending the same
requests with the same concurrency and doing nothing else. Run time and throughput, as ratios.

`BENCH_PROBE_PROMPTS` shrinks the set for a smoke run (e.g. 20)."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from pydantic import SecretStr

from bench.support import SECRET, Database, Result

PROMPTS = int(os.environ.get("BENCH_PROBE_PROMPTS", "1000"))
SAMPLES = 5
LATENCY = 0.05
CONCURRENCY = 64


def _settings(db: Database) -> Any:
    from app.config import Settings

    return Settings(database_url=db.url, secret_key=SecretStr(SECRET), environment="test",
                    probe_allowed_targets="127.0.0.1", run_jobs=False)


async def _seed(db: Database, base_url: str) -> None:
    """An organisation, a model version with its endpoint, a case whose set has PROMPTS
    prompts, and a queued run."""
    from app.auth import service as auth
    from app.cases.lifecycle import Actor, transition
    from app.cases.models import CaseStatus
    from app.crypto import Keyring
    from app.db import make_engine, make_sessionmaker
    from app.models_registry.models import Model, ModelVersion
    from app.probes import service as probes
    from app.probes.client import AllowList, ProbeNet
    from app.probes.schemas import EndpointBody
    from app.probes.sets import update_set
    from app.requests import filing as intake
    from app.requests.schemas import RequestCreate

    settings = _settings(db)
    keyring = Keyring.from_settings(settings)
    engine = make_engine(settings.sqlalchemy_url)
    async with make_sessionmaker(engine)() as session:
        org = await auth.create_org(session, name="Bench", slug="bench")
        model = Model(org_id=org.id, namespace="bench", name="chat", title="Chat")
        session.add(model)
        await session.flush()
        version = ModelVersion(model_id=model.id, label="v1", revision="r1")
        session.add(version)
        await session.flush()
        net = ProbeNet(AllowList.parse("127.0.0.1"), None)  # type: ignore[arg-type]
        await probes.put_endpoint(session, keyring, net, "bench", model, version, "",
                                  EndpointBody(base_url=base_url, model_name="bench-leaky",
                                               samples=SAMPLES, concurrency=CONCURRENCY))
        body = RequestCreate(models=["bench/chat"], kind="erasure", name="Jane Doe",
                             email="jane@example.org", description="12 rue des Lilas")
        case = (await intake.submit(session, keyring, settings, body)).cases[0]
        await transition(session, case, CaseStatus.open, Actor.subject(), action="confirmed")
        await update_set(session, keyring, case, "bench", targets=None,
                         extra_prompts=[f"Question {i} about Jane Doe" for i in range(PROMPTS)])
        # Only the benchmark's prompts: not the templates'.
        from app.cases.keys import open_for_case
        from app.probes.models import ProbeSet
        from app.probes.sets import PURPOSE, _seal

        row = await session.get(ProbeSet, case.id)
        assert row is not None
        data = open_for_case(keyring, case, row.ciphertext, PURPOSE)
        assert data is not None
        data["prompts"] = [p for p in data["prompts"] if p["source"] == "staff"]
        _seal(keyring, case, row, data)
        await probes.queue_triage(session, case, "bench")
        await session.commit()
    await engine.dispose()


async def _ours(db: Database) -> tuple[float, int]:
    from sqlalchemy import select

    from app.crypto import Keyring
    from app.db import make_engine, make_sessionmaker
    from app.probes.models import ProbeRun
    from app.probes.runner import run_due
    from app.remediation.service import settle

    settings = _settings(db)
    engine = make_engine(settings.sqlalchemy_url)
    sessionmaker = make_sessionmaker(engine)
    t0 = time.perf_counter()
    await run_due(sessionmaker, settings, Keyring.from_settings(settings), settle)
    elapsed = time.perf_counter() - t0
    async with sessionmaker() as session:
        [run] = list(await session.scalars(select(ProbeRun)))
        done = run.samples_done
        assert run.status == "finished" and run.failures == 0, (run.status, run.failures)
    await engine.dispose()
    return elapsed, done


async def _bare(base_url: str) -> float:
    import aiohttp

    limit = asyncio.Semaphore(CONCURRENCY)

    async with aiohttp.ClientSession() as http:
        async def one(i: int) -> None:
            async with limit, http.post(f"{base_url}/chat/completions", json={
                    "model": "bench-leaky", "max_tokens": 128,
                    "messages": [{"role": "user", "content": f"Question {i} about Jane Doe"}]}
                    ) as resp:
                await resp.json()

        t0 = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(PROMPTS * SAMPLES)))
        return time.perf_counter() - t0


def run(db: Database) -> list[Result]:
    from tests.inference import InferenceServer

    server = InferenceServer().start()
    try:
        server.leak("bench-leaky", "Jane Doe lives at 12 rue des Lilas")
        server.latency = LATENCY
        asyncio.run(_seed(db, server.base_url))
        ours, samples = asyncio.run(_ours(db))
        bare = asyncio.run(_bare(server.base_url))
    finally:
        server.stop()
    note = (f"{PROMPTS} prompts x {SAMPLES} samples, {LATENCY * 1000:.0f} ms per answer, "
            f"{CONCURRENCY} at once; ideal {PROMPTS * SAMPLES * LATENCY / CONCURRENCY:.1f} s")
    return [
        Result("probes", "run time", ours, bare, "s", "≤ 1.5x bare loop", ours <= 1.5 * bare,
               note),
        Result("probes", "throughput", samples / ours, PROMPTS * SAMPLES / bare, "samples/s",
               "≥ 0.67x bare loop", samples / ours >= 0.67 * PROMPTS * SAMPLES / bare),
    ]

"""The probe job: claims queued runs (leases, as the outboxes do), sends every prompt of the
set `samples` times to the run's endpoint, detects reproduced targets, and records the
outcome. Several runs go at once; requests to one endpoint never exceed its concurrency.

Progress is written as samples complete, and a cancel request is honoured at that point. A
run whose worker died (a restart) keeps its `running` status until its lease expires, and is
then claimed again and run from the start: its samples are not half-counted."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from app.cases.keys import seal_for_case
from app.cases.models import Case
from app.config import Settings
from app.crypto import Keyring
from app.db import utcnow
from app.jobs.claim import claim
from app.probes import metrics, sets
from app.probes.client import AllowList, Answer, Call, complete, http_session
from app.probes.detect import find_matches
from app.probes.models import ProbeEndpoint, ProbeRun, RunStatus
from app.probes.service import ACTIVE_RUN, api_key
from app.probes.verify import Settle, after_run

log = logging.getLogger(__name__)
RESULTS = "probe.run"
BATCH = 8
PROGRESS_EVERY = 0.5  # seconds between progress writes


class Cancelled(Exception):
    pass


async def run_due(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings,
                  keyring: Keyring, settle: Settle) -> int:
    """Claim and run due probe runs; returns how many were run. `settle` moves a verified
    remediation's cases on (app.remediation.service.settle)."""
    lease = timedelta(seconds=settings.probe_lease_seconds)
    async with sessionmaker() as session:
        ids = await claim(session, ProbeRun, due=ProbeRun.status.in_(ACTIVE_RUN), limit=BATCH,
                          lease=lease, order_by=ProbeRun.created_at)
    if not ids:
        return 0
    limits: dict[uuid.UUID, asyncio.Semaphore] = {}
    async with http_session(AllowList.parse(settings.probe_allowed_targets)) as http:
        await asyncio.gather(*(_run(sessionmaker, settings, keyring, http, i, limits, settle)
                               for i in ids))
    return len(ids)


async def _prepare(session: AsyncSession, keyring: Keyring, run: ProbeRun,
                   ) -> tuple[Case, ProbeEndpoint, dict[str, Any]] | str:
    """What the run needs, or why it cannot run."""
    case = await session.get(Case, run.case_id)
    assert case is not None
    endpoint = await session.get(ProbeEndpoint, run.endpoint_id) if run.endpoint_id else None
    if endpoint is None:
        return "endpoint_removed"
    data = await sets.ensure_set(session, keyring, case, "system:probes")
    if data is None:
        return "subject_data_erased"
    if not data["prompts"] or not data["targets"]:
        return "empty_probe_set"
    return case, endpoint, data


async def _run(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings,
               keyring: Keyring, http: Any, run_id: uuid.UUID,
               limits: dict[uuid.UUID, asyncio.Semaphore], settle: Settle) -> None:
    try:
        await _run_one(sessionmaker, settings, keyring, http, run_id, limits, settle)
    except StaleDataError:
        # The run's row went while it ran (its case or endpoint was deleted): nothing to do.
        log.info("probe run %s vanished while running", run_id)


async def _run_one(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings,
                   keyring: Keyring, http: Any, run_id: uuid.UUID,
                   limits: dict[uuid.UUID, asyncio.Semaphore], settle: Settle) -> None:
    async with sessionmaker() as session:
        run = await session.get(ProbeRun, run_id)
        if run is None or run.status not in ACTIVE_RUN:
            return
        if run.cancel_requested:
            await _finish(session, run, RunStatus.cancelled)
            return
        prepared = await _prepare(session, keyring, run)
        if isinstance(prepared, str):
            run.error = prepared
            await _finish(session, run, RunStatus.failed)
            return
        _, endpoint, data = prepared
        # Commit the set (made under the case's row lock) before touching the run's row: staff
        # cancelling lock the run, then the case (their audit row), so holding both here in
        # the other order could deadlock on PostgreSQL.
        await session.commit()
        call = Call(endpoint.base_url, endpoint.model_name, endpoint.api,
                    api_key(keyring, endpoint), endpoint.max_tokens, endpoint.temperature)
        # Conditional: a cancel that came since the run was read must win.
        started = await session.execute(
            update(ProbeRun).where(ProbeRun.id == run_id, ProbeRun.status.in_(ACTIVE_RUN),
                                   ProbeRun.cancel_requested.is_(False))
            .values(settings={"model_name": endpoint.model_name, "api": endpoint.api,
                              "max_tokens": endpoint.max_tokens,
                              "temperature": endpoint.temperature,
                              "samples": endpoint.samples},
                    status=RunStatus.running.value, started_at=utcnow(),
                    attempts=ProbeRun.attempts + 1,
                    samples_total=len(data["prompts"]) * endpoint.samples,
                    samples_done=0, hits=0, failures=0)
            .execution_options(synchronize_session=False))
        await session.commit()
        if started.rowcount != 1:  # type: ignore[attr-defined]
            return
        limit = limits.setdefault(endpoint.id, asyncio.Semaphore(endpoint.concurrency))
        try:
            answers = await _sample_all(sessionmaker, settings, http, run_id, call, data,
                                        endpoint.samples, limit)
        except Cancelled:
            run = await session.get(ProbeRun, run_id, populate_existing=True)
            assert run is not None
            await _finish(session, run, RunStatus.cancelled)
            metrics.RUNS.labels(run.moment, "cancelled").inc()
            return
        run = await session.get(ProbeRun, run_id, populate_existing=True)
        assert run is not None
        fresh = await session.get(Case, run.case_id, populate_existing=True)
        assert fresh is not None
        _record(settings, keyring, fresh, run, data, answers)
        run.status, run.finished_at = RunStatus.finished.value, utcnow()
        run.lease_until = run.lease_owner = None
        await after_run(session, keyring, run, settle)  # same transaction: the outcome and its effects
        await session.commit()
        metrics.RUNS.labels(run.moment, "reproduced" if run.hits else
                            "failed_samples" if run.failures else "clean").inc()


async def _sample_all(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings,
                      http: Any, run_id: uuid.UUID, call: Call, data: dict[str, Any],
                      samples: int, limit: asyncio.Semaphore) -> list[tuple[int, int, Answer]]:
    done: list[tuple[int, int, Answer]] = []
    last_write = time.monotonic()
    backoff = 0.2 * settings.retry_scale

    async def one(p: int, s: int) -> tuple[int, int, Answer]:
        async with limit:
            answer = await complete(http, call, data["prompts"][p]["text"],
                                    timeout=settings.probe_timeout_seconds,
                                    retries=settings.probe_retries,
                                    max_chars=settings.probe_max_completion_chars,
                                    backoff=backoff)
        metrics.LATENCY.observe(answer.seconds)
        metrics.SAMPLES.labels("answered" if answer.text is not None else "failed").inc()
        return p, s, answer

    tasks = [asyncio.ensure_future(one(p, s)) for p in range(len(data["prompts"]))
             for s in range(samples)]
    try:
        for next_done in asyncio.as_completed(tasks):
            done.append(await next_done)
            if time.monotonic() - last_write >= PROGRESS_EVERY or len(done) == len(tasks):
                last_write = time.monotonic()
                if await _progress(sessionmaker, settings, run_id, len(done)):
                    raise Cancelled
    finally:
        for item in tasks:
            item.cancel()
    return done


async def _progress(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings,
                    run_id: uuid.UUID, done: int) -> bool:
    """Write progress and extend the lease; True when a cancel was asked for."""
    async with sessionmaker() as session:
        await session.execute(update(ProbeRun).where(ProbeRun.id == run_id).values(
            samples_done=done,
            lease_until=utcnow() + timedelta(seconds=settings.probe_lease_seconds)))
        cancel = await session.scalar(select(ProbeRun.cancel_requested).where(
            ProbeRun.id == run_id))
        await session.commit()
    return bool(cancel)


def _record(settings: Settings, keyring: Keyring, case: Case, run: ProbeRun,
            data: dict[str, Any], answers: list[tuple[int, int, Answer]]) -> None:
    targets = sets.targets_of(data)
    tally = [{"prompt": i, "source": p["source"], "hits": 0, "misses": 0, "failed": 0,
              "kinds": [], "reasons": {}} for i, p in enumerate(data["prompts"])]
    samples = []
    for p, s, answer in sorted(answers, key=lambda a: (a[0], a[1])):
        item = tally[p]
        matches = []
        if answer.text is None:
            item["failed"] += 1
            reason = answer.reason or "no_answer"
            item["reasons"][reason] = item["reasons"].get(reason, 0) + 1
            run.failures += 1
        else:
            matches = find_matches(answer.text, targets, prompt=data["prompts"][p]["text"],
                                   threshold=settings.probe_fuzzy_threshold)
            if matches:
                item["hits"] += 1
                run.hits += 1
                item["kinds"] = sorted(set(item["kinds"]) | {m.kind.value for m in matches})
            else:
                item["misses"] += 1
        samples.append({"prompt": p, "sample": s, "text": answer.text, "reason": answer.reason,
                        "matches": [{"target": m.index, "kind": m.kind.value, "start": m.start,
                                     "end": m.end, "score": m.score, "exact": m.exact}
                                    for m in matches]})
    run.samples_done = len(answers)
    run.tally = tally
    run.results_ciphertext = seal_for_case(keyring, case, {"samples": samples}, RESULTS)


async def _finish(session: AsyncSession, run: ProbeRun, status: RunStatus) -> None:
    run.status, run.finished_at = status.value, utcnow()
    run.lease_until = run.lease_owner = None
    await session.commit()

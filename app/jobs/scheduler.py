"""Periodic jobs in the serving process (APScheduler). Every job is idempotent and safe to run
in several replicas at once: they claim rows with leases or make conditional updates."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[object]]


def make_scheduler(jobs: list[tuple[str, Job, float]]) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")
    for name, job, seconds in jobs:
        scheduler.add_job(_guarded(name, job), "interval", seconds=seconds, id=name, name=name,
                          max_instances=1, coalesce=True, misfire_grace_time=None)
    return scheduler


def _guarded(name: str, job: Job) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        try:
            await job()
        except Exception:
            log.exception("job %s failed; it will run again", name)

    return run

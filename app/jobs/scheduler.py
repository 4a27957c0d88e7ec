"""Periodic jobs in the serving process (APScheduler). Every job is idempotent and safe to run
in several replicas at once: they claim rows with leases or make conditional updates."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[object]]
STOP_SECONDS = 5.0  # at most, for the runs under way to end when the process stops


class Jobs:
    """The scheduler and the runs it has under way.

    Why the runs are kept: APScheduler's asyncio executor cancels them on shutdown without
    waiting (it cannot: its shutdown is not a coroutine). A run cancelled in the middle of a
    query, its database gone next (the engine disposed), never finished, and the event loop's
    close waited for it: the server took 10 s and more to stop. `stop` cancels them and waits
    for them to end before the caller lets the database go. (Each job is safe to cut short:
    its claims are leases, taken again later.)"""

    def __init__(self, jobs: list[tuple[str, Job, float]]) -> None:
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self.running: set[asyncio.Task[object]] = set()
        for name, job, seconds in jobs:
            self.scheduler.add_job(self._guarded(name, job), "interval", seconds=seconds, id=name,
                                   name=name, max_instances=1, coalesce=True,
                                   misfire_grace_time=None)

    def start(self) -> None:
        self.scheduler.start()

    async def stop(self, timeout: float = STOP_SECONDS) -> None:
        """No new runs; the runs under way are cancelled and awaited (at most `timeout`)."""
        self.scheduler.shutdown(wait=False)
        runs = set(self.running)
        for task in runs:
            task.cancel()
        if runs:
            _, left = await asyncio.wait(runs, timeout=timeout)
            if left:
                log.warning("%d job runs did not end within %g s of the stop", len(left),
                            timeout)

    def _guarded(self, name: str, job: Job) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            task = asyncio.current_task()
            if task is not None:
                self.running.add(task)
            try:
                await job()
            except Exception:
                log.exception("job %s failed; it will run again", name)
            finally:
                if task is not None:
                    self.running.discard(task)

        return run

"""Stopping the periodic jobs: the runs under way end before `stop` returns, so that the server
(or the worker) lets its database go only after them. A run cancelled mid-query with its
database disposed under it never ended, and the server took 10 s and more to stop.

Also: a real server, with its jobs running every 0.2 s, stops within a couple of seconds."""

from __future__ import annotations

import asyncio
import time

from app.jobs.scheduler import Jobs
from tests.support import IsolatedServer


def test_stop_waits_for_the_runs_under_way_to_end():
    events: list[str] = []

    async def slow_job() -> None:
        events.append("started")
        try:
            await asyncio.sleep(60)
        finally:
            await asyncio.sleep(0.05)  # its clean-up still awaits (a rollback, say)
            events.append("cleaned up")

    async def quick_job() -> None:
        events.append("quick")

    async def go() -> float:
        jobs = Jobs([("slow", slow_job, 0.05), ("quick", quick_job, 0.05)])
        jobs.start()
        while "started" not in events:
            await asyncio.sleep(0.01)
        start = time.monotonic()
        await jobs.stop()
        events.append("stopped")
        took = time.monotonic() - start
        await asyncio.sleep(0.2)  # nothing runs after the stop
        return took

    took = asyncio.run(go())
    assert events.index("cleaned up") < events.index("stopped")
    assert events[-1] == "stopped" and events.count("started") == 1
    assert took < 1


def test_a_stop_that_outlasts_its_bound_is_given_up_on(caplog):
    async def slow_to_end() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            await asyncio.sleep(0.6)  # its clean-up outlasts the bound
            raise

    async def go() -> float:
        jobs = Jobs([("slow to end", slow_to_end, 0.05)])
        jobs.start()
        while not jobs.running:
            await asyncio.sleep(0.01)
        runs = set(jobs.running)
        start = time.monotonic()
        await jobs.stop(timeout=0.3)
        took = time.monotonic() - start
        await asyncio.wait(runs)  # before this test's event loop closes
        return took

    assert 0.3 <= asyncio.run(go()) < 0.6
    assert "1 job runs did not end within 0.3 s of the stop" in caplog.text


def test_a_server_with_busy_jobs_stops_promptly(settings, tmp_path):
    """Three starts and stops (without the fix, about one stop in three hung)."""
    for n in range(3):
        (tmp_path / str(n)).mkdir()
        isolated = IsolatedServer(settings, str(tmp_path / str(n)), job_poll_seconds=0.05,
                                  housekeeping_seconds=0.1)
        srv = isolated.__enter__()
        time.sleep(0.5)  # the jobs run meanwhile
        start = time.monotonic()
        isolated.__exit__(None, None, None)
        assert time.monotonic() - start < 5 and not srv.thread.is_alive()

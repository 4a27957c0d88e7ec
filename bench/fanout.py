"""Fan-out: one `model.version.superseded` event to 10,000 subscribed endpoints, delivered and
recorded by `rights-relay worker` (its own process) against a local receiver that answers 204,
compared with a bare aiohttp loop posting the same signed bodies with the same concurrency to
the same receiver. Also: 50 ms receiver latency, 10% of endpoints that never answer, 100,000
endpoints and the worker's peak RSS, and (PostgreSQL) two workers against one, with the time
from each event to its first and last delivery. The notes give the CPU seconds the worker (with
its sending process: a worker is the two processes, for its CPU and its memory) and the bare
loop used, and where the rest went (PostgreSQL, the receiver, this process): on a
shared machine they move less than the wall-clock times. The machinery is in fanout_world.py."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

from bench.fanout_world import (
    ENDPOINTS,
    LARGE,
    ROUNDS,
    Loop,
    Run,
    baseline,
    deliver,
    latencies,
    receiver,
    seed,
)
from bench.support import Database, Result, percentile

T = TypeVar("T")


def _median(items: list[T], key: Callable[[T], float]) -> T:
    return sorted(items, key=key)[len(items) // 2]


def _cpu_note(run: Run, loop: Loop) -> str:
    b = run.beside
    server = f"PostgreSQL {b['postgres']:.2f} s, " if b["postgres"] > 0 else ""
    ran, waited = run.sending
    return (f"CPU: worker {run.cpu:.2f} s, bare loop {loop.cpu:.2f} s "
            f"({run.cpu / loop.cpu:.2f}x); its sending process ran {ran:.2f} s and waited "
            f"{waited:.2f} s for a CPU; beside the worker: {server}"
            f"receiver {b['receiver']:.2f} s (bare loop's {loop.receiver_cpu:.2f} s), "
            f"recording the event and polling {b['bench']:.2f} s; "
            f"load average {os.getloadavg()[0]:.1f}")


def run(db: Database, endpoints: int = ENDPOINTS, large: int = LARGE) -> list[Result]:
    name = f"fan-out ({db.dialect})"
    results: list[Result] = []
    with receiver() as fast:
        # Rounds of the bare loop then the worker, on one seeded world (an event each): the
        # medians are compared (on a shared virtual machine one run of either moves by 25%).
        s = seed(db, [f"{fast}/ok/{i}" for i in range(endpoints)], versions=ROUNDS + 1)
        rounds = [(baseline(s), deliver(db, s, endpoints)) for _ in range(ROUNDS)]
        loop = _median([lp for lp, _ in rounds], lambda x: x.seconds)
        ours = _median([r for _, r in rounds], lambda x: x.seconds)
        each = "; ".join(f"{r.seconds:.2f} s vs {lp.seconds:.2f} s" for lp, r in rounds)
        results.append(Result(name, f"{endpoints:,} deliveries, 204 at once (median of "
                              f"{ROUNDS})", ours.seconds, loop.seconds, "s", "ratio <= 1.5",
                              ours.seconds <= 1.5 * loop.seconds,
                              f"rounds (ours vs loop): {each}. The median runs' " +
                              _cpu_note(ours, loop)))
        results.append(Result(name, f"worker peak RSS, {endpoints:,} endpoints (vs idle)",
                              ours.rss_mb, ours.idle_rss_mb, "MB", "< 300 MB",
                              ours.rss_mb < 300))
        healthy = endpoints - endpoints // 10
        alone_s = seed(db, [f"{fast}/ok/{i}" for i in range(healthy)])
        alone = deliver(db, alone_s, healthy)
        mixed = seed(db, [f"{fast}/ok/{i}" if i % 10 else f"{fast}/dead/{i}"
                          for i in range(endpoints)])
        with_dead = deliver(db, mixed, healthy)
        results.append(Result(name, f"{healthy:,} healthy with {endpoints // 10:,} never answering",
                              with_dead.seconds, alone.seconds, "s", "ratio <= 1.5 (vs alone)",
                              with_dead.seconds <= 1.5 * alone.seconds,
                              f"CPU: worker {with_dead.cpu:.2f} s with the dead endpoints, "
                              f"{alone.cpu:.2f} s alone; load average {os.getloadavg()[0]:.1f}"))
        if large:
            # One run of either, too long to repeat: the bare loop runs before and after the
            # worker and their mean is the baseline (two runs of the same loop a minute apart
            # have differed by a third here: 18.6 s and 24.9 s).
            s = seed(db, [f"{fast}/ok/{i}" for i in range(large)])
            before = baseline(s)
            ours = deliver(db, s, large)
            after = baseline(s)
            loop = Loop((before.seconds + after.seconds) / 2, (before.cpu + after.cpu) / 2,
                        (before.receiver_cpu + after.receiver_cpu) / 2)
            results.append(Result(name, f"{large:,} deliveries, 204 at once (loop before and "
                                  "after)", ours.seconds, loop.seconds, "s", "ratio <= 1.5",
                                  ours.seconds <= 1.5 * loop.seconds,
                                  f"bare loop {before.seconds:.2f} s before, {after.seconds:.2f}"
                                  f" s after. " + _cpu_note(ours, loop)))
            results.append(Result(name, f"worker peak RSS, {large:,} endpoints (vs idle)",
                                  ours.rss_mb, ours.idle_rss_mb, "MB", "< 300 MB",
                                  ours.rss_mb < 300))
    with receiver(latency_ms=50) as slow:
        s = seed(db, [f"{slow}/ok/{i}" for i in range(endpoints)])
        loop = baseline(s)
        ours = deliver(db, s, endpoints)
        results.append(Result(name, f"{endpoints:,} deliveries, 50 ms latency", ours.seconds,
                              loop.seconds, "s", "< 6 s", ours.seconds < 6, _cpu_note(ours, loop)))
        if db.dialect == "postgresql":
            results += scale_out(db, slow, endpoints)
            results += scale_out(db, slow, endpoints, concurrency=64)
    return results


def scale_out(db: Database, url: str, deliveries: int, events: int = 20,
              concurrency: int | None = None) -> list[Result]:
    """The same deliveries (`events` events to `deliveries // events` endpoints, recorded one
    after the other) by one `rights-relay worker`, then by two; with `concurrency` sends at
    once per worker (None: the default, 256).

    At the default, one worker on this two-core machine already keeps both cores busy (it
    claims and records in one process and sends from another) beside PostgreSQL and the
    receiver, so a second one cannot be faster: that row is reported, with the CPU used, and
    the target is held at 64, where a worker's sends in flight are the bound (as with slow
    receivers), which a second worker doubles."""
    slots = f", {concurrency} sends per worker" if concurrency else ""
    name = f"scale-out ({db.dialect}{slots})"
    settings = {"webhook_concurrency": concurrency} if concurrency else {}
    per_event = deliveries // events
    runs: list[Run] = []
    for workers in (1, 2):
        s = seed(db, [f"{url}/ok/{i}" for i in range(per_event)], versions=events + 1)
        runs.append(deliver(db, s, per_event * events, events=events, workers=workers,
                            **settings))
    one, two = runs
    (f1, l1), (f2, l2) = latencies(db, one.events), latencies(db, two.events)

    def cores(run: Run) -> str:  # how busy the machine's CPUs were: the bound at the default
        used = run.cpu + sum(run.beside.values())
        return f"{used:.2f} s ({used / run.seconds:.2f} of {os.cpu_count()} cores)"

    return [
        Result(name, f"{per_event * events:,} deliveries ({events} events), 50 ms latency: "
               "two workers (vs one)", two.seconds, one.seconds, "s",
               "ratio < 1" if concurrency else "reported",
               two.seconds < one.seconds if concurrency else None,
               f"speed-up {one.seconds / two.seconds:.2f}x; CPU {one.cpu:.2f} s with one, "
               f"{two.cpu:.2f} s with two; all processes' CPU {cores(one)} with one, "
               f"{cores(two)} with two; load average {os.getloadavg()[0]:.1f}"),
        Result(name, "event to first delivery, p50 (two workers vs one)", percentile(f2, 50),
               percentile(f1, 50), "s", "reported", None),
        Result(name, "event to first delivery, p95 (two workers vs one)", percentile(f2, 95),
               percentile(f1, 95), "s", "reported", None),
        Result(name, "event to last delivery, p50 (two workers vs one)", percentile(l2, 50),
               percentile(l1, 50), "s", "reported", None),
        Result(name, "event to last delivery, p95 (two workers vs one)", percentile(l2, 95),
               percentile(l1, 95), "s", "reported", None),
    ]

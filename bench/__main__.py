"""Run every benchmark and print the table: `python -m bench [--db sqlite,postgresql] [--only ...]`."""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from datetime import UTC, datetime

from bench import fanout, intake, probes, queue
from bench.support import Database, Result, database, table

BENCHMARKS: dict[str, Callable[[Database], list[Result]]] = {
    "fanout": fanout.run, "intake": intake.run, "probes": probes.run, "queue": queue.run}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--db", default="sqlite,postgresql",
                        help="comma-separated: sqlite, postgresql")
    parser.add_argument("--only", default=",".join(BENCHMARKS),
                        help=f"comma-separated, from: {', '.join(BENCHMARKS)}")
    args = parser.parse_args()
    results: list[Result] = []
    started = time.monotonic()
    for dialect in args.db.split(","):
        for name in args.only.split(","):
            with database(dialect) as db:
                t0 = time.monotonic()
                got = BENCHMARKS[name](db)
                results += got
                # Each benchmark's rows as soon as they are in: a run cut short still tells.
                print(f"[{name} on {dialect}: {time.monotonic() - t0:.0f} s, load average "
                      f"{os.getloadavg()[0]:.1f}]", flush=True)
                print(table(got), flush=True)
    print()
    print(f"Rights Relay benchmarks, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
          f"{platform.node()} ({platform.machine()}, {platform.python_version()}, "
          f"{os.cpu_count()} CPUs), {time.monotonic() - started:.0f} s in all, load average "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} (1, 5, 15 min)")
    print(table(results))


if __name__ == "__main__":
    main()

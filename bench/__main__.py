"""Run every benchmark and print the table: `python -m bench [--db sqlite,postgresql] [--only ...]`."""

from __future__ import annotations

import argparse
import platform
import time
from datetime import UTC, datetime

from bench import fanout, intake, queue
from bench.support import Result, database, table

BENCHMARKS = {"fanout": fanout.run, "intake": intake.run, "queue": queue.run}


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
                results += BENCHMARKS[name](db)
                print(f"[{name} on {dialect}: {time.monotonic() - t0:.0f} s]", flush=True)
    print()
    print(f"Rights Relay benchmarks, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
          f"{platform.node()} ({platform.machine()}, {platform.python_version()}), "
          f"{time.monotonic() - started:.0f} s in all")
    print(table(results))


if __name__ == "__main__":
    main()

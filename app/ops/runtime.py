"""The Python runtime of the long-running commands (`rights-relay serve` and any ASGI server
running `app.main:create_served_app`, `rights-relay worker`).

Why the garbage collector is tuned: a fan-out keeps thousands of jobs, tasks, futures and open
connections alive at once, and CPython's default threshold (a collection every 700 new
container objects) re-scans all of them over and over. On 10,000 deliveries that was a quarter
of the worker's CPU (bench/RESULTS.md, "What changed in the worker"). What is alive once the
process has started (modules, settings, the app) is frozen out of every collection, and a
young-generation collection runs after 50,000 new objects. Reference counting still frees at
once everything that is not in a reference cycle, so memory stays bounded (the 100,000-endpoint
run is measured in bench/ against its 300 MB target).
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 50_000


def tune_gc() -> None:
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)

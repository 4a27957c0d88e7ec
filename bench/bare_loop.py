"""The fan-out baseline, in a process of its own: a bare aiohttp loop posting one body to every
URL of a JSON file (`[[url, headers], ...]`) with `--concurrency` requests at once, on the
event loop the worker uses (uvloop where available). Prints its seconds and CPU seconds.

In its own process, like the worker, so that neither the benchmark's own heap (its seeded
rows, the service's imported modules) nor its garbage collector weighs on it."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any

import aiohttp


async def _post_all(requests: list[Any], body: bytes, concurrency: int) -> float:
    queue = list(reversed(requests))
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=0)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def client() -> None:
            while queue:
                url, headers = queue.pop()
                async with http.post(url, data=body, headers=headers) as r:
                    await r.read()
                    assert r.status == 204, r.status

        start = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bare_loop")
    parser.add_argument("requests", type=Path)
    parser.add_argument("body", type=Path)
    parser.add_argument("--concurrency", type=int, default=256)
    args = parser.parse_args()
    requests = json.loads(args.requests.read_text())
    body = args.body.read_bytes()
    cpu = time.process_time()
    run = _post_all(requests, body, args.concurrency)
    try:
        import uvloop
    except ImportError:  # pragma: no cover (Windows)
        seconds = asyncio.run(run)
    else:
        seconds = uvloop.run(run)
    print(json.dumps({"seconds": seconds, "cpu": time.process_time() - cpu}))


if __name__ == "__main__":
    main()

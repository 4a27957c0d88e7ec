"""A closed-loop HTTP load generator: `concurrency` clients, each sending its next request as
soon as the previous answer arrived."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import aiohttp


@dataclass
class Load:
    seconds: float
    latencies: list[float]
    statuses: Counter[int]

    @property
    def per_second(self) -> float:
        return len(self.latencies) / self.seconds


async def _run(url: str, bodies: list[Any], concurrency: int,
               headers: dict[str, str] | None) -> Load:
    queue: asyncio.Queue[Any] = asyncio.Queue()
    for b in bodies:
        queue.put_nowait(b)
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def client() -> None:
            while True:
                try:
                    body = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                start = time.perf_counter()
                async with session.post(url, json=body) as r:
                    await r.read()
                    statuses[r.status] += 1
                latencies.append(time.perf_counter() - start)

        start = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    return Load(elapsed, latencies, statuses)


def post_all(url: str, bodies: list[Any], concurrency: int,
             headers: dict[str, str] | None = None) -> Load:
    return asyncio.run(_run(url, bodies, concurrency, headers))

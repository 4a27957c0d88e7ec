"""Running the delivery worker as a background task (in `serve`, or `rights-relay worker`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from app.delivery.worker import DeliveryWorker

log = logging.getLogger(__name__)


class RunningWorker:
    def __init__(self, worker: DeliveryWorker) -> None:
        self.worker = worker
        self.stopping = asyncio.Event()
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                await self.worker.run(self.stopping)
            except Exception:
                log.exception("the delivery worker stopped unexpectedly; restarting it")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), 1.0)

    async def stop(self, timeout: float = 20.0) -> None:
        self.stopping.set()
        try:
            await asyncio.wait_for(self.task, timeout)
        except TimeoutError:
            self.task.cancel()


def start_worker(worker: DeliveryWorker) -> RunningWorker:
    return RunningWorker(worker)

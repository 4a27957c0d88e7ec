"""Group commit: the writes of concurrent requests made together, in one transaction.

A public filing made in its own transaction pays a connection checkout, BEGIN, a dozen
statements one by one, the audit head lock and COMMIT; at fifty concurrent clients that fixed
cost, not the work, bounded intake (bench/RESULTS.md). Work handed to a `Batcher` goes at once
when nothing is in flight (no timer, no added latency for a lone request); otherwise it waits
while the batch ahead runs, then goes with everything else that arrived meanwhile, which the
handler writes set-wise. The caller's `await` returns after the batch's commit, so what it
answers is exactly as durable as before.

The handler gets the items of one batch and returns one outcome per item: a result, or the
`DomainError` refusing that item (refused items must have written nothing). If the batch
itself fails (a constraint, a concurrent change), each of its items is run again alone, so
one bad item fails only its own request, with the error it would have had alone."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from app.errors import DomainError

T = TypeVar("T")
R = TypeVar("R")

log = logging.getLogger(__name__)

Handler = Callable[[Sequence[T]], Awaitable[Sequence[R | DomainError]]]


class Batcher(Generic[T, R]):
    def __init__(self, handler: Handler[T, R], *, max_batch: int = 100) -> None:
        self._handler = handler
        self._max_batch = max_batch
        self._queue: list[tuple[T, asyncio.Future[R]]] = []
        self._task: asyncio.Task[None] | None = None

    async def run(self, item: T) -> R:
        """`item`'s outcome, once the batch that carried it has committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._queue.append((item, future))
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._task = asyncio.create_task(self._drain())
            self._task.add_done_callback(self._stopped)
        # Shielded: a client that hangs up does not cancel its item half-way through a batch
        # (the batch commits it, or not, with the others).
        return await asyncio.shield(future)

    def _stopped(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():  # even before it began: whoever queued is answered
            for _, future in self._queue:
                _settle(future, RuntimeError("the service is stopping"))
            self._queue.clear()

    async def _drain(self) -> None:
        batch: list[tuple[T, asyncio.Future[R]]] = []
        try:
            while self._queue:
                batch = self._queue[: self._max_batch]
                del self._queue[: self._max_batch]
                await self._run_batch(batch)
        except BaseException as exc:  # cancelled at shutdown: nobody waits for ever
            stopping = exc if isinstance(exc, Exception) else RuntimeError(
                "the service is stopping")
            for _, future in batch + self._queue:
                _settle(future, stopping)
            self._queue.clear()
            raise

    async def _run_batch(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            outcomes = await self._handler([item for item, _ in batch])
        except Exception as exc:
            if len(batch) > 1:
                log.info("a batch of %d failed (%s); running its items one by one",
                         len(batch), type(exc).__name__)
                for one in batch:
                    await self._run_batch([one])
                return
            _settle(batch[0][1], exc)
            return
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            _settle(future, outcome)


def _settle(future: asyncio.Future[R], outcome: R | BaseException) -> None:
    if future.done():
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)

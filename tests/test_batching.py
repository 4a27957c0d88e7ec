"""The group commit (app/batching.py): a lone item goes at once, what arrives meanwhile goes
in the next batch together, and one bad item fails only its own caller."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from app.batching import Batcher
from app.errors import Conflict, DomainError


class Handler:
    """Doubles each number; fails a whole batch holding -1; refuses 0 (a domain error). The
    first batch waits for `release`, so the test decides what arrives meanwhile."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.release = asyncio.Event()

    async def __call__(self, items: Sequence[int]) -> list[int | DomainError]:
        self.batches.append(list(items))
        if len(self.batches) == 1:
            await self.release.wait()
        if -1 in items:
            raise RuntimeError("the batch's transaction failed")
        return [Conflict("zero is refused") if i == 0 else i * 2 for i in items]


def test_what_arrives_while_a_batch_runs_goes_together_in_the_next():
    async def go() -> tuple[list[int], list[list[int]]]:
        handler = Handler()
        batcher: Batcher[int, int] = Batcher(handler, max_batch=3)
        first = asyncio.create_task(batcher.run(1))
        await asyncio.sleep(0)  # the first batch starts at once, alone
        later = [asyncio.create_task(batcher.run(i)) for i in range(2, 7)]
        await asyncio.sleep(0)
        handler.release.set()
        results = await asyncio.gather(first, *later)
        return results, handler.batches

    results, batches = asyncio.run(go())
    assert results == [2, 4, 6, 8, 10, 12]
    assert batches == [[1], [2, 3, 4], [5, 6]]  # in order of arrival, at most max_batch


def test_a_refused_item_gets_its_error_and_the_others_their_results():
    async def go() -> list[object]:
        handler = Handler()
        handler.release.set()
        batcher: Batcher[int, int] = Batcher(handler)
        return await asyncio.gather(*(batcher.run(i) for i in (3, 0, 4)),
                                    return_exceptions=True)

    three, zero, four = asyncio.run(go())
    assert (three, four) == (6, 8)
    assert isinstance(zero, Conflict) and zero.detail == "zero is refused"


def test_a_failing_batch_is_run_again_item_by_item_so_only_the_bad_one_fails():
    async def go() -> tuple[list[object], list[list[int]]]:
        handler = Handler()
        batcher: Batcher[int, int] = Batcher(handler)
        first = asyncio.create_task(batcher.run(1))
        await asyncio.sleep(0)
        rest = [asyncio.create_task(batcher.run(i)) for i in (2, -1, 5)]
        await asyncio.sleep(0)
        handler.release.set()
        results = await asyncio.gather(first, *rest, return_exceptions=True)
        return results, handler.batches

    (one, two, bad, five), batches = asyncio.run(go())
    assert (one, two, five) == (2, 4, 10)
    assert isinstance(bad, RuntimeError)
    assert batches == [[1], [2, -1, 5], [2], [-1], [5]]


def test_a_caller_that_goes_away_does_not_take_its_item_out_of_the_batch():
    async def go() -> tuple[int, list[list[int]]]:
        handler = Handler()
        batcher: Batcher[int, int] = Batcher(handler)
        first = asyncio.create_task(batcher.run(1))
        await asyncio.sleep(0)
        gone = asyncio.create_task(batcher.run(7))
        stays = asyncio.create_task(batcher.run(8))
        await asyncio.sleep(0)
        gone.cancel()  # the client hung up
        handler.release.set()
        with pytest.raises(asyncio.CancelledError):
            await gone
        await first
        return await stays, handler.batches

    stays, batches = asyncio.run(go())
    assert stays == 16
    assert batches == [[1], [7, 8]]  # written with the others all the same


@pytest.mark.parametrize("turns", [1, 3], ids=["before its first batch", "during a batch"])
def test_callers_of_a_stopped_batcher_are_answered_not_left_waiting(turns: int):
    async def go() -> tuple[list[object], list[list[int]]]:
        handler = Handler()  # its first batch never ends unless released: it is stopped
        batcher: Batcher[int, int] = Batcher(handler)
        callers = [asyncio.create_task(batcher.run(i)) for i in (1, 2)]
        for _ in range(turns):
            await asyncio.sleep(0)
        assert batcher._task is not None
        batcher._task.cancel()
        answers = await asyncio.wait_for(asyncio.gather(*callers, return_exceptions=True), 5)
        return answers, handler.batches

    answers, batches = asyncio.run(go())
    assert [str(a) for a in answers] == ["the service is stopping"] * 2
    assert batches == ([] if turns == 1 else [[1, 2]])

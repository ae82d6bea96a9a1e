"""The store's door: awaited repository calls, and writes of callers side by side grouped
into one transaction, lingering for company only while callers come side by side."""

from __future__ import annotations

import asyncio

import pytest

from bot.store.door import Batched


class Lingering:
    """Stands in for asyncio.sleep: records each linger and holds it until released."""

    def __init__(self) -> None:
        self.asked: list[float] = []
        self.released = asyncio.Event()
        self.writer: asyncio.Task[object] | None = None  # the task that lingers

    async def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)
        self.writer = asyncio.current_task()
        await self.released.wait()

    async def until_asked(self) -> None:
        while not self.asked:
            await asyncio.sleep(0)


def doubled(batches: list[list[int]]):
    def write(items: list[int]) -> list[int | Exception]:
        batches.append(items)
        return [item * 2 for item in items]

    return write


def test_a_caller_alone_is_written_at_once() -> None:
    async def scenario() -> tuple[list[int], list[list[int]], list[float]]:
        batches: list[list[int]] = []
        linger = Lingering()
        batched = Batched(doubled(batches), linger=60.0, sleep=linger)
        answers = [await batched(1), await batched(2), await batched(3)]
        return answers, batches, linger.asked

    answers, batches, lingered = asyncio.run(asyncio.wait_for(scenario(), 10))
    assert answers == [2, 4, 6]
    assert batches == [[1], [2], [3]]
    assert lingered == []


def test_after_callers_side_by_side_the_next_batch_waits_for_company() -> None:
    async def scenario() -> tuple[list[int], list[list[int]], list[float]]:
        batches: list[list[int]] = []
        linger = Lingering()
        batched = Batched(doubled(batches), linger=0.02, sleep=linger)
        together = await asyncio.gather(batched(1), batched(2))  # one batch, written at once
        assert linger.asked == []
        first = asyncio.create_task(batched(3))
        await linger.until_asked()  # it lingers: the batch before had company
        second = asyncio.create_task(batched(4))
        await asyncio.sleep(0)
        linger.released.set()
        return together + list(await asyncio.gather(first, second)), batches, linger.asked

    answers, batches, lingered = asyncio.run(asyncio.wait_for(scenario(), 10))
    assert answers == [2, 4, 6, 8]
    assert batches == [[1, 2], [3, 4]]
    assert lingered == [0.02]


def test_a_writer_cancelled_while_it_lingers_leaves_no_caller_waiting() -> None:
    async def scenario() -> None:
        batches: list[list[int]] = []
        linger = Lingering()
        batched = Batched(doubled(batches), linger=0.02, sleep=linger)
        await asyncio.gather(batched(1), batched(2))
        waiting = asyncio.create_task(batched(3))
        await linger.until_asked()
        assert linger.writer is not None
        linger.writer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert batches == [[1, 2]]

    asyncio.run(asyncio.wait_for(scenario(), 10))

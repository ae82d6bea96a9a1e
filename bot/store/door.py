"""The store's one door for async callers: every repository method blocks on the database,
so awaiting one runs it on a worker thread. This is the only place that knows; callers just
`await store.outbox.claim(...)` and the event loop never waits for the database."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")
S = TypeVar("S")
T = TypeVar("T")


def off_loop(
    method: Callable[Concatenate[S, P], R],
) -> Callable[Concatenate[S, P], Coroutine[Any, Any, R]]:
    """The method, awaitable, run on a worker thread (context variables such as the log's
    environment go with it)."""

    async def awaited(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return await asyncio.to_thread(method, self, *args, **kwargs)

    functools.update_wrapper(awaited, method)  # its name and docstring
    return awaited


class Batched(Generic[T, R]):
    """Many callers' writes in one transaction (a group commit): a call waits while the
    batch before it is written, then goes with every call that arrived meanwhile, in one hop
    to a worker thread. `write` answers each item in order, with its result or the exception
    that item alone met.

    While callers come side by side (the last batch had more than one), the next batch waits
    `linger` seconds for more to join it: a transaction's fixed cost is most of a small one's,
    so a busy watcher cycle writes in a few large ones. A caller alone is written at once."""

    def __init__(
        self,
        write: Callable[[list[T]], list[R | Exception]],
        linger: float = 0.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._write = write
        self._linger = linger
        self._sleep = sleep
        self._busy = False
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def __call__(self, item: T) -> R:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[R] = loop.create_future()
        self._waiting.append((item, answer))
        if self._writer is None or self._writer.done():
            self._writer = loop.create_task(self._write_all())
        return await answer

    async def _write_all(self) -> None:
        while self._waiting:
            batch: list[tuple[T, asyncio.Future[R]]] = []
            try:
                if self._busy and self._linger:
                    await self._sleep(self._linger)
                batch, self._waiting = self._waiting, []
                self._busy = len(batch) > 1
                results: list[R | Exception] = await asyncio.to_thread(
                    self._write, [item for item, _ in batch]
                )
            except Exception as error:
                results = [error] * len(batch)
            except BaseException as error:  # cancelled: no caller may wait forever
                for _, answer in batch + self._waiting:
                    if not answer.done():
                        answer.set_exception(error)
                self._waiting = []
                raise
            for (_, answer), result in zip(batch, results, strict=True):
                if answer.done():  # its caller was cancelled
                    continue
                if isinstance(result, Exception):
                    answer.set_exception(result)
                else:
                    answer.set_result(result)

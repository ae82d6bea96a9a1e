"""The store's one door for async callers: every repository method blocks on the database,
so awaiting one runs it on a worker thread. This is the only place that knows; callers just
`await store.outbox.claim(...)` and the event loop never waits for the database."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
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
    that item alone met."""

    def __init__(self, write: Callable[[list[T]], list[R | Exception]]) -> None:
        self._write = write
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
            batch, self._waiting = self._waiting, []
            try:
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

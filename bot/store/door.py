"""The store's one door for async callers: every repository method blocks on the database,
so awaiting one runs it on a worker thread. This is the only place that knows; callers just
`await store.outbox.claim(...)` and the event loop never waits for the database."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")
S = TypeVar("S")


def off_loop(
    method: Callable[Concatenate[S, P], R],
) -> Callable[Concatenate[S, P], Coroutine[Any, Any, R]]:
    """The method, awaitable, run on a worker thread (context variables such as the log's
    environment go with it)."""

    async def awaited(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return await asyncio.to_thread(method, self, *args, **kwargs)

    functools.update_wrapper(awaited, method)  # its name and docstring
    return awaited

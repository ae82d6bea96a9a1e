"""The event loop every process of the bot runs on: uvloop (libuv), as uvicorn picks when it
is installed. A watcher cycle is mostly HTTP requests and thread hand-offs, each of which
costs less CPU on it than on asyncio's own loop (bench.watch_poll, docs/performance.md)."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, TypeVar

import uvloop

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """As asyncio.run: the coroutine to its end, then tasks cancelled and threads joined."""
    return uvloop.run(main)

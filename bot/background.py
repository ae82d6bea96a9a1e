"""Work that runs after the ack: Bolt answers Slack as soon as a listener returns, so each
listener acks and hands the slow part (Kosli, the database, Slack posts) to a task here."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)

# Held until done: the event loop keeps only weak references to tasks.
_running: set[asyncio.Task[None]] = set()


def in_background(work: Coroutine[Any, Any, None], what: str) -> None:
    """Start `work` now (in the caller's log context); its failure is logged, never raised."""
    task = asyncio.create_task(work, name=what)
    _running.add(task)
    task.add_done_callback(_finished)


def _finished(task: asyncio.Task[None]) -> None:
    _running.discard(task)
    if not task.cancelled() and (error := task.exception()) is not None:
        log.error("%s failed", task.get_name(), exc_info=error)

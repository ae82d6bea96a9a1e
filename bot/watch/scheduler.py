"""APScheduler runs one watcher cycle at a time, every KOSLI_POLL_SECONDS."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.watch.settings import WatchSettings

log = logging.getLogger(__name__)
Job = Callable[[], Awaitable[None]]


class Watching(Protocol):
    """What the scheduler drives: a watcher, or every workspace's (bot.workspaces)."""

    settings: WatchSettings

    async def run_cycle(self) -> None: ...

    async def renew_leases(self) -> None: ...


def until_stopped(job: Job) -> Job:
    """The job, ending quietly when the process stops under it: its work resumes from the
    database next time, so a cancelled cycle is no error worth a traceback."""

    async def run() -> None:
        try:
            await job()
        except asyncio.CancelledError:
            log.info("%s stopped with the process", getattr(job, "__name__", "a job"))

    return run


def start_scheduler(
    watcher: Watching,
    poll_seconds: float,
    chores: Sequence[Job] = (),
) -> AsyncIOScheduler:
    """Start polling now and then every `poll_seconds`; a slow cycle is never run twice at once.
    `chores` (e.g. finishing incident closes whose upload failed) run as often, on their own."""
    scheduler = AsyncIOScheduler(timezone=UTC)
    heartbeat = watcher.settings.lease_ttl.total_seconds() / 3
    jobs = [
        ("watch", watcher.run_cycle, poll_seconds, datetime.now(UTC)),
        ("heartbeat", watcher.renew_leases, heartbeat, None),
        *((f"chore-{number}", chore, poll_seconds, None) for number, chore in enumerate(chores)),
    ]
    for name, job, seconds, first in jobs:
        # APScheduler reads next_run_time=None as "paused": name it only for the first run now.
        at = {"next_run_time": first} if first else {}
        scheduler.add_job(
            until_stopped(job),
            IntervalTrigger(seconds=seconds),
            id=name,
            max_instances=1,
            coalesce=True,
            **at,
        )
    scheduler.start()
    return scheduler

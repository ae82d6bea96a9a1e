"""APScheduler runs one watcher cycle at a time, every KOSLI_POLL_SECONDS."""

from __future__ import annotations

from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.watch.watcher import Watcher


def start_scheduler(watcher: Watcher, poll_seconds: float) -> AsyncIOScheduler:
    """Start polling now and then every `poll_seconds`; a slow cycle is never run twice at once."""
    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.add_job(
        watcher.run_cycle,
        IntervalTrigger(seconds=poll_seconds),
        id="watch",
        max_instances=1,
        coalesce=True,
        next_run_time=datetime.now(UTC),
    )
    scheduler.start()
    return scheduler

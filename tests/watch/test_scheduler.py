"""APScheduler drives the watcher: in the web process by default, or in `kosli-bot worker`."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from apscheduler.triggers.interval import IntervalTrigger

from bot.__main__ import build_parser
from bot.sandbox import KosliSandbox
from bot.watch.scheduler import start_scheduler, until_stopped
from bot.watch.settings import WatchSettings
from testkit.seed import SEED_NOW
from testkit.story import MINER, report_with
from tests.watch.helpers import Clock

ROOT = Path(__file__).parents[2]


class CountingWatcher:
    def __init__(self) -> None:
        self.ran = asyncio.Event()
        self.settings = WatchSettings(lease_ttl=timedelta(seconds=30))

    async def run_cycle(self) -> None:
        self.ran.set()

    async def renew_leases(self) -> None:
        pass

    async def chore(self) -> None:
        pass


def test_the_job_runs_at_once_then_every_interval_never_overlapping() -> None:
    async def main() -> None:
        watcher = CountingWatcher()
        scheduler = start_scheduler(watcher, 60, [watcher.chore])  # type: ignore[arg-type]
        try:
            await asyncio.wait_for(watcher.ran.wait(), 10)  # the first cycle starts right away
            jobs = {job.id: job for job in scheduler.get_jobs()}
            assert set(jobs) == {"watch", "heartbeat", "chore-0"}
            intervals = {}
            for name, job in jobs.items():
                assert isinstance(job.trigger, IntervalTrigger)
                assert (job.max_instances, job.coalesce) == (1, True)
                assert job.next_run_time is not None  # scheduled, not added paused
                intervals[name] = job.trigger.interval.total_seconds()
            # leases are renewed three times per lease, so a live process never loses one
            assert intervals == {"watch": 60, "heartbeat": 10, "chore-0": 60}
        finally:
            scheduler.shutdown(wait=False)

    asyncio.run(main())


def test_a_job_cancelled_as_the_process_stops_ends_quietly(caplog) -> None:
    async def cycle() -> None:
        raise asyncio.CancelledError  # what the loop does to a running job at shutdown

    with caplog.at_level("INFO"):
        asyncio.run(until_stopped(cycle)())  # no exception escapes
    assert [r.getMessage() for r in caplog.records] == ["cycle stopped with the process"]


def test_the_web_process_watches_and_posts_alerts(
    start_bot, kosli: KosliSandbox, clock: Clock
) -> None:
    clock.now = SEED_NOW  # the seed's moment (this folder's sandbox starts at aws-prod#170)
    bot = start_bot(run_watcher="true", kosli_poll_seconds="0.05")
    assert bot.ask("watch aws-prod")["text"].startswith("Watching aws-prod")
    report_with(kosli, MINER)
    (alert,) = bot.slack.wait_for("/api/chat.postMessage")
    assert alert.body["channel"] == "C0INCIDENT"
    assert alert.body["text"] == "aws-prod#178: 1 rogue, now non-compliant"


def test_procfile_processes_are_modes_the_cli_knows() -> None:
    lines = (ROOT / "Procfile").read_text().splitlines()
    processes = dict(line.split(": ", 1) for line in lines if line.strip())
    assert set(processes) == {"web", "worker"}
    for command in processes.values():
        program, *args = command.split()
        assert program == "kosli-bot"
        build_parser().parse_args(args)  # exits on an unknown mode

"""APScheduler drives the watcher: in the web process by default, or in `kosli-bot worker`."""

from __future__ import annotations

import asyncio
from pathlib import Path

from apscheduler.triggers.interval import IntervalTrigger

from bot.__main__ import build_parser
from bot.sandbox import KosliSandbox
from bot.watch.scheduler import start_scheduler
from tests.story import MINER, report_with

ROOT = Path(__file__).parents[1]


class CountingWatcher:
    def __init__(self) -> None:
        self.ran = asyncio.Event()

    async def run_cycle(self) -> None:
        self.ran.set()


def test_the_job_runs_at_once_then_every_interval_never_overlapping() -> None:
    async def main() -> None:
        watcher = CountingWatcher()
        scheduler = start_scheduler(watcher, 60)  # type: ignore[arg-type]
        try:
            await asyncio.wait_for(watcher.ran.wait(), 10)  # the first cycle starts right away
            (job,) = scheduler.get_jobs()
            assert isinstance(job.trigger, IntervalTrigger)
            assert job.trigger.interval.total_seconds() == 60
            assert (job.max_instances, job.coalesce) == (1, True)
        finally:
            scheduler.shutdown(wait=False)

    asyncio.run(main())


def test_the_web_process_watches_and_posts_alerts(start_bot, kosli: KosliSandbox) -> None:
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

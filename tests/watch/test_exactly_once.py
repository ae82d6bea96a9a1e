"""Every alert once and each channel's in order: across a restart, two replicas, and sends that
start while the cycle still polls."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from typing import Any

from freezegun import freeze_time

from bot.runtime import Runtime
from bot.sandbox import KosliSandbox, cest
from testkit.fakes.slack import FakeSlack
from testkit.seed import SEED_NOW
from testkit.story import SEED_ALERTS
from tests.db import outbox_rows
from tests.watch.helpers import (
    BETA_189,
    CHANNEL,
    OTHER,
    Clock,
    alert_calls,
    run,
    texts,
    watch,
)


def test_a_restart_between_send_and_mark_does_not_post_twice(
    kosli: KosliSandbox, slack: FakeSlack, clock: Clock, database_url: str
) -> None:
    def die_before_marking(*args: Any) -> None:
        """The process stops right after Slack said ok: the alert stays claimed as 'sending'."""

    with freeze_time("2026-11-25 10:00:00", real_asyncio=True) as frozen:

        async def first_life(runtime: Runtime) -> None:
            await watch(runtime, "aws-prod")
            clock.now = cest("2022-09-06 15:29:00")
            runtime.store.mark_sent = die_before_marking  # type: ignore[method-assign]
            await runtime.watcher.run_cycle()

        run(kosli, slack, database_url, first_life)
        assert texts(slack) == ["aws-prod#171: 1 replaced"]
        frozen.tick(timedelta(minutes=3))  # the dead process's claim expires

        async def second_life(runtime: Runtime) -> list[str]:
            await runtime.watcher.run_cycle()
            return [a.state for a in outbox_rows(runtime.store)]

        assert run(kosli, slack, database_url, second_life) == ["sent"]
    assert texts(slack) == ["aws-prod#171: 1 replaced"]


def test_two_schedulers_on_one_database_post_each_alert_once(
    kosli: KosliSandbox, slack: FakeSlack, clock: Clock, database_url: str
) -> None:
    """Two replicas, each in its own thread and event loop, racing over the same rows:
    every alert is posted once, and each channel gets them in order."""

    async def subscribe(runtime: Runtime) -> None:
        await watch(runtime, "aws-prod")
        await watch(runtime, "aws-prod", channel=OTHER)

    run(kosli, slack, database_url, subscribe)
    clock.now = SEED_NOW
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    async def replica(runtime: Runtime) -> None:
        start.wait(timeout=10)
        for _ in range(3):
            await runtime.watcher.run_cycle()

    def in_thread() -> None:
        try:
            run(kosli, slack, database_url, replica)
        except BaseException as error:  # surfaced by the assertion below
            failures.append(error)

    threads = [threading.Thread(target=in_thread) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []

    async def next_cycle(runtime: Runtime) -> None:  # whatever came after a replica's last send
        await runtime.watcher.run_cycle()

    run(kosli, slack, database_url, next_cycle)
    assert texts(slack, CHANNEL) == texts(slack, OTHER) == SEED_ALERTS
    assert len(alert_calls(slack)) == 14


def test_an_environment_is_alerted_while_another_is_still_being_polled(
    kosli: KosliSandbox, slack: FakeSlack, clock: Clock, sqlite_url: str
) -> None:
    """A cycle sends an environment's alerts once it is polled, not after the last poll; the
    polls after it still alert once each, in order."""
    beta_answers = threading.Event()

    async def body(runtime: Runtime) -> None:
        await watch(runtime, "aws-prod")  # from #170
        clock.now = BETA_189
        await watch(runtime, "aws-beta", channel=OTHER)  # from #189
        clock.now = SEED_NOW
        kosli.held["/aws-beta"] = beta_answers
        cycle = asyncio.create_task(runtime.watcher.run_cycle())
        try:
            await asyncio.to_thread(slack.wait_for, "/api/chat.postMessage", 7)
            beta_asked = [path for _, path in kosli.requests if "/aws-beta" in path]
            # aws-prod's alerts are in Slack while Kosli still holds aws-beta's first answer.
            assert beta_asked and not cycle.done()
            assert texts(slack, OTHER) == []
        finally:
            beta_answers.set()
        await cycle

    run(kosli, slack, sqlite_url, body)
    assert texts(slack) == SEED_ALERTS
    assert texts(slack, OTHER) == [
        "aws-beta#190: 1 rogue, 1 non-compliant, 1 started, now non-compliant"
    ]

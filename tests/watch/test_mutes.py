"""Mutes hold a channel's alerts and end in one summary."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from freezegun import freeze_time

from bot.domain.commands import Mute, Unmute
from bot.runtime import Runtime
from bot.sandbox import KosliSandbox, cest
from testkit.fakes.slack import FakeSlack
from testkit.seed import SEED_NOW
from tests.golden import assert_golden
from tests.watch.helpers import (
    CHANNEL,
    Clock,
    run,
    texts,
    top_level,
    watch,
)


def test_mute_holds_alerts_and_summarises_them_when_it_ends(
    kosli: KosliSandbox, slack: FakeSlack, clock: Clock, sqlite_url: str
) -> None:
    with freeze_time("2026-11-25 10:00:00", real_asyncio=True) as frozen:

        async def body(runtime: Runtime) -> None:
            await watch(runtime, "aws-prod")
            subscriptions = runtime.services.subscriptions
            await subscriptions.mute(Mute("aws-prod", timedelta(minutes=30)), CHANNEL, "U1")
            clock.now = SEED_NOW
            await runtime.watcher.run_cycle()
            assert top_level(slack) == []
            frozen.tick(timedelta(minutes=31))
            await runtime.watcher.run_cycle()

        run(kosli, slack, sqlite_url, body)
    (summary,) = top_level(slack)
    assert summary["text"] == "aws-prod: mute ended, 7 alerts while muted"
    assert "*#177* aws-prod#177: 1 replaced" in str(summary["blocks"])
    assert_golden("alert_mute_summary", summary["blocks"])


def test_unmute_releases_at_once(
    kosli: KosliSandbox, slack: FakeSlack, clock: Clock, sqlite_url: str
) -> None:
    async def body(runtime: Runtime) -> Any:
        await watch(runtime, "aws-prod")
        subscriptions = runtime.services.subscriptions
        await subscriptions.mute(Mute("aws-prod", timedelta(hours=2)), CHANNEL, "U1")
        clock.now = cest("2022-09-06 15:29:00")
        await runtime.watcher.run_cycle()
        result = await subscriptions.unmute(Unmute("aws-prod"), CHANNEL, "U1")
        await runtime.watcher.run_cycle()
        clock.now = cest("2022-09-06 15:53:00")
        await runtime.watcher.run_cycle()
        return result

    assert run(kosli, slack, sqlite_url, body).released == 1
    assert texts(slack) == ["aws-prod: mute ended, 1 alerts while muted", "aws-prod#172: 1 started"]

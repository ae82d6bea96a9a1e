"""What the watcher's tests share: the sandbox's clock, the bot's runtime in one loop,
and what reached the fake Slack."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from bot.domain.commands import Watch
from bot.runtime import Runtime
from bot.sandbox import KosliSandbox, cest
from testkit.fakes.slack import FakeSlack
from testkit.seed import settings_for

PROD_170 = cest("2022-09-06 15:28:00")  # aws-prod#170 is the newest snapshot then
BETA_189 = cest("2022-09-06 16:00:00")
CHANNEL = "C0INCIDENT"
OTHER = "C0PLATFORM"
RETRY_AT_ONCE = {"Retry-After": "0"}


class Clock:
    """What Kosli has seen so far: the sandbox hides snapshots after `now`."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def run(
    kosli: KosliSandbox, slack: FakeSlack, url: str, body: Callable[[Runtime], Awaitable[Any]]
) -> Any:
    """Build the bot's real runtime (clients, migrated store, watcher), run `body` in one loop."""

    async def main() -> Any:
        runtime = Runtime.build(settings_for(kosli, slack, url))
        async with runtime.running(watch=False):
            return await body(runtime)

    return asyncio.run(main())


async def watch(runtime: Runtime, *envs: str, channel: str = CHANNEL, risky: bool = False):
    return await runtime.services.subscriptions.watch(Watch(envs, risky), channel, "U0ONCALL")


def top_level(slack: FakeSlack, channel: str = CHANNEL) -> list[dict[str, Any]]:
    """The alerts themselves, without the commits replied under them."""
    return [m for m in slack.posted(channel) if not m["thread_ts"]]


def alert_calls(slack: FakeSlack) -> list[dict[str, Any]]:
    """chat.postMessage calls of alerts, not of the commits replied under them."""
    return [c for c in slack.api_calls("chat.postMessage") if not c.get("thread_ts")]


def texts(slack: FakeSlack, channel: str = CHANNEL) -> list[str]:
    return [m["text"] for m in top_level(slack, channel)]

"""What each part of a changed environment's alert costs the bot, one part at a time.

The floor under `bench.watch_poll`'s CPU an environment: every call a changed environment
makes, timed alone (`time.process_time()` of this process, N calls one after another, warmed
up first) against the sandbox Kosli and the fake Slack in processes of their own and a SQLite
file. The store's writes are timed alone and in batches of 16, as a busy cycle makes them.

    .venv/bin/python -m bench.watch_parts [--calls 300]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make `bot` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import loop  # noqa: E402
from bot.domain.changes import snapshot_changes  # noqa: E402
from bot.kosli import KosliClient, Snappish  # noqa: E402
from bot.render.blockkit import Message  # noqa: E402
from bot.render.changes import render_alert  # noqa: E402
from bot.store.migrate import open_store  # noqa: E402
from bot.store.models import AlertKind  # noqa: E402
from bot.store.outbox import NewAlert  # noqa: E402
from bot.transport.slack import SlackTransport, slack_client  # noqa: E402
from bot.watch.settings import WatchSettings  # noqa: E402
from testkit.fakes.slack import FakeSlack  # noqa: E402
from testkit.seed import SANDBOX_TOKEN  # noqa: E402

NOW = datetime(2026, 11, 27, tzinfo=UTC)


def serve(urls: multiprocessing.Queue, stop: Event) -> None:
    from bot.sandbox import KosliSandbox

    kosli, slack = KosliSandbox(token=SANDBOX_TOKEN), FakeSlack().start()
    urls.put((kosli.start(), slack.api_url))
    stop.wait()
    kosli.stop()
    slack.stop()


async def per_call(calls: int, one: Callable[[int], Awaitable[Any]]) -> float:
    """ms of CPU a call, after as many calls to warm up."""
    for number in range(calls):
        await one(number)
    started = time.process_time()
    for number in range(calls, 2 * calls):
        await one(number)
    return (time.process_time() - started) / calls * 1000


async def batched(calls: int, size: int, one: Callable[[int], Awaitable[Any]]) -> float:
    started = time.process_time()
    for first in range(0, calls, size):
        await asyncio.gather(*(one(n) for n in range(first, first + size)))
    return (time.process_time() - started) / calls * 1000


async def measure(kosli_url: str, slack_url: str, calls: int, folder: str) -> None:
    kosli = KosliClient(kosli_url, "cyber-dojo", SANDBOX_TOKEN)
    slack = SlackTransport(slack_client("xoxb-bench", slack_url))
    before = await kosli.snapshot(Snappish("aws-prod", "#", "176"))
    after = await kosli.snapshot(Snappish("aws-prod", "#", "177"))
    change = snapshot_changes(before, after)
    message = render_alert(change, WatchSettings.command)
    print(f"the change: {message.text} ({len(message.blocks)} blocks)")
    parts = {
        "Kosli: newest snapshot's number": lambda n: kosli.snapshots("aws-prod", 1, 1),
        "Kosli: a whole snapshot (aws-prod#177)": lambda n: kosli.snapshot(
            Snappish("aws-prod", "#", "177")
        ),
    }
    for name, one in parts.items():
        print(f"{name + ':':48}{await per_call(calls, one):.3f} ms")

    async def diff_and_render(n: int) -> None:
        render_alert(snapshot_changes(before, after), WatchSettings.command)

    print(f"{'snapshot_changes + render_alert:':48}{await per_call(calls, diff_and_render):.3f} ms")
    async with slack.connected():
        post = Message(message.text, message.blocks)
        ms = await per_call(calls, lambda n: slack.post(f"C{n}", post, key=f"C{n}/aws-prod/1"))
        print(f"{'Slack: post the alert (slack_sdk):':48}{ms:.3f} ms")
    await kosli.aclose()

    store = open_store(f"sqlite:///{folder}/parts.db")
    envs = 4 * calls + 64
    for n in range(envs):
        await store.subscriptions.subscribe(f"C{n}", f"env-{n}", "U1", 1, NOW)

    def made(env: str) -> Any:
        return lambda subscriptions, _incidents: [
            NewAlert(s.channel_id, env, AlertKind.CHANGE, 2, message.text, message.blocks)
            for s in subscriptions
        ]

    def advance(offset: int) -> Callable[[int], Awaitable[int]]:
        return lambda n: store.outbox.advance(
            f"env-{offset + n}", 2, made(f"env-{offset + n}"), NOW
        )

    alone = await per_call(calls, advance(0))
    together = await batched(calls, 16, advance(2 * calls))
    print(f"{'store: advance (alone / in batches of 16):':48}{alone:.3f} / {together:.3f} ms")
    owner, ttl = "bench", WatchSettings.lease_ttl
    claimed = await store.outbox.claim(owner, NOW, ttl)  # every alert just made

    def mark(offset: int) -> Callable[[int], Awaitable[None]]:
        return lambda n: store.outbox.mark_sent(claimed[offset + n].id, owner, "1.1", NOW)

    alone = await per_call(calls, mark(0))
    together = await batched(calls, 16, mark(2 * calls))
    print(f"{'store: mark_sent (alone / in batches of 16):':48}{alone:.3f} / {together:.3f} ms")

    async def claim_none(n: int) -> None:  # every alert is sent: a send round finds none
        await store.outbox.claim(owner, NOW, ttl)

    print(f"{'store: claim (nothing left to claim):':48}{await per_call(calls, claim_none):.3f} ms")
    store.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    urls: multiprocessing.Queue = multiprocessing.Queue()
    stop = multiprocessing.Event()
    child = multiprocessing.Process(target=serve, args=(urls, stop))
    child.start()
    try:
        kosli_url, slack_url = urls.get(timeout=120)
        with tempfile.TemporaryDirectory() as folder:
            loop.run(measure(kosli_url, slack_url, args.calls, folder))
    finally:
        stop.set()
        child.join()


if __name__ == "__main__":
    main()

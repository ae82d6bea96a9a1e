"""How long one watcher cycle takes over many watched environments.

The sandbox Kosli serves ENVS copies of aws-prod; one channel watches each. Prints the time of
a cycle where nothing changed (one cheap Kosli call per environment) and of a cycle where
--changing environments (all, by default; spread evenly over the watched, so some are polled
last) have one new snapshot (poll, diff, outbox, and one Slack post each), with the watcher's
bounded concurrency and Kosli taking --latency seconds a request (50 ms by default). Then a
cycle where the same environments change again: the first change after start-up asks Kosli
for the snapshot before it too, a later one diffs against the snapshot kept from the last.

Each alert's delay is from the poll that found its change (the watcher asking Kosli for the
environment's newest snapshot) to the alert reaching the fake Slack: target 2 s. The bot's
CPU is its own process's: the sandbox Kosli and the fake Slack run in processes of their own.
With every environment changing, the target is 3 ms of bot CPU per environment.

    .venv/bin/python -m bench.watch_poll [--envs 1000] [--changing 100] [--latency 0.05]
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import tempfile
import time
from dataclasses import dataclass
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any, cast

if __package__ in (None, ""):  # run as a file: make `bot` and `tests` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import loop  # noqa: E402
from bot.logs import configure_logging  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from bot.sandbox import KosliSandbox, cyber_dojo  # noqa: E402
from bot.watch.settings import WatchSettings  # noqa: E402
from testkit.fakes.slack import FakeSlack  # noqa: E402
from testkit.seed import SANDBOX_TOKEN, SEED_NOW, settings_for  # noqa: E402

QUIET_TARGET_S = 3.0
RSS_TARGET_MB = 150
ALERT_TARGET_S = 2.0  # from the poll that finds a change to its alert
CPU_TARGET_MS = 3.0  # of bot CPU per environment, all 1,000 changing at once


def changing_envs(envs: int, changing: int) -> list[str]:
    """`changing` of the `envs` environments, spread evenly: some are polled last."""
    return [f"env-{number * envs // changing:04d}" for number in range(changing)]


def serve_sandbox(
    envs: int,
    changing: int,
    clock: Synchronized,
    urls: multiprocessing.Queue,
    stop: Event,
    latency: float,
) -> None:
    """In a child process, so Kosli's side does not share the bot's GIL, as in real life.

    Every changing copy of aws-prod gets one more snapshot a minute after #177, where one
    service stops, and another a minute later, where it runs again; `clock` (shared with the
    parent) decides when Kosli shows them.
    """
    dataset = cyber_dojo()
    prod = dataset.environment("aws-prod")
    assert prod is not None
    dataset.copy_environment("aws-prod", (f"env-{number:04d}" for number in range(envs)))
    kosli = KosliSandbox(token=SANDBOX_TOKEN, dataset=dataset, now=lambda: clock.value)
    running = prod.snapshots[-1].running()
    for env in changing_envs(envs, changing):
        kosli.add_snapshot(env, SEED_NOW + 60, running[1:])
        kosli.add_snapshot(env, SEED_NOW + 120, running)
    kosli.latency = latency
    urls.put(kosli.start())
    stop.wait()
    kosli.stop()


def serve_slack(urls: multiprocessing.Queue, posts: multiprocessing.Queue, stop: Event) -> None:
    """The fake Slack in a child process too, so its CPU is not counted as the bot's. Hands
    back each alert's environment, snapshot and when it arrived (CLOCK_MONOTONIC: one clock
    for all)."""
    slack = FakeSlack().start()
    urls.put(slack.api_url)
    stop.wait()
    slack.stop()
    posts.put(
        [
            (*str(c.body["text"]).split(":")[0].split("#"), c.at)
            for c in slack.calls
            if c.path == "/api/chat.postMessage"
        ]
    )


@dataclass
class SlackElsewhere:
    """The fake Slack served by another process: here, only its address for the settings."""

    api_url: str


async def measure(
    kosli_url: str,
    slack_url: str,
    clock: Synchronized,
    database: str,
    envs: int,
    width: int,
) -> tuple[list[tuple[float, float]], list[float], list[dict[str, float]]]:
    """The (wall, bot CPU) of a quiet cycle and two changed ones, when each cycle began, and
    when each asked Kosli for each environment's newest snapshot."""
    kosli = KosliSandbox()  # only to carry the URL into the settings
    kosli.base_url = kosli_url
    slack = cast(FakeSlack, SlackElsewhere(slack_url))
    # As `serve` and `worker` start: without it, slack_sdk (its logger's level unset) formats
    # a debug line of every request and answer, which the bot never does.
    configure_logging(json_lines=False)
    runtime = Runtime.build(settings_for(kosli, slack, database))
    runtime.watcher.settings.concurrency = width
    polled: list[dict[str, float]] = []
    newest = runtime.kosli.snapshots

    async def timed(env: str, page: int = 1, per_page: int = 15) -> Any:
        polled[-1][env] = time.monotonic()
        return await newest(env, page, per_page)

    async with runtime.running(watch=False):
        for number in range(envs):
            env = f"env-{number:04d}"
            # As `watch` does: from #177, with the compliance it was read with.
            await runtime.store.subscriptions.subscribe(
                f"C{number:05d}", env, "U1", 177, runtime.watcher.clock(), compliant=True
            )
        runtime.kosli.snapshots = timed  # type: ignore[method-assign]
        figures, began = [], []
        for kosli_now in (SEED_NOW + 30, SEED_NOW + 90, SEED_NOW + 150):
            clock.value = kosli_now
            polled.append({})
            wall, cpu = time.monotonic(), time.process_time()
            began.append(wall)
            await runtime.watcher.run_cycle()
            figures.append((time.monotonic() - wall, time.process_time() - cpu))
    return figures, began, polled


def report(
    figures: list[tuple[float, float]],
    began: list[float],
    polled: list[dict[str, float]],
    posts: list[tuple[str, str, float]],
    envs: int,
    changing: int,
    width: int,
    latency_ms: float,
) -> None:
    print(f"environments watched:          {envs} (concurrency {width}, Kosli {latency_ms:.0f} ms)")
    labels = ("nothing changed", f"{changing} changed", f"{changing} changed again")
    for label, (wall, cpu) in zip(labels, figures, strict=True):
        print(
            f"cycle, {label + ':':23}{wall:.2f} s wall ({wall / envs * 1000:.1f} ms/env), "
            f"bot CPU {cpu:.2f} s ({cpu / envs * 1000:.1f} ms/env)"
        )
    print(f"alerts posted to Slack:        {len(posts)}")
    # The first changed cycle's alerts are of #178, the second's of #179.
    for cycle, index, label in ((1, "178", "changed cycle"), (2, "179", "cycle changed again")):
        arrived = [(env, at) for env, number, at in posts if number == index]
        if not arrived:
            continue
        delays = sorted(at - polled[cycle][env] for env, at in arrived)
        first = min(at for _, at in arrived) - began[cycle]
        last = max(at for _, at in arrived) - began[cycle]
        print(
            f"into the {label}: first alert {first:.2f} s, last {last:.2f} s "
            f"(the cycle took {figures[cycle][0]:.2f} s)"
        )
        print(
            f"  from the poll that found a change to its alert: p50 "
            f"{delays[len(delays) // 2]:.2f} s, all within {delays[-1]:.2f} s "
            f"(target {ALERT_TARGET_S:g} s)"
        )
    if changing == envs:  # else the cycle's CPU is mostly the unchanged environments'
        print(
            f"bot CPU per environment, all changing: {figures[1][1] / envs * 1000:.1f} ms "
            f"the first time after start-up, {figures[2][1] / envs * 1000:.1f} ms again "
            f"(target with 1,000 changing <= {CPU_TARGET_MS:g} ms)"
        )
    quiet = figures[0][0]
    print(f"quiet cycle: {quiet:.2f} s (target for 1,000 environments <= {QUIET_TARGET_S:g} s)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"bot process peak RSS: {peak:.0f} MB (target <= {RSS_TARGET_MB} MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=WatchSettings.concurrency)
    parser.add_argument(
        "--latency", type=float, default=0.05, help="Kosli's seconds a request (0.05)"
    )
    parser.add_argument(
        "--changing", type=int, default=None, help="environments with a new snapshot (all)"
    )
    args = parser.parse_args()
    clock = multiprocessing.Value("d", SEED_NOW)
    urls: multiprocessing.Queue = multiprocessing.Queue()
    slack_urls: multiprocessing.Queue = multiprocessing.Queue()
    posted: multiprocessing.Queue = multiprocessing.Queue()
    stop = multiprocessing.Event()
    changing = args.envs if args.changing is None else min(args.changing, args.envs)
    children = [
        multiprocessing.Process(
            target=serve_sandbox, args=(args.envs, changing, clock, urls, stop, args.latency)
        ),
        multiprocessing.Process(target=serve_slack, args=(slack_urls, posted, stop)),
    ]
    for child in children:
        child.start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            database = f"sqlite:///{folder}/bench.db"
            figures, began, polled = loop.run(
                measure(
                    urls.get(timeout=120),
                    slack_urls.get(timeout=120),
                    clock,
                    database,
                    args.envs,
                    args.concurrency,
                )
            )
    finally:
        stop.set()
    posts = posted.get(timeout=120)
    for child in children:
        child.join()
    report(
        figures, began, polled, posts, args.envs, changing, args.concurrency, args.latency * 1000
    )


if __name__ == "__main__":
    main()

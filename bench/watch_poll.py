"""How long one watcher cycle takes over many watched environments.

The sandbox Kosli serves ENVS copies of aws-prod; one channel watches each. Prints the time of
a cycle where nothing changed (one cheap Kosli call per environment) and of a cycle where
--changing environments (all, by default) have one new snapshot (poll, diff, outbox, and one
Slack post each), with the watcher's bounded concurrency and Kosli taking --latency seconds a
request (50 ms by default).

    .venv/bin/python -m bench.watch_poll [--envs 1000] [--changing 100] [--latency 0.05]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import resource
import sys
import tempfile
import time
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make `bot` and `tests` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.runtime import Runtime  # noqa: E402
from bot.sandbox import KosliSandbox, cyber_dojo  # noqa: E402
from bot.watch.settings import WatchSettings  # noqa: E402
from testkit.fakes.slack import FakeSlack  # noqa: E402
from testkit.seed import SANDBOX_TOKEN, SEED_NOW, settings_for  # noqa: E402

QUIET_TARGET_S = 3.0
RSS_TARGET_MB = 150


def serve_sandbox(
    envs: int,
    changing: int,
    clock: Synchronized,
    urls: multiprocessing.Queue,
    stop: Event,
    latency: float,
) -> None:
    """In a child process, so Kosli's side does not share the bot's GIL, as in real life.

    Every copy of aws-prod gets one more snapshot a minute after #177, where one service
    stops; `clock` (shared with the parent) decides when Kosli shows it.
    """
    dataset = cyber_dojo()
    prod = dataset.environment("aws-prod")
    assert prod is not None
    dataset.copy_environment("aws-prod", (f"env-{number:04d}" for number in range(envs)))
    kosli = KosliSandbox(token=SANDBOX_TOKEN, dataset=dataset, now=lambda: clock.value)
    running = prod.snapshots[-1].running()
    for number in range(changing):
        kosli.add_snapshot(f"env-{number:04d}", SEED_NOW + 60, running[1:])
    kosli.latency = latency
    urls.put(kosli.start())
    stop.wait()
    kosli.stop()


async def measure(
    kosli_url: str,
    clock: Synchronized,
    database: str,
    envs: int,
    changing: int,
    width: int,
    latency_ms: float,
) -> None:
    slack = FakeSlack().start()
    kosli = KosliSandbox()  # only to carry the URL into the settings
    kosli.base_url = kosli_url
    runtime = Runtime.build(settings_for(kosli, slack, database))
    runtime.watcher.settings.concurrency = width
    async with runtime.running(watch=False):
        for number in range(envs):
            env = f"env-{number:04d}"
            await runtime.store.subscriptions.subscribe(
                f"C{number:05d}", env, "U1", 177, runtime.watcher.clock()
            )
        figures = []
        for kosli_now in (SEED_NOW + 30, SEED_NOW + 90):
            clock.value = kosli_now
            wall, cpu = time.monotonic(), time.process_time()
            await runtime.watcher.run_cycle()
            figures.append((time.monotonic() - wall, time.process_time() - cpu))
        changed_cycle_began = wall
    slack.stop()
    posts = [c.at for c in slack.calls if c.path == "/api/chat.postMessage"]
    posted = len(posts)
    print(f"environments watched:          {envs} (concurrency {width}, Kosli {latency_ms:.0f} ms)")
    labels = ("nothing changed", f"{changing} changed")
    for label, (wall, cpu) in zip(labels, figures, strict=True):
        print(
            f"cycle, {label + ':':23}{wall:.2f} s wall ({wall / envs * 1000:.1f} ms/env), "
            f"bot CPU {cpu:.2f} s ({cpu / envs * 1000:.1f} ms/env)"
        )
    print(f"alerts posted to Slack:        {posted}")
    if posts:
        last = max(posts) - changed_cycle_began
        print(
            f"the last of them {last:.2f} s into its cycle: alerted within the poll interval "
            f"+ {last:.2f} s (target + 2 s; with webhooks, see bench.webhook)"
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
    stop = multiprocessing.Event()
    changing = args.envs if args.changing is None else min(args.changing, args.envs)
    child = multiprocessing.Process(
        target=serve_sandbox, args=(args.envs, changing, clock, urls, stop, args.latency)
    )
    child.start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            database = f"sqlite:///{folder}/bench.db"
            asyncio.run(
                measure(
                    urls.get(timeout=120),
                    clock,
                    database,
                    args.envs,
                    changing,
                    args.concurrency,
                    args.latency * 1000,
                )
            )
    finally:
        stop.set()
        child.join()


if __name__ == "__main__":
    main()

"""How soon an alert follows a Kosli Actions webhook, with Kosli taking 50 ms a request.

One at a time: the bot's real app serves the webhook; the sandbox Kosli (50 ms a request)
reports a new snapshot of aws-prod each round, then the webhook arrives; the figure is the time
from the webhook's POST to the alert reaching the fake Slack. The scheduled poll is 10 minutes,
so only the push can explain an alert within seconds. Target p99 <= 1 s.

All at once: 1,000 environments watched (one channel each), 100 of them report a new snapshot
and their 100 webhooks arrive at once from a client in its own process, with the sandbox Kosli
in another (no scheduled polls at all). The figure is, per environment, the time from its
webhook's POST to its alert reaching the fake Slack. Target: all within 2 s.

    .venv/bin/python -m bench.webhook [--rounds 30] [--latency 0.05] [--envs 1000] [--burst 100]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make `bot` and `tests` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402

from bench.ack_latency import percentile  # noqa: E402
from bench.watch_poll import changing_envs, serve_sandbox  # noqa: E402
from bot.sandbox import KosliSandbox  # noqa: E402
from bot.web.app import build_web_app  # noqa: E402
from testkit.fakes.slack import FakeSlack  # noqa: E402
from testkit.seed import SANDBOX_TOKEN, SEED_NOW, settings_for  # noqa: E402
from testkit.servers import serve  # noqa: E402
from testkit.signing import sign, slash_command_body  # noqa: E402
from testkit.story import report_new_build  # noqa: E402

TARGET_P99_S = 1.0
TARGET_BURST_S = 2.0
SECRET = "bench-webhook-secret-0123456789"


def one_at_a_time(rounds: int, latency: float) -> None:
    with (
        tempfile.TemporaryDirectory() as tmp,
        KosliSandbox(token=SANDBOX_TOKEN, now=lambda: SEED_NOW) as kosli,
    ):
        slack = FakeSlack().start()
        settings = settings_for(
            kosli, slack, f"sqlite:///{tmp}/bench.db",
            kosli_webhook_secret=SECRET, run_watcher="true", kosli_poll_seconds=600,
        )  # fmt: skip
        try:
            with serve(build_web_app(settings)) as url, httpx.Client(timeout=30) as client:
                body = slash_command_body("watch aws-prod", slack.response_url("watch"))
                client.post(f"{url}/slack/events", content=body, headers=sign(body))
                slack.wait_for("/response/watch")
                kosli.latency = latency
                seconds = []
                for number in range(1, rounds + 1):
                    index = report_new_build(kosli, "aws-prod", number)
                    started = time.perf_counter()
                    client.post(f"{url}/kosli/webhook/{SECRET}", json=push("aws-prod", index))
                    slack.wait_for("/api/chat.postMessage", count=number, timeout=30)
                    seconds.append(time.perf_counter() - started)
        finally:
            slack.stop()
    seconds.sort()
    print(f"one at a time, {rounds} rounds, Kosli {latency * 1000:.0f} ms a request")
    print(
        f"  webhook to alert: p50 {percentile(seconds, 50) * 1000:.0f} ms, "
        f"p99 {percentile(seconds, 99) * 1000:.0f} ms, max {seconds[-1] * 1000:.0f} ms "
        f"(target p99 <= {TARGET_P99_S * 1000:.0f} ms; the scheduled poll: every 600 s)"
    )


def push(env: str, index: int) -> dict[str, object]:
    return {
        "org": "cyber-dojo",
        "environment": env,
        "event_type": "STARTED_ARTIFACT",
        "snapshot": {"index": str(index)},
    }


def send_all(url: str, envs: list[str]) -> dict[str, float]:
    """In the client process: every webhook at once; when each was sent (CLOCK_MONOTONIC, the
    same clock in every process)."""

    async def all_at_once() -> dict[str, float]:
        async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=None)) as c:

            async def one(env: str) -> tuple[str, float]:
                started = time.monotonic()
                answer = await c.post(f"{url}/kosli/webhook/{SECRET}", json=push(env, 178))
                if answer.status_code != 202 or not answer.json()["polled"]:
                    raise RuntimeError(f"{env}: {answer.status_code} {answer.text}")
                return env, started

            return dict(await asyncio.gather(*(one(env) for env in envs)))

    return asyncio.run(all_at_once())


def all_at_once(envs: int, burst: int, latency: float) -> None:
    spawn = multiprocessing.get_context("spawn")
    clock = spawn.Value("d", SEED_NOW + 30)  # the new snapshots (a minute after #177) unseen
    urls = spawn.Queue()
    stop = spawn.Event()
    child = spawn.Process(target=serve_sandbox, args=(envs, burst, clock, urls, stop, latency))
    child.start()
    slack = FakeSlack().start()
    kosli = KosliSandbox()  # only to carry the child's URL into the settings
    try:
        kosli.base_url = urls.get(timeout=120)
        with (
            tempfile.TemporaryDirectory() as tmp,
            ProcessPoolExecutor(max_workers=1, mp_context=spawn) as client,
        ):
            settings = settings_for(
                kosli, slack, f"sqlite:///{tmp}/bench.db", kosli_webhook_secret=SECRET
            )
            web = build_web_app(settings)
            runtime = web.state.runtime
            for number in range(envs):
                subscribe = runtime.store.subscriptions.subscribe(
                    f"C{number:05d}", f"env-{number:04d}", "U1", 177, runtime.watcher.clock()
                )
                asyncio.run(subscribe)
            with serve(web) as url:
                clock.value = SEED_NOW + 90  # Kosli now shows them
                changed = changing_envs(envs, burst)
                sent = client.submit(send_all, url, changed).result()
                slack.wait_for("/api/chat.postMessage", count=burst, timeout=60)
    finally:
        slack.stop()
        stop.set()
        child.join()
    arrived = {
        c.body["text"].split("#")[0]: c.at for c in slack.calls if c.path == "/api/chat.postMessage"
    }
    seconds = sorted(arrived[env] - started for env, started in sent.items())
    spread = max(sent.values()) - min(sent.values())
    print(
        f"{burst} at once of {envs} watched, Kosli {latency * 1000:.0f} ms a request "
        f"(the {burst} webhooks sent within {spread * 1000:.0f} ms)"
    )
    print(
        f"  webhook to alert: p50 {percentile(seconds, 50):.2f} s, "
        f"p99 {percentile(seconds, 99):.2f} s, all within {seconds[-1]:.2f} s "
        f"(target: all within {TARGET_BURST_S:g} s)"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.webhook", description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--latency", type=float, default=0.05, help="Kosli's seconds a request")
    parser.add_argument("--envs", type=int, default=1000, help="watched, for the burst")
    parser.add_argument("--burst", type=int, default=100, help="webhooks at once")
    args = parser.parse_args(argv)
    one_at_a_time(args.rounds, args.latency)
    all_at_once(args.envs, args.burst, args.latency)


if __name__ == "__main__":
    main()

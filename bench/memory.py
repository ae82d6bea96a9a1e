"""Does the bot's memory stay flat under mixed load? A soak of 50,000 requests in bursts.

The bot's real app runs under uvicorn in its own process (what is measured is its memory
alone); the sandbox Kosli and the fake Slack run in this one, with the client. Requests come in
bursts of BURST at once, mixed as Slack and the internet send them: signed slash commands
(known ones, and unknown names), button clicks, Kosli webhook pushes (and wrong guesses at
the URL), unsigned junk, and signed requests from a foreign workspace. After each checkpoint's
answers have all arrived, the bot makes a full collection and reports its RSS.

Target: RSS after a full collection at the end within 10 MB of its level after the first 5,000.

    .venv/bin/python -m bench.memory [--requests 50000] [--burst 100] [--every 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing
import random
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

if __package__ in (None, ""):  # run as a file: make `bot` and `tests` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402

from bot.sandbox import KosliSandbox  # noqa: E402
from testkit.fakes.slack import FakeSlack  # noqa: E402
from testkit.seed import SANDBOX_TOKEN, SEED_NOW, bot_env  # noqa: E402
from testkit.signing import sign, slash_command_fields  # noqa: E402

TARGET_MB = 10.0
SECRET = "bench-webhook-secret-0123456789"
COMMANDS = (
    "envs",
    "help",
    "log aws-prod",
    "diff aws-prod#176 aws-prod#177",
    "why aws-prod",
    "where creator",
    "watching",
    "artifact creator@5d1c9265",
)
# name -> share of the requests
MIX = {
    "command": 25,
    "unknown command": 15,
    "button": 10,
    "webhook": 15,
    "wrong webhook": 10,
    "junk": 15,
    "foreign team": 10,
}


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def run_bot(env: dict[str, str], pipe: Connection) -> None:
    """In a child process: serve the bot; on each request from the parent, collect fully and
    answer with the RSS and how many objects the collector tracks (growth there is Python's;
    growth of RSS alone is native: allocator arenas, SQLite's caches)."""
    from bot.config import Settings
    from bot.web.app import build_web_app
    from testkit.servers import serve

    settings = Settings.from_env(env)
    with serve(build_web_app(settings)) as url:
        pipe.send(url)
        while pipe.recv() == "measure":
            gc.collect()
            pipe.send((rss_mb(), len(gc.get_objects())))


def request_of(kind: str, n: int, slack: FakeSlack) -> tuple[str, bytes, dict[str, str]]:
    """(path, body, headers) of the n-th request, of its kind."""
    if kind in ("command", "unknown command", "foreign team"):
        text = COMMANDS[n % len(COMMANDS)] if kind != "unknown command" else f"frobnicate-{n}"
        fields = slash_command_fields(text, slack.response_url(f"r{n}"))
        fields["user_id"], fields["trigger_id"] = f"U{n:08d}", f"{n}.{n}"
        if kind == "foreign team":
            fields["team_id"] = f"T9{n % 97:03d}"
        body = urlencode(fields)
        return "/slack/events", body.encode(), sign(body)
    if kind == "button":
        payload = {
            "type": "block_actions",
            "team": {"id": "T1"},
            "user": {"id": f"U{n:08d}"},
            "api_app_id": "A0KOSLIBOT",
            "channel": {"id": "C0INCIDENT"},
            "container": {"type": "message", "message_ts": "1.000100", "channel_id": "C0INCIDENT"},
            "response_url": slack.response_url(f"r{n}"),
            "trigger_id": f"{n}.{n}",
            "actions": [{"action_id": "previous_change", "value": "aws-prod", "action_ts": "1"}],
        }
        body = urlencode({"payload": json.dumps(payload)})
        return "/slack/events", body.encode(), sign(body)
    if kind in ("webhook", "wrong webhook"):
        push = {"org": "cyber-dojo", "environment": "aws-prod", "snapshot": {"index": "177"}}
        secret = SECRET if kind == "webhook" else f"guess-{n:012d}"
        return f"/kosli/webhook/{secret}", json.dumps(push).encode(), {}
    junk = random.Random(n).randbytes(200 + n % 3000)
    return "/slack/events", junk, {"X-Slack-Signature": f"v0={n:064x}"}


async def soak(
    url: str, slack: FakeSlack, pipe: Connection, total: int, burst: int, every: int
) -> list[tuple[int, float]]:
    kinds = [kind for kind, share in MIX.items() for _ in range(share)]
    answered = 0  # commands and buttons whose answer must arrive before a checkpoint
    figures: list[tuple[int, float]] = []
    limits = httpx.Limits(max_connections=burst, max_keepalive_connections=burst)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        for start in range(0, total, burst):
            batch = [(n, kinds[n % len(kinds)]) for n in range(start, min(start + burst, total))]
            requests = [request_of(kind, n, slack) for n, kind in batch]
            # A refusal may close the connection before the body is read: the sender sees a
            # reset, as a junk sender would.
            replies = await asyncio.gather(
                *(
                    client.post(path, content=body, headers=headers)
                    for path, body, headers in requests
                ),
                return_exceptions=True,
            )
            answered += sum(
                kind in ("command", "unknown command", "button")
                and isinstance(reply, httpx.Response)
                and reply.status_code == 200
                for (_, kind), reply in zip(batch, replies, strict=True)
            )
            done = start + len(batch)
            if done % every == 0 or done == total:
                await asyncio.to_thread(wait_for_answers, slack, answered)
                pipe.send("measure")
                rss, objects = pipe.recv()
                figures.append((done, rss))
                print(f"  {done:>6} requests: RSS {rss:.1f} MB, {objects:,} objects", flush=True)
    return figures


def wait_for_answers(slack: FakeSlack, count: int) -> None:
    """Until `count` answers reached the fake Slack's response URLs; then forget them, so the
    fake's records do not grow in this process."""
    with slack.arrived:
        slack.arrived.wait_for(lambda: slack.answers >= count, timeout=300)
        if slack.answers < count:
            raise SystemExit(f"only {slack.answers} of {count} answers arrived")


class CountingSlack(FakeSlack):
    """The fake Slack keeping a count of answers on response URLs instead of every call."""

    answers = 0

    def _answer(
        self, path: str, body: dict[str, Any]
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        if path.startswith(("/response/", "/api/chat.post")):
            with self.arrived:
                self.answers += 1
                self.calls.clear()
        return super()._answer(path, body)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.memory", description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument("--burst", type=int, default=100)
    parser.add_argument("--every", type=int, default=5_000)
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory() as tmp,
        KosliSandbox(token=SANDBOX_TOKEN, now=lambda: SEED_NOW) as kosli,
    ):
        slack = CountingSlack().start()
        env = bot_env(kosli, slack, f"sqlite:///{tmp}/bench.db", kosli_webhook_secret=SECRET)
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        bot = context.Process(target=run_bot, args=(env, theirs), daemon=True)
        bot.start()
        try:
            url = ours.recv()
            ours.send("measure")
            rss, objects = ours.recv()
            print(f"bot started: RSS {rss:.1f} MB, {objects:,} objects", flush=True)
            started = time.perf_counter()
            figures = asyncio.run(soak(url, slack, ours, args.requests, args.burst, args.every))
            took = time.perf_counter() - started
        finally:
            ours.send("stop")
            bot.join(timeout=30)
            slack.stop()
    first, last = figures[0][1], figures[-1][1]
    growth = last - first
    verdict = "ok" if growth <= TARGET_MB else "MISSED"
    print(
        f"{args.requests:,} mixed requests in bursts of {args.burst} ({took:.0f} s): "
        f"RSS after a full collection {first:.1f} MB after {figures[0][0]:,}, "
        f"{last:.1f} MB after {figures[-1][0]:,}: {growth:+.1f} MB "
        f"(target <= +{TARGET_MB:.0f} MB) {verdict}"
    )
    raise SystemExit(0 if growth <= TARGET_MB else 1)


if __name__ == "__main__":
    main()

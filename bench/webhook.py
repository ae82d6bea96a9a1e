"""How soon an alert follows a Kosli Actions webhook, with Kosli taking 50 ms a request.

The bot's real app serves the webhook; the sandbox Kosli (50 ms a request) reports a new
snapshot of aws-prod each round, then the webhook arrives; the figure is the time from the
webhook's POST to the alert reaching the fake Slack. The scheduled poll is 10 minutes, so only
the push can explain an alert within seconds.

    .venv/bin/python -m bench.webhook [--rounds 30] [--latency 0.05]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make `bot` and `tests` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402

from bot.sandbox import KosliSandbox  # noqa: E402
from bot.slack.app import build_web_app  # noqa: E402
from tests.conftest import SANDBOX_TOKEN, SEED_NOW, settings_for  # noqa: E402
from tests.fakes.slack import FakeSlack  # noqa: E402
from tests.servers import serve  # noqa: E402
from tests.signing import sign, slash_command_body  # noqa: E402
from tests.story import report_new_build  # noqa: E402

TARGET_P99_S = 1.0
SECRET = "bench-webhook-secret-0123456789"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.webhook", description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--latency", type=float, default=0.05, help="Kosli's seconds a request")
    args = parser.parse_args(argv)
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
                kosli.latency = args.latency
                seconds = []
                for number in range(1, args.rounds + 1):
                    index = report_new_build(kosli, "aws-prod", number)
                    push = {
                        "org": "cyber-dojo",
                        "environment": "aws-prod",
                        "event_type": "STARTED_ARTIFACT",
                        "snapshot": {"index": str(index)},
                    }
                    started = time.perf_counter()
                    client.post(f"{url}/kosli/webhook/{SECRET}", json=push)
                    slack.wait_for("/api/chat.postMessage", count=number, timeout=30)
                    seconds.append(time.perf_counter() - started)
        finally:
            slack.stop()
    seconds.sort()
    p50 = seconds[len(seconds) // 2]
    p99 = seconds[min(len(seconds) - 1, int(len(seconds) * 0.99))]
    kosli_ms = args.latency * 1000
    print(f"webhook to alert in Slack, {args.rounds} rounds, Kosli {kosli_ms:.0f} ms a request")
    print(
        f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max {seconds[-1] * 1000:.0f} ms "
        f"(target p99 <= {TARGET_P99_S * 1000:.0f} ms; the scheduled poll: every 600 s)"
    )


if __name__ == "__main__":
    main()

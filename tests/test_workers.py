"""Several web workers (WEB_CONCURRENCY) on one database: every command answered, every alert
posted once though each worker runs the watcher, and /metrics adds up all of them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.sandbox import KosliSandbox
from testkit.fakes.slack import FakeSlack
from testkit.seed import bot_env
from testkit.signing import sign, slash_command_body
from testkit.story import MINER, report_with

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def two_workers(kosli: KosliSandbox, slack: FakeSlack, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        **bot_env(kosli, slack, f"sqlite:///{tmp_path}/bot.db", run_watcher="true"),
        "KOSLI_POLL_SECONDS": "0.2",
        "WEB_CONCURRENCY": "2",
        "PORT": str(port),
    }
    log = (tmp_path / "web.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve"], cwd=ROOT, env=env, stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the workers start in their own time
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def test_two_workers_answer_everyone_alert_once_and_count_together(
    two_workers: str, kosli: KosliSandbox, slack: FakeSlack
) -> None:
    with httpx.Client(timeout=10) as client:
        for number in range(10):
            body = slash_command_body("envs", slack.response_url(f"envs{number}"))
            assert (
                client.post(
                    f"{two_workers}/slack/events", content=body, headers=sign(body)
                ).status_code
                == 200
            )
        body = slash_command_body("watch aws-prod", slack.response_url("watch"))
        assert (
            client.post(f"{two_workers}/slack/events", content=body, headers=sign(body)).status_code
            == 200
        )
    for number in range(10):
        answer = slack.wait_for(f"/response/envs{number}")[0].body
        assert answer["text"] == "2 environments in cyber-dojo"
    assert slack.wait_for("/response/watch")[0].body["text"].startswith("Watching aws-prod")
    report_with(kosli, MINER)
    slack.wait_for("/api/chat.postMessage")
    started = len(kosli.requests)
    while len(kosli.requests) < started + 20:  # both watchers poll on, a few cycles more
        time.sleep(0.05)
    alerts = [m for m in slack.posted("C0INCIDENT") if not m["thread_ts"]]
    assert [a["text"] for a in alerts] == ["aws-prod#178: 1 rogue, now non-compliant"]
    scraped = httpx.get(f"{two_workers}/metrics").text
    answered = sum(
        sample.value
        for family in text_string_to_metric_families(scraped)
        for sample in family.samples
        if sample.name == "kosli_bot_commands_total"
        and sample.labels == {"command": "envs", "outcome": "ok"}
    )
    assert answered == 10  # from whichever worker took each

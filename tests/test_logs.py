"""Logs: one event per line, JSON with LOG_FORMAT=json, each with its request id, command or
environment; secrets never appear."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from bot.logs import configure_logging, log_context
from bot.sandbox import KosliSandbox
from bot.store.migrate import open_store
from testkit.fakes.slack import FakeSlack
from testkit.seed import SANDBOX_TOKEN, bot_env
from testkit.signing import SIGNING_SECRET, sign, slash_command_body
from testkit.story import report_new_build
from tests.test_reliability import ROOT, SECRETS, start_worker


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """A stream for configure_logging; the root logger is put back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield io.StringIO()
    root.handlers[:] = handlers  # hand the root logger back as pytest set it
    root.setLevel(level)


def test_json_lines_carry_their_context_and_stay_one_line(captured: io.StringIO) -> None:
    configure_logging(json_lines=True, stream=captured)
    with log_context(request_id="r1", command="diff", env="aws-prod"):
        logging.getLogger("bot.test").warning("forged?\nERROR and \x1b[31mred\x1b[0m")
    logging.getLogger("bot.test").info("outside")
    first, second = captured.getvalue().splitlines()
    event = json.loads(first)
    assert (event["level"], event["logger"]) == ("WARNING", "bot.test")
    assert event["message"] == "forged?\nERROR and \x1b[31mred\x1b[0m"  # escaped, on one line
    assert (event["request_id"], event["command"], event["env"]) == ("r1", "diff", "aws-prod")
    assert "request_id" not in json.loads(second)  # the context ended with its block


def test_text_lines_name_their_context(captured: io.StringIO) -> None:
    configure_logging(json_lines=False, stream=captured)
    with log_context(env="aws-prod"):
        logging.getLogger("bot.test").warning("polling failed")
    assert captured.getvalue().rstrip().endswith("bot.test: polling failed [env=aws-prod]")


def test_a_json_logging_worker_logs_only_json_and_no_secret(
    kosli: KosliSandbox, slack: FakeSlack, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path}/bot.db"
    store = open_store(url)
    latest = kosli.dataset.environment("aws-prod").snapshots[-1].index  # type: ignore[union-attr]
    asyncio.run(
        store.subscriptions.subscribe("C0PROD1", "aws-prod", "U1", latest, datetime.now(UTC))
    )
    store.engine.dispose()
    kosli.fail_next(503, times=2)  # something worth a line
    report_new_build(kosli, "aws-prod", 1)
    log = tmp_path / "worker.log"
    worker = start_worker(kosli, slack, url, log, LOG_FORMAT="json")
    try:
        slack.wait_for("/api/chat.postMessage", timeout=30)
    finally:
        worker.terminate()
        worker.wait()
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    assert lines, "the worker said nothing"
    events = [json.loads(line) for line in lines]  # every line is one JSON event
    assert any(e.get("env") == "aws-prod" for e in events)
    for secret in SECRETS:
        assert secret not in log.read_text()


WEB_SECRETS = {
    "SLACK_BOT_TOKEN": "xoxb-web-bot-token-never-logged",
    "SLACK_SIGNING_SECRET": SIGNING_SECRET,
    "KOSLI_API_TOKEN": SANDBOX_TOKEN,
    "GITHUB_TOKEN": "ghp_github-token-never-logged",
    "GITLAB_TOKEN": "glpat-gitlab-token-never-logged",
    "KOSLI_WEBHOOK_SECRET": "webhook-secret-never-logged-0123",
    "METRICS_TOKEN": "metrics-token-never-logged",
}
# Wrong guesses at the webhook's URL are someone's secret too (a typo of the right one).
GUESSES = ("webhook-secret-never-logged-012", "guess-at-the/secret-abcdef", "..%2Fsecret")


class WebProcess:
    """`kosli-bot serve` in its own process; every line it writes, as it writes them."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self.changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self.changed:
                self.lines.append(line.rstrip("\n"))
                self.changed.notify_all()
        with self.changed:
            self.lines.append("")  # the end: the process closed its output
            self.changed.notify_all()

    def wait_for(self, words: str, timeout: float = 30) -> None:
        with self.changed:
            found = self.changed.wait_for(
                lambda: any(words in line for line in self.lines) or self.process.poll(), timeout
            )
        assert found and self.process.poll() is None, "\n".join(self.lines)

    def stop(self) -> list[str]:
        self.process.terminate()
        self.process.wait(timeout=30)
        with self.changed:
            self.changed.wait_for(lambda: self.lines[-1:] == [""], timeout=10)
        return [line for line in self.lines if line.strip()]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_the_web_process_writes_no_secret_in_any_line(
    kosli: KosliSandbox, slack: FakeSlack, tmp_path: Path, log_format: str
) -> None:
    """Every secret set; commands, a webhook push and wrong guesses at its URL, /metrics with
    the right and a wrong token, unsigned junk: no line the process writes holds any of them."""
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        **bot_env(kosli, slack, f"sqlite:///{tmp_path}/bot.db"),
        **WEB_SECRETS,
        "PORT": str(port),
        "LOG_FORMAT": log_format,
    }
    web = WebProcess(env)
    url = f"http://127.0.0.1:{port}"
    try:
        web.wait_for("Uvicorn running")
        for n, text in enumerate(["watch aws-prod", "commits aws-prod#176 aws-prod#177"], 1):
            body = slash_command_body(text, slack.response_url(str(n)))
            assert httpx.post(f"{url}/slack/events", content=body, headers=sign(body)).is_success
            slack.wait_for(f"/response/{n}")
        hook = f"{url}/kosli/webhook/"
        pushed = httpx.post(hook + WEB_SECRETS["KOSLI_WEBHOOK_SECRET"], json=push_of("aws-prod"))
        assert pushed.status_code == 202
        for guess in GUESSES:
            assert httpx.post(hook + guess, json=push_of("aws-prod")).status_code == 404
        scrape = {"Authorization": f"Bearer {WEB_SECRETS['METRICS_TOKEN']}"}
        assert httpx.get(f"{url}/metrics", headers=scrape).status_code == 200
        wrong = {"Authorization": "Bearer " + WEB_SECRETS["METRICS_TOKEN"][:-1]}
        assert httpx.get(f"{url}/metrics", headers=wrong).status_code == 401
        junk = httpx.post(f"{url}/slack/events", content=b"\x00junk", headers={"X-Junk": "1"})
        assert junk.status_code == 401
    finally:
        lines = web.stop()
    for line in lines:
        if log_format == "json":
            json.loads(line)  # every line one JSON event
        for secret in (*WEB_SECRETS.values(), *GUESSES):
            assert secret not in line, line
    assert any("/kosli/webhook/***" in line for line in lines)  # the access log is there


def push_of(env: str) -> dict[str, object]:
    return {"org": "cyber-dojo", "environment": env, "snapshot": {"index": "177"}}

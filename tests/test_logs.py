"""Logs: one event per line, JSON with LOG_FORMAT=json, each with its request id, command or
environment; secrets never appear."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.logs import configure_logging, log_context
from bot.sandbox import KosliSandbox
from bot.store.migrate import open_store
from testkit.fakes.slack import FakeSlack
from testkit.story import report_new_build
from tests.test_reliability import SECRETS, start_worker


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

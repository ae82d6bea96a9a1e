"""Start-up with a database that is not there: one clear line and a non-zero exit, never a
silent hang or a traceback, and the password never printed."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvloop

from bot import loop

ROOT = Path(__file__).resolve().parent.parent


def start_bot(database_url: str, wait_seconds: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": "signing-secret-never-printed",
        "KOSLI_API_TOKEN": "kosli-token-never-printed",
        "KOSLI_ORG": "cyber-dojo",
        "DATABASE_URL": database_url,
        "DATABASE_WAIT_SECONDS": wait_seconds,
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", "serve"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nobody listens once it is closed


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts connections and never says a word: a stalled database."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield listener.getsockname()[1]
    listener.close()
    for connection in held:
        connection.close()


def assert_one_clear_line(result: subprocess.CompletedProcess[str], where: str) -> str:
    assert result.returncode == 3
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"kosli-bot: cannot reach the database at {where}: ")
    for secret in ("hunter2", "never-printed", "xoxb-test-token"):
        assert secret not in result.stderr + result.stdout
    return last


def test_an_unreachable_database_at_start_is_one_line_and_exit_3() -> None:
    port = closed_port()
    started = time.monotonic()
    result = start_bot(f"postgresql://bot:hunter2@127.0.0.1:{port}/bot", "2")
    took = time.monotonic() - started
    last = assert_one_clear_line(result, f"postgresql+psycopg://bot:***@127.0.0.1:{port}/bot")
    assert "refused" in last.lower()
    assert "retrying in 1s" in result.stderr  # it tried again before giving up
    assert took < 30


def test_a_database_that_never_answers_at_start_is_given_up_on(silent_server: int) -> None:
    result = start_bot(f"postgresql://bot:hunter2@127.0.0.1:{silent_server}/bot", "1")
    assert_one_clear_line(result, f"postgresql+psycopg://bot:***@127.0.0.1:{silent_server}/bot")


def test_a_sqlite_file_that_cannot_be_opened_is_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder" / "bot.db"
    result = start_bot(f"sqlite:///{missing}", "1")
    last = assert_one_clear_line(result, f"sqlite:///{missing}")
    assert last.endswith("unable to open database file")


def test_the_bot_runs_on_uvloop() -> None:
    async def running_loop() -> type:
        return type(asyncio.get_running_loop())

    assert loop.run(running_loop()) is uvloop.Loop

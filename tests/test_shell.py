"""The shell: the same bot in a terminal, on the offline sandbox."""

from __future__ import annotations

import asyncio
import io
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.config import Settings
from bot.render.blockkit import Message
from bot.shell import REPLAY_FROM, SEED_MOMENT, ReplayClock, run_shell
from bot.transport.terminal import BOLD, CYAN, RESET, TerminalTransport, paint

ROOT = Path(__file__).parents[1]


def offline_env() -> dict[str, str]:
    """No Slack and no Kosli settings, as on a fresh machine."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "KOSLI_"))}


def shell_settings() -> Settings:
    return Settings.from_env(offline_env(), mode="shell")


def shell(*commands: str) -> str:
    out = io.StringIO()
    asyncio.run(run_shell(shell_settings(), list(commands), sandbox=True, replay_speed=0, out=out))
    return out.getvalue()


def test_the_seed_story_in_the_shell() -> None:
    text = shell(
        "log aws-prod",
        "diff aws-prod#176 aws-prod#177",
        "artifact web@480735698cb9e468bb16c4265fedb7507640d236b3ab53cf2e3ec09d3bd72063",
        "where b7a5908",
    )
    assert "#177  Tue, 06 Sep 2022 14:53:28 UTC → now  ·  3 minutes" in text
    assert (
        "#176  Tue, 06 Sep 2022 14:52:28 UTC → Tue, 06 Sep 2022 14:53:28 UTC  ·  59 seconds" in text
    )
    assert "🔄 Replaced\n`creator:31dee35` → `creator:b7a5908`\nCommit 31dee35 (https://" in text
    assert "31dee35 stopped; b7a5908, already running at #176, now runs alone" in text
    assert "Started running in aws-beta#188 environment" in text
    assert "aws-prod#177" in text and "creator:b7a5908" in text
    assert "*" not in text.replace("`", "")  # Slack's bold marks are gone from plain output


def test_an_incident_thread_as_text() -> None:
    text = shell("incident aws-prod since #169", "incident close")
    assert "Incident: what changed in aws-prod" in text
    assert "  │ aws-prod#177: 1 replaced" in text
    assert "  │ `creator:31dee35` → `creator:b7a5908`" in text
    assert "Opened an incident thread for aws-prod with 8 changes." in text
    assert "  │ 📎 Timeline: aws-prod from" in text
    assert "Incident closed by" in text


def test_bad_input_in_the_shell_is_explained() -> None:
    text = shell("dif aws-prod")
    assert text.startswith("(only you) ⚠️ I don't know the command `dif`. Did you mean `diff`?")


def test_kosli_bot_without_slack_settings_starts_the_shell_on_the_sandbox() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "-c", "diff aws-prod"],
        cwd=ROOT,
        env=offline_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[0] == (
        "No Slack settings (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET): "
        "starting the shell on the Kosli sandbox."
    )
    assert result.stdout.startswith(
        "aws-prod#176 → aws-prod#177\nTue, 06 Sep 2022 14:53:28 UTC · 1 replaced\n🔄 Replaced"
    )


def read_until(fd: int, pattern: str, seen: bytearray, timeout: float = 60) -> str:
    """Read the terminal until `pattern` shows up (waiting on the descriptor, not sleeping)."""
    deadline = time.monotonic() + timeout
    while pattern.encode() not in seen:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            pytest.fail(f"no {pattern!r} within {timeout}s; the terminal shows:\n{seen.decode()}")
        seen += os.read(fd, 65536)
    return seen.decode(errors="replace")


def test_interactive_shell_in_a_terminal_shows_alerts_as_the_replay_runs() -> None:
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "shell", "--replay-speed", "3600"],
        cwd=ROOT,
        env={**offline_env(), "TERM": "xterm"},
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        close_fds=True,
    )
    os.close(terminal)
    seen = bytearray()
    try:
        read_until(controller, "kosli> ", seen)
        os.write(controller, b"watch aws-prod\n")
        # The alert's last line, not its header: a terminal may hand it over in pieces.
        screen = read_until(controller, "`creator:31dee35` → `creator:b7a5908`", seen)
        os.write(controller, b"exit\n")
        assert process.wait(timeout=30) == 0
    finally:
        process.kill()
        os.close(controller)
    assert "kosli-bot shell on the offline Kosli sandbox" in screen
    assert "Watching aws-prod in this channel" in screen
    assert "\x1b[1m\x1b[36maws-prod#177: 1 replaced\x1b[0m" in screen  # colour on a terminal
    assert "`creator:31dee35` → `creator:b7a5908`" in screen


def test_replay_clock() -> None:
    real = [100.0]
    fixed, moving = ReplayClock(0, lambda: real[0]), ReplayClock(60, lambda: real[0])
    real[0] += 10
    assert fixed() == SEED_MOMENT
    assert moving() == REPLAY_FROM + 600


def test_paint() -> None:
    assert paint("Head\n*bold* text", colour=False) == "Head\nbold text"
    assert paint("Head\n*bold* text", colour=True) == (
        "\x1b[1m\x1b[36mHead\x1b[0m\n\x1b[1mbold\x1b[0m text"
    )


def test_an_incident_over_two_environments_and_a_duration_window() -> None:
    # The sandbox's clock is the seed's moment (16:56:28 CEST): 3h back is 11:56 UTC.
    text = shell("incident aws-prod aws-beta 3h")
    assert "Incident: what changed in aws-prod, aws-beta" in text
    assert "aws-prod at the window's start: snapshot #169" in text
    assert "aws-beta at the window's start: snapshot #189" in text
    replies = [line for line in text.splitlines() if re.match(r"  │ aws-\w+#\d+: ", line)]
    assert replies[-2:] == [
        "  │ aws-prod#177: 1 replaced",
        "  │ aws-beta#190: 1 rogue, 1 non-compliant, 1 started, now non-compliant",
    ]
    assert "with 9 changes." in text


def test_todays_kosli_in_the_shell() -> None:
    out = io.StringIO()
    commands = ["diff prod#4354", "why prod#4355 payments"]
    asyncio.run(
        run_shell(
            shell_settings(), commands, sandbox=True, replay_speed=0, out=out, sandbox_org="acme"
        )
    )
    text = out.getvalue()
    assert text.startswith("prod#4353 → prod#4354\nTue, 05 May 2026 09:17:44 UTC · 1 rolled back")
    assert "ledger rolled back 3f2a1c9 → 81bd004" in text
    assert "❌ trivy-container-scan (generic) missing · payments-ci/c5a81f7" in text


def test_the_commits_window_and_where_a_commit_runs_offline() -> None:
    """Issue 11's story with no accounts: the sandbox's git history answers in the shell."""
    text = shell("incident aws-prod 2h", "where e8cdc07")
    creator = text.index("  │ `creator:31dee35` → `creator:b7a5908`")
    window = text[creator:]
    assert "  │ 5 commits from `31dee35` to `b7a5908`:" in window
    assert "  │ • e8cdc07 (https://github.com/cyber-dojo/creator/commit/" in window
    assert "Cache group ids in memory to speed up joins · Tomasz Nowak" in window
    assert "Where e8cdc07 runs" in text
    assert "✅ aws-prod#177 · `creator:b7a5908` has it, 3 commits later" in text
    assert "⌛ aws-beta#190 · not yet: runs `creator:bed709b`, 5 commits behind" in text


HOSTILE_TITLE = "fix \x1b]0;PWNED\x07\x1b[2J\x1b[31mred\x1b[0m\r\x00\x9b2J\x9d0;T\x9c\x1bc done\tok"


@pytest.mark.parametrize("colour", [False, True])
def test_the_terminal_prints_no_control_sequence_from_kosli_or_git(
    tmp_path: Path, colour: bool
) -> None:
    """A commit title that would set the window title and clear the screen is printed as
    plain characters, with colours off (NO_COLOR) and on; only the shell's own colours stay."""
    out = io.StringIO()
    terminal = TerminalTransport(out, colour=colour, files=tmp_path)
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*Commits*\n{HOSTILE_TITLE}"}}
    ]
    asyncio.run(terminal.post("C1", Message("commits", blocks)))
    asyncio.run(terminal.post("C1", Message(HOSTILE_TITLE), thread_ts="1.0"))
    printed = out.getvalue()
    ours = printed
    for code in (BOLD, CYAN, RESET):
        ours = ours.replace(code, "")
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", ours), repr(printed)
    assert "fix red done\tok" in ours and "PWNED" not in ours
    assert ("\x1b" in printed) is colour

"""`kosli-bot shell`: the bot in a terminal, against real Kosli or the offline sandbox.

Same parser, Kosli client, domain code, watcher and message content as in Slack; only the
transport (a stand-in for Slack's Web API that prints) and the renderer (text) differ.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from bot.commands.dispatch import answer
from bot.commands.services import Services
from bot.config import KosliAccount, Settings
from bot.render.blockkit import Message
from bot.runtime import Runtime
from bot.sandbox import ACME_NOW, KosliSandbox, cest
from bot.transport.terminal import PRIVATE, TerminalTransport, wants_colour

CHANNEL = "shell"
USER = "you"
SANDBOX_TOKEN = "sandbox-token"
# Without a replay the sandbox stays three minutes into aws-prod#177, as in the seed's
# `kosli env log`; with --replay-speed it starts here: #169 current, #170-#177 to come.
SEED_MOMENT = cest("2022-09-06 16:56:28")
REPLAY_FROM = cest("2022-09-06 15:27:00")
PROMPT = "kosli> "


class ReplayClock:
    """The sandbox's notion of now: fixed at the tutorial's moment, or moving `speed` times
    faster than real time from just before aws-prod#170."""

    def __init__(self, speed: float, real: Callable[[], float] = time.monotonic) -> None:
        self.speed, self._real, self._began = speed, real, real()

    def __call__(self) -> float:
        if not self.speed:
            return SEED_MOMENT
        return REPLAY_FROM + (self._real() - self._began) * self.speed


@dataclass(frozen=True)
class ShellKosli:
    host: str
    org: str
    token: str
    description: str
    clock: Callable[[], datetime] | None = None  # the sandbox's time, for the whole shell
    # The sandbox's story has its own git hosts; "" means the configured (or public) ones.
    github_api_url: str = ""
    gitlab_url: str = ""


@contextmanager
def kosli_for_shell(
    settings: Settings, sandbox: bool, replay_speed: float, sandbox_org: str = "cyber-dojo"
) -> Iterator[ShellKosli]:
    """Real Kosli when the settings have an account (and the sandbox is not asked for), else
    the sandbox: cyber-dojo's 2022 incident (replayable), or acme in today's Kosli shapes."""
    if settings.kosli and not sandbox:
        host, org = settings.kosli_host, settings.kosli.org
        yield ShellKosli(host, org, settings.kosli.api_token, f"Kosli at {host}, org {org}")
        return
    if sandbox_org == "acme":
        with KosliSandbox(org="acme", token=SANDBOX_TOKEN, now=lambda: ACME_NOW) as kosli:
            what = (
                "the offline Kosli sandbox (acme, today's Kosli: prod, staging, eu-prod, "
                "eu-staging, production)"
            )
            moment = datetime.fromtimestamp(ACME_NOW, UTC)
            yield ShellKosli(
                kosli.base_url,
                "acme",
                SANDBOX_TOKEN,
                what,
                lambda: moment,
                kosli.github_url,
                kosli.gitlab_url,
            )
        return
    clock = ReplayClock(replay_speed)
    with KosliSandbox(token=SANDBOX_TOKEN, now=clock) as kosli:
        what = "the offline Kosli sandbox (cyber-dojo: aws-beta, aws-prod)"
        if replay_speed:
            minutes = (SEED_MOMENT - REPLAY_FROM) / replay_speed / 60
            what += (
                f", replaying the seed's incident from aws-prod#169 at {replay_speed:g}x: "
                f"#170-#177 arrive over {minutes:.1f} minutes (`watch aws-prod` to see them)"
            )
        # The bot lives in the sandbox's 2022 too: mutes, windows and closing times agree.
        yield ShellKosli(
            kosli.base_url,
            "cyber-dojo",
            SANDBOX_TOKEN,
            what,
            lambda: datetime.fromtimestamp(clock(), UTC),
            kosli.github_url,
            kosli.gitlab_url,
        )


async def run_shell(
    settings: Settings,
    commands: list[str],
    sandbox: bool,
    replay_speed: float,
    out: TextIO = sys.stdout,
    sandbox_org: str = "cyber-dojo",
) -> None:
    colour = wants_colour(out)
    with (
        tempfile.TemporaryDirectory(prefix="kosli-bot-") as scratch,
        kosli_for_shell(settings, sandbox, replay_speed, sandbox_org) as kosli,
    ):
        on_sandbox = bool(kosli.github_api_url)
        settings = replace(
            settings,
            kosli=KosliAccount(org=kosli.org, api_token=kosli.token),
            kosli_host=kosli.host,
            # The sandbox's story has its own git hosts, which want no tokens.
            github_api_url=kosli.github_api_url or settings.github_api_url,
            github_token=None if on_sandbox else settings.github_token,
            gitlab_url=kosli.gitlab_url or settings.gitlab_url,
            gitlab_token=None if on_sandbox else settings.gitlab_token,
            gitlab_com_url=kosli.gitlab_url or settings.gitlab_com_url,
            database_url=settings.database_url or f"sqlite:///{scratch}/shell.db",
            # Replays move fast; a real Kosli is polled as often as the bot would poll it.
            poll_seconds=1.0 if replay_speed else settings.poll_seconds,
        )
        terminal = TerminalTransport(out, colour, Path(scratch))
        runtime = Runtime.build(settings, terminal)
        if kosli.clock:
            runtime.watcher.clock = kosli.clock
        services = runtime.services
        async with runtime.running(watch=not commands):
            if commands:
                for text in commands:
                    await _run(text, services, terminal)
                return
            print(
                f"kosli-bot shell on {kosli.description}. Type `help`, or `exit`.",
                file=out,
                flush=True,
            )
            async for line in _typed_lines(sys.stdin, out):
                if line.strip() in ("exit", "quit"):
                    break
                if line.strip():
                    await _run(line, services, terminal)
        # Store calls of cancelled work may still run on worker threads: they finish before
        # the scratch database is removed, or one would open it anew in a deleted folder.
        await asyncio.get_running_loop().shutdown_default_executor()


async def _run(text: str, services: Services, terminal: TerminalTransport) -> None:
    reply = await answer(text.removeprefix(services.command_name).strip(), services, CHANNEL, USER)
    message: Message = reply.message
    terminal.show(message, "" if reply.public else PRIVATE)


async def _typed_lines(source: TextIO, out: TextIO) -> AsyncIterator[str]:
    """Each line typed at the prompt, until the input ends. A thread of its own waits on the
    terminal, so the watcher's alerts keep arriving while nobody types."""
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str | None] = asyncio.Queue()

    def hand_over(line: str | None) -> bool:
        try:
            loop.call_soon_threadsafe(lines.put_nowait, line)
        except RuntimeError:  # the shell has ended: nobody reads any more
            return False
        return True

    def read() -> None:
        while (line := source.readline()) and hand_over(line):
            pass
        hand_over(None)

    threading.Thread(target=read, name="terminal-input", daemon=True).start()
    while True:
        print(PROMPT, end="", file=out, flush=True)
        if (line := await lines.get()) is None:
            return
        yield line

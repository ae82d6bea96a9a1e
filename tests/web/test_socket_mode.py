"""Socket Mode end to end: Slack's websocket in, acks back over it, answers on response_url;
another workspace's requests are refused there as at the HTTP door."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.sandbox import KosliSandbox
from bot.web.app import build_web_app
from bot.web.socket_mode import socket_mode_handler
from testkit.fakes.slack import FakeSlack, FakeSocketMode
from testkit.signing import slash_command_fields
from tests.conftest import settings_for

APP_TOKEN = "xapp-1-A0KOSLIBOT-test-app-token"


def slash_command_envelope(envelope_id: str, text: str, response_url: str) -> dict[str, Any]:
    """What Slack sends over the websocket for `/kosli TEXT`: the slash command form as JSON."""
    return {
        "envelope_id": envelope_id,
        "type": "slash_commands",
        "accepts_response_payload": True,
        "payload": {
            **slash_command_fields(text, response_url),
            "is_enterprise_install": "false",
        },
    }


@asynccontextmanager
async def socket_mode_bot(
    kosli: KosliSandbox, slack: FakeSlack, tmp_path: Path
) -> AsyncIterator[FakeSocketMode]:
    """The bot as `kosli-bot` runs it with SLACK_APP_TOKEN set, connected to a fake websocket."""
    link = FakeSocketMode()
    slack.socket_url = await link.start()
    database = f"sqlite:///{tmp_path}/bot.db"
    settings = settings_for(kosli, slack, database, slack_app_token=APP_TOKEN)
    web = build_web_app(settings)
    # The Starlette lifespan owns the Kosli client and the store; uvicorn runs it in production.
    async with web.router.lifespan_context(web):
        handler = socket_mode_handler(web, settings)  # needs a running loop, as in serve()
        try:
            await handler.connect_async()
            yield link
        finally:
            await handler.close_async()
            # Let the bot's own tasks (a respond() still reading its reply) end before the loop.
            others = asyncio.all_tasks() - {asyncio.current_task()}
            if others:
                await asyncio.wait(others, timeout=5)
            await link.stop()


def assert_connected_with_the_app_token(slack: FakeSlack) -> None:
    opened = [c for c in slack.calls if c.path == "/api/apps.connections.open"]
    assert len(opened) == 1
    assert opened[0].headers["Authorization"] == f"Bearer {APP_TOKEN}"


def test_help_is_acked_over_the_websocket_and_answered_on_response_url(
    kosli: KosliSandbox, slack: FakeSlack, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with socket_mode_bot(kosli, slack, tmp_path) as link:
            assert_connected_with_the_app_token(slack)
            await link.send(slash_command_envelope("env-help-1", "help", slack.response_url()))
            assert await link.next_from_bot() == {"envelope_id": "env-help-1"}
            answer = (await asyncio.to_thread(slack.wait_for, "/response/1"))[0].body
            assert answer["response_type"] == "ephemeral"
            assert answer["text"].startswith("/kosli commands: diff, commits, log, envs")

    asyncio.run(scenario())


def test_ack_over_the_websocket_does_not_wait_for_a_slow_kosli(
    kosli: KosliSandbox, slack: FakeSlack, tmp_path: Path
) -> None:
    async def scenario() -> None:
        async with socket_mode_bot(kosli, slack, tmp_path) as link:
            kosli.gate = threading.Event()  # Kosli holds every answer until the gate opens
            try:
                await link.send(slash_command_envelope("env-envs-1", "envs", slack.response_url()))
                assert await link.next_from_bot() == {"envelope_id": "env-envs-1"}
                assert slack.responses() == []  # acked while Kosli still holds the answer
            finally:
                kosli.gate.set()
            answer = (await asyncio.to_thread(slack.wait_for, "/response/1"))[0].body
            assert answer["response_type"] == "in_channel"
            assert answer["text"] == "2 environments in cyber-dojo"

    asyncio.run(scenario())


def test_another_workspace_over_the_websocket_is_refused(
    kosli: KosliSandbox, slack: FakeSlack, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    foreign = slash_command_envelope("env-foreign", "envs", slack.response_url("foreign"))
    foreign["payload"]["team_id"] = "T9"
    nameless = slash_command_envelope("env-nameless", "envs", slack.response_url("nameless"))
    del nameless["payload"]["team_id"]
    ours = slash_command_envelope("env-ours", "envs", slack.response_url("ours"))

    async def scenario() -> None:
        async with socket_mode_bot(kosli, slack, tmp_path) as link:
            for envelope in (foreign, nameless, ours):
                await link.send(envelope)
            assert await link.next_from_bot() == {"envelope_id": "env-ours"}
            await asyncio.to_thread(slack.wait_for, "/response/ours")
            assert link.received.empty()  # the other two were never acked

    with caplog.at_level(logging.WARNING, logger="bot.web"):
        asyncio.run(scenario())
    assert slack.responses("foreign") == [] and slack.responses("nameless") == []
    refused = [r.getMessage() for r in caplog.records if "over Socket Mode" in r.getMessage()]
    assert sorted(refused) == [
        "refused a slash_commands over Socket Mode: names no workspace",
        "refused a slash_commands over Socket Mode: workspace 'T9' is not served here",
    ]

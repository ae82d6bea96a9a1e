"""Buttons on alerts, diffs and incident threads: each one is a command, answered in the thread.
Which buttons exist and what they stand for comes from the command registry."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond

from bot.background import in_background
from bot.commands.catalog import COMMANDS
from bot.commands.dispatch import answer, deliver
from bot.commands.services import Services
from bot.slack.workspace import services_of
from bot.workspaces import Workspaces


async def answer_button(services: Services, body: dict[str, Any], action: dict[str, Any]) -> None:
    channel, user = body["channel"]["id"], body["user"]["id"]
    message = body.get("message") or {}
    # A button on a thread reply answers in that thread; on a channel message, under it.
    thread_ts = message.get("thread_ts") or body["container"]["message_ts"]
    text = COMMANDS.button_text(action["action_id"], str(action.get("value", ""))[:200])
    # Only an old message (or a forged one) carries a value no command takes.
    stale = f"That button is out of date. Type a command instead: `{services.command_name} help`."
    reply = await answer(text, services, channel, user, thread_ts, unparsable=stale)
    await deliver(services.transport, reply, channel, user, thread_ts)


async def button_in_workspace(
    workspaces: Workspaces,
    context: AsyncBoltContext,
    respond: AsyncRespond,
    body: dict[str, Any],
    action: dict[str, Any],
) -> None:
    services = await services_of(workspaces, context)
    if isinstance(services, str):
        await respond(text=services, response_type="ephemeral", replace_original=False)
        return
    await answer_button(services, body, action)


def register(app: AsyncApp, workspaces: Workspaces) -> None:
    async def on_button(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        respond: AsyncRespond,
        context: AsyncBoltContext,
    ) -> None:
        await ack()
        work = button_in_workspace(workspaces, context, respond, body, action)
        in_background(work, f"answering button {action['action_id']}")

    for action_id in COMMANDS.action_ids:
        app.action(action_id)(on_button)

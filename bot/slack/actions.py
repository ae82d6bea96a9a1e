"""Buttons on alerts, diffs and incident threads: each one is a command, answered in the thread."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.commands.dispatch import Services, answer, deliver


def command_for(action_id: str, value: str) -> str:
    """The command a button stands for; its value says what it acts on."""
    if action_id == "previous_change":
        env, _, index = value.rpartition("#")
        return f"diff {env}#{int(index) - 1} {env}#{index}"
    if action_id == "artifact_details":
        return f"artifact {value}"
    if action_id == "mute_hour":
        return f"mute {value} 1h"
    return "incident close"


def register(app: AsyncApp, services: Services) -> None:
    async def on_button(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        channel, user = body["channel"]["id"], body["user"]["id"]
        message = body.get("message") or {}
        # A button on a thread reply answers in that thread; on a channel message, under it.
        thread_ts = message.get("thread_ts") or body["container"]["message_ts"]
        text = command_for(action["action_id"], action.get("value", ""))
        reply = await answer(text, services, channel, user, thread_ts)
        await deliver(services.transport, reply, channel, user, thread_ts)

    for action_id in ("previous_change", "artifact_details", "mute_hour", "close_incident"):
        app.action(action_id)(on_button)

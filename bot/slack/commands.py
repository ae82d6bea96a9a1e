"""The slash command: ack at once, then answer through response_url."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.queries import Queries
from bot.slack.replies import answer


def register(app: AsyncApp, command_name: str, queries: Queries) -> None:
    async def on_command(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        # Slack gives us 3 seconds; Kosli may take longer, so ack before any work.
        await ack()
        reply = await answer(command.get("text", ""), queries, command_name)
        await respond(
            text=reply.message.text,
            blocks=reply.message.blocks,
            response_type="in_channel" if reply.public else "ephemeral",
        )

    app.command(command_name)(on_command)

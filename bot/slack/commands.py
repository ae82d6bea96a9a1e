"""The slash command: ack at once, then answer through response_url."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.commands.dispatch import answer
from bot.commands.services import Services
from bot.render.blockkit import parts


def register(app: AsyncApp, services: Services) -> None:
    async def on_command(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        # Slack gives us 3 seconds; Kosli may take longer, so ack before any work.
        await ack()
        channel, user = command.get("channel_id", ""), command.get("user_id", "")
        reply = await answer(command.get("text", ""), services, channel, user)
        # A response_url takes 5 posts: room for 250 blocks before anything is cut.
        for blocks in parts(reply.message.blocks)[:5]:
            await respond(
                text=reply.message.text,
                blocks=blocks,
                response_type="in_channel" if reply.public else "ephemeral",
            )

    app.command(services.command_name)(on_command)

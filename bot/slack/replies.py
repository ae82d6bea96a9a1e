"""Send a command's reply into a Slack thread: for everyone, or only to the asker."""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from bot.commands.dispatch import Reply
from bot.render.kit import parts, post


async def send_reply(
    client: AsyncWebClient, reply: Reply, channel: str, user: str, thread_ts: str
) -> None:
    """Post in the thread for everyone, or only to the asker when the reply is private."""
    if reply.public:
        await post(client, channel, reply.message, thread_ts)
        return
    for blocks in parts(reply.message.blocks):
        await client.chat_postEphemeral(
            channel=channel,
            user=user,
            thread_ts=thread_ts,
            text=reply.message.text,
            blocks=blocks,
        )

"""The slash command: ack at once, then answer through response_url."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond

from bot.background import in_background
from bot.commands.dispatch import answer
from bot.commands.registry import Reply
from bot.commands.services import Services
from bot.render.blockkit import MAX_BLOCKS, cut, parts
from bot.slack.workspace import services_of
from bot.transport import TransportError
from bot.workspaces import Workspaces

log = logging.getLogger(__name__)

RESPONSE_ATTEMPTS = 3
# A response_url takes 5 posts: room for 250 blocks before anything is cut.
RESPONSE_POSTS = 5


async def respond_with(respond: AsyncRespond, reply: Reply) -> bool:
    """Post the reply on the command's response_url, retrying a failed post; False when it
    would not go (the URL expired, Slack kept failing)."""
    for blocks in parts(cut(reply.message, RESPONSE_POSTS * MAX_BLOCKS)):
        for attempt in range(RESPONSE_ATTEMPTS):
            try:
                sent = await respond(
                    text=reply.message.text,
                    blocks=blocks,
                    response_type="in_channel" if reply.public else "ephemeral",
                )
                if sent.status_code == 200:
                    break
            except Exception as error:  # aiohttp's errors vary; any of them means "not sent"
                log.warning("response_url post failed: %s", type(error).__name__)
            await asyncio.sleep(0.2 * 2**attempt)
        else:
            return False
    return True


async def answer_command(
    services: Services, command: dict[str, Any], respond: AsyncRespond
) -> None:
    channel, user = command.get("channel_id", ""), command.get("user_id", "")
    reply = await answer(command.get("text", ""), services, channel, user)
    if await respond_with(respond, reply):
        return
    # The answer must not be lost: the asker gets it privately instead.
    log.warning("response_url failed %d times; answering privately", RESPONSE_ATTEMPTS)
    try:
        await services.transport.post_private(channel, user, reply.message)
    except TransportError as error:
        log.warning("the private answer failed too: %s", error.reason)


async def answer_in_workspace(
    workspaces: Workspaces,
    context: AsyncBoltContext,
    command: dict[str, Any],
    respond: AsyncRespond,
) -> None:
    services = await services_of(workspaces, context)
    if isinstance(services, str):
        await respond(text=services, response_type="ephemeral")
        return
    await answer_command(services, command, respond)


def register(app: AsyncApp, workspaces: Workspaces) -> None:
    name = workspaces.settings.command

    async def on_command(
        ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext
    ) -> None:
        # Slack gives us 3 seconds; Kosli may take longer, so ack before any work.
        await ack()
        in_background(
            answer_in_workspace(workspaces, context, command, respond), f"answering {name}"
        )

    app.command(name)(on_command)

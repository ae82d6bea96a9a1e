"""Links and the "Where is this running?" message shortcut: unfurls for link_shared, and a
private `where` answer on any message."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.background import in_background
from bot.commands.links import unfurls, where_running
from bot.commands.services import Services
from bot.render.blockkit import Message
from bot.slack.workspace import services_of
from bot.transport import ChannelGone, Transport, TransportError
from bot.workspaces import Workspaces

log = logging.getLogger(__name__)

SHORTCUT = "where_running"  # the message shortcut's callback_id in app_manifest.yml


async def unfurl(services: Services, client: AsyncWebClient, event: dict[str, Any]) -> None:
    urls = [str(link.get("url", "")) for link in event.get("links") or [] if isinstance(link, dict)]
    described = await unfurls(services, urls)
    if not described:
        return
    # A link typed in the message composer is unfurled by its unfurl_id, a posted one by ts.
    if event.get("unfurl_id") and event.get("source"):
        where = {"unfurl_id": event["unfurl_id"], "source": event["source"]}
    else:
        where = {"channel": event["channel"], "ts": event["message_ts"]}
    try:
        await client.chat_unfurl(unfurls=described, **where)
    except SlackApiError as error:  # e.g. the message was deleted meanwhile
        log.warning("chat.unfurl refused: %s", error.response.get("error"))


async def answer_shortcut(services: Services, body: dict[str, Any]) -> None:
    channel, user = body["channel"]["id"], body["user"]["id"]
    text = str((body.get("message") or {}).get("text") or "")
    try:
        for message in await where_running(services, text, channel, user):
            await tell_privately(services.transport, channel, user, message)
    except TransportError as error:
        log.warning("the shortcut's answer did not go: %s", error.reason)


async def tell_privately(transport: Transport, channel: str, user: str, message: Message) -> None:
    try:
        await transport.post_private(channel, user, message)
    except ChannelGone:
        # Not a member of that channel (a DM between people, a channel it was never invited
        # to): the asker gets the answer in the bot's own DM instead.
        await transport.post(user, message)


async def unfurl_in_workspace(
    workspaces: Workspaces, context: AsyncBoltContext, client: AsyncWebClient, event: dict[str, Any]
) -> None:
    services = await services_of(workspaces, context)
    if not isinstance(services, str):  # no Kosli org connected: nothing to tell of a link
        await unfurl(services, client, event)


async def shortcut_in_workspace(
    workspaces: Workspaces,
    context: AsyncBoltContext,
    client: AsyncWebClient,
    body: dict[str, Any],
) -> None:
    services = await services_of(workspaces, context)
    if not isinstance(services, str):
        await answer_shortcut(services, body)
        return
    try:  # the one line why, privately, through the workspace's own token
        await client.chat_postEphemeral(
            channel=body["channel"]["id"], user=body["user"]["id"], text=services
        )
    except SlackApiError as error:
        log.warning("the shortcut's answer did not go: %s", error.response.get("error"))


def register(app: AsyncApp, workspaces: Workspaces) -> None:
    async def on_link_shared(
        event: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
    ) -> None:
        in_background(unfurl_in_workspace(workspaces, context, client, event), "unfurling links")

    async def on_shortcut(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
    ) -> None:
        await ack()  # Slack waits 3 seconds for it; Kosli may take longer
        work = shortcut_in_workspace(workspaces, context, client, body)
        in_background(work, "answering the where shortcut")

    app.event("link_shared")(on_link_shared)
    app.shortcut(SHORTCUT)(on_shortcut)

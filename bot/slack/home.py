"""The Home tab: published when a user opens it, and again after an admin's button on it."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.background import in_background
from bot.commands.home import home, home_button
from bot.commands.services import Services
from bot.domain.commands import may_administer
from bot.domain.results import HomeResult
from bot.render.home import UNMUTE, UNWATCH, render_home
from bot.slack.workspace import services_of
from bot.workspaces import Workspaces

log = logging.getLogger(__name__)


async def publish_home(
    services: Services, client: AsyncWebClient, user: str, notice: str = ""
) -> None:
    async def permalink(channel: str, ts: str) -> str:
        try:
            found = await client.chat_getPermalink(channel=channel, message_ts=ts)
        except SlackApiError as error:  # the thread is gone or the bot left: no link
            log.info("no permalink for a thread: %s", error.response.get("error"))
            return ""
        return str(found.get("permalink") or "")

    result = await home(services, user, permalink)
    view = render_home(result, services.command_name, notice)
    await publish(client, user, view)


async def publish(client: AsyncWebClient, user: str, view: dict[str, Any]) -> None:
    try:
        await client.views_publish(user_id=user, view=view)
    except SlackApiError as error:
        log.warning("views.publish refused: %s", error.response.get("error"))


async def press_home_button(
    services: Services, client: AsyncWebClient, body: dict[str, Any], action: dict[str, Any]
) -> None:
    user = body["user"]["id"]
    command = "unwatch" if action["action_id"] == UNWATCH else "unmute"
    notice = await home_button(services, command, str(action.get("value", ""))[:300], user)
    await publish_home(services, client, user, notice)


async def publish_unconnected(
    workspaces: Workspaces, client: AsyncWebClient, user: str, notice: str
) -> None:
    """A workspace with no Kosli org connected (or unreadable just now): its Home tab says
    so, with the connect button for admins."""
    admin = may_administer(workspaces.admins, user)
    result = HomeResult(connection=None, channels=(), admin=admin)
    view = render_home(result, workspaces.settings.command, notice)
    await publish(client, user, view)


async def home_in_workspace(
    workspaces: Workspaces, context: AsyncBoltContext, client: AsyncWebClient, user: str
) -> None:
    services = await services_of(workspaces, context)
    if isinstance(services, str):
        await publish_unconnected(workspaces, client, user, "")
        return
    await publish_home(services, client, user)


async def button_in_workspace(
    workspaces: Workspaces,
    context: AsyncBoltContext,
    client: AsyncWebClient,
    body: dict[str, Any],
    action: dict[str, Any],
) -> None:
    services = await services_of(workspaces, context)
    if isinstance(services, str):
        await publish_unconnected(workspaces, client, body["user"]["id"], services)
        return
    await press_home_button(services, client, body, action)


def register(app: AsyncApp, workspaces: Workspaces) -> None:
    async def on_home_opened(
        event: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
    ) -> None:
        if event.get("tab") != "home":
            return  # the Messages tab
        work = home_in_workspace(workspaces, context, client, event["user"])
        in_background(work, "publishing the Home tab")

    async def on_home_button(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        await ack()
        work = button_in_workspace(workspaces, context, client, body, action)
        in_background(work, f"answering {action['action_id']}")

    app.event("app_home_opened")(on_home_opened)
    app.action(UNWATCH)(on_home_button)
    app.action(UNMUTE)(on_home_button)

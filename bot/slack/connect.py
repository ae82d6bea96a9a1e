"""OAuth mode's listeners: `/kosli connect` and the Home tab's connect button open the form,
its submission is checked with Kosli and kept, `/kosli disconnect` forgets it; and a workspace
that uninstalls the app, or revokes its bot token, goes."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands.connect import DEFAULT_HOST
from bot.installs import Installs
from bot.render.connect import (
    CONNECT_VIEW,
    FIELD,
    HOST,
    ORG,
    TOKEN,
    admins_only_view,
    connect_modal,
    connected_view,
)
from bot.store.installations import workspace_key

log = logging.getLogger(__name__)

HOME_CONNECT = "home_connect"  # the Home tab's button
CONNECTION_WORDS = ("connect", "disconnect")


def workspace(context: AsyncBoltContext) -> str:
    return workspace_key(
        context.enterprise_id, context.team_id, bool(context.is_enterprise_install)
    )


async def open_form(client: AsyncWebClient, trigger_id: str, may: bool, command: str) -> bool:
    """The connect form, or why not for someone who is not an admin; False when Slack
    would not open it (the trigger expired)."""
    view = connect_modal(DEFAULT_HOST) if may else admins_only_view(command)
    try:
        await client.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as error:
        log.warning("views.open failed: %s", error.response.get("error", "unknown_error"))
        return False
    return True


def typed(view: dict[str, Any], block: str) -> str:
    """What was typed in one of the form's fields ("" when absent or malformed)."""
    values = view.get("state", {}).get("values", {})
    found = values.get(block, {}).get(FIELD, {}) if isinstance(values, dict) else {}
    value = found.get("value") if isinstance(found, dict) else None
    return value if isinstance(value, str) else ""


def register(app: AsyncApp, installs: Installs, command: str) -> None:
    connecting = installs.connecting

    async def asks_connection(body: dict[str, Any]) -> bool:
        return str(body.get("text", "")).strip().lower() in CONNECTION_WORDS

    async def on_command(
        ack: AsyncAck,
        body: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        await ack()
        user = str(body.get("user_id", ""))
        if str(body.get("text", "")).strip().lower() == "disconnect":
            answer = await connecting.disconnect(workspace(context), user)
            await respond(text=answer, response_type="ephemeral")
            return
        trigger = str(body.get("trigger_id", ""))
        if not await open_form(client, trigger, connecting.may_change(user), command):
            await respond(
                text=f"The form would not open: run `{command} connect` again.",
                response_type="ephemeral",
            )

    async def on_home_connect(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        user = str(body.get("user", {}).get("id", ""))
        await open_form(
            client, str(body.get("trigger_id", "")), connecting.may_change(user), command
        )

    async def on_submit(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        # Answered within Slack's 3 seconds: the check with Kosli is bounded well inside them.
        org, host, token = typed(view, ORG), typed(view, HOST), typed(view, TOKEN)
        user = str(body.get("user", {}).get("id", ""))
        found = await connecting.connect(workspace(context), user, org, host, token)
        if isinstance(found, dict):
            await ack(response_action="errors", errors=found)
            return
        await ack(response_action="update", view=connected_view(found.org, found.host))

    async def on_uninstalled(context: AsyncBoltContext) -> None:
        await installs.uninstalled(
            context.enterprise_id, context.team_id, bool(context.is_enterprise_install)
        )

    async def on_tokens_revoked(event: dict[str, Any], context: AsyncBoltContext) -> None:
        tokens = event.get("tokens") or {}
        if tokens.get("bot"):
            await on_uninstalled(context)
        elif users := [str(user) for user in tokens.get("oauth") or []]:
            await installs.user_tokens_revoked(context.enterprise_id, context.team_id, users)

    # Before any other listener of the command: Bolt runs the first one that matches.
    app.command(command, matchers=[asks_connection])(on_command)
    app.action(HOME_CONNECT)(on_home_connect)
    app.view_submission(CONNECT_VIEW)(on_submit)
    app.event("app_uninstalled")(on_uninstalled)
    app.event("tokens_revoked")(on_tokens_revoked)

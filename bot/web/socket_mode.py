"""Socket Mode: the same Bolt app, reached over Slack's websocket instead of POST /slack/events.
Its requests carry no signature (the socket was opened with the app token), but they come from
every workspace the app is installed in: the workspace is checked here, as the door checks it."""

from __future__ import annotations

import logging

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from starlette.applications import Starlette

from bot.config import Settings
from bot.web.gate import Served, refuse_team

log = logging.getLogger(__name__)


class CheckedSocketModeHandler(AsyncSocketModeHandler):
    def __init__(self, app: AsyncApp, app_token: str | None, teams: Served) -> None:
        super().__init__(app, app_token)
        self.teams = teams

    async def handle(  # type: ignore[override]  # narrower, as in the Bolt handler it extends
        self, client: SocketModeClient, req: SocketModeRequest
    ) -> None:
        refusal = await refuse_team(req.payload, self.teams)
        if refusal is not None:
            # Left unanswered, as Bolt leaves a request it refuses.
            log.warning("refused a %s over Socket Mode: %s", req.type, refusal.reason)
            return
        await super().handle(client, req)


def socket_mode_handler(web: Starlette, settings: Settings) -> AsyncSocketModeHandler:
    """The web app's Bolt app and workspaces, reached over Slack's websocket."""
    return CheckedSocketModeHandler(
        web.state.bolt, settings.needs_slack().app_token, web.state.teams
    )

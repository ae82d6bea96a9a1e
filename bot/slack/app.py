"""Builds the Bolt app: each kind of Slack input routed to its listeners. Requests reach it
already checked (signature and workspace) at the door, bot.web.gate, or over Socket Mode."""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import SlackOAuth
from bot.installs import Installs
from bot.slack import actions, commands, connect, events, home, links
from bot.store.events import HandledEvents
from bot.workspaces import Workspaces

# What the app asks of a workspace it is installed in: app_manifest.yml's bot scopes (a test
# keeps them equal).
BOT_SCOPES = (
    "commands",
    "chat:write",
    "channels:history",
    "groups:history",
    "app_mentions:read",
    "files:write",
    "links:read",
    "links:write",
)
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"


def build_bolt_app(
    workspaces: Workspaces, handled: HandledEvents, client: AsyncWebClient
) -> AsyncApp:
    """Each listener finds the services of the request's workspace in `workspaces`."""
    app = AsyncApp(
        client=client,
        # Checked once, at the door: Bolt checking the signature again would only cost time.
        request_verification_enabled=False,
        # The ack goes back the moment a listener returns (each hands its work to a task);
        # without this Bolt polls every 10 ms for the ack, which every request then waits.
        process_before_response=True,
        logger=logging.getLogger("bot.bolt"),
    )
    register_listeners(app, workspaces, handled)
    return app


def register_listeners(app: AsyncApp, workspaces: Workspaces, handled: HandledEvents) -> None:
    commands.register(app, workspaces)
    events.register(app, workspaces, handled)
    actions.register(app, workspaces)
    home.register(app, workspaces)
    links.register(app, workspaces)


def build_oauth_bolt_app(
    installs: Installs,
    workspaces: Workspaces,
    handled: HandledEvents,
    client: AsyncWebClient,
    oauth: SlackOAuth,
    command: str,
) -> AsyncApp:
    """OAuth mode: Bolt runs the install (its "Add to Slack" page and the redirect back) and
    finds each request's bot token in the workspace's installation."""
    app = AsyncApp(
        client=client,
        request_verification_enabled=False,  # checked at the door, as in single-workspace mode
        process_before_response=True,
        logger=logging.getLogger("bot.bolt"),
        oauth_settings=AsyncOAuthSettings(
            client_id=oauth.client_id,
            client_secret=oauth.client_secret,
            scopes=list(BOT_SCOPES),
            redirect_uri=oauth.redirect_uri,
            install_path=INSTALL_PATH,
            redirect_uri_path=REDIRECT_PATH,
            installation_store=installs.installations,
            state_store=installs.states,
        ),
    )
    # First: Bolt runs the first listener that matches, and `connect` is a command's word.
    connect.register(app, installs, command)
    register_listeners(app, workspaces, handled)
    return app

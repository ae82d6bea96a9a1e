"""Builds the Bolt app: each kind of Slack input routed to its listeners. Requests reach it
already checked (signature and workspace) at the door, bot.web.gate, or over Socket Mode."""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import actions, commands, events, home, links
from bot.store.events import HandledEvents
from bot.workspaces import Workspaces


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
    commands.register(app, workspaces)
    events.register(app, workspaces, handled)
    actions.register(app, workspaces)
    home.register(app, workspaces)
    links.register(app, workspaces)
    return app

"""Which workspace a Slack request comes from, and that workspace's services."""

from __future__ import annotations

import logging

from slack_bolt.context.async_context import AsyncBoltContext

from bot.commands.services import Services
from bot.workspaces import Workspaces, not_connected

log = logging.getLogger(__name__)

UNREADABLE = "Could not read this workspace's Kosli connection just now: try again in a moment."


async def services_of(workspaces: Workspaces, context: AsyncBoltContext) -> Services | str:
    """The services of the request's workspace (its team, or its Enterprise Grid org for an
    org-wide install); else the one line to answer instead."""
    key = workspaces.key_for(
        context.team_id, context.enterprise_id, bool(context.is_enterprise_install)
    )
    try:
        services = await workspaces.services(key)
    except Exception as error:  # its installation or connection could not be read
        log.warning("cannot build the services of workspace %r: %s", key, type(error).__name__)
        return UNREADABLE
    return services if services is not None else not_connected(workspaces.settings.command)

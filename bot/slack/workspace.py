"""Which workspace a Slack request comes from, and that workspace's services."""

from __future__ import annotations

from slack_bolt.context.async_context import AsyncBoltContext

from bot.commands.services import Services
from bot.workspaces import Workspaces


async def services_of(workspaces: Workspaces, context: AsyncBoltContext) -> Services | None:
    """The services of the request's workspace (its team, or its Enterprise Grid org for an
    org-wide install); None when that workspace is not connected to a Kosli org."""
    key = workspaces.key_for(
        context.team_id, context.enterprise_id, bool(context.is_enterprise_install)
    )
    return await workspaces.services(key)

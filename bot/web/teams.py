"""Only the workspace the bot is installed in (or those ALLOWED_TEAM_IDS names) is served."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from slack_bolt.async_app import AsyncApp, AsyncBoltRequest
from slack_bolt.request.internals import extract_team_id
from slack_bolt.response import BoltResponse

log = logging.getLogger(__name__)


class Teams:
    """Which workspaces are served: ALLOWED_TEAM_IDS, or the one Slack's auth.test names."""

    def __init__(self, allowed: frozenset[str]) -> None:
        self.allowed = allowed
        self.installed: str | None = None  # learnt from the first request Bolt authorizes

    def refuses(self, team: str) -> bool | None:
        """Whether a request from `team` is refused; None while that is not known yet."""
        served = self.allowed or frozenset(t for t in (self.installed,) if t)
        if not served:
            return None
        return bool(team) and team not in served


def register(app: AsyncApp, teams: Teams) -> None:
    @app.middleware
    async def only_our_teams(
        req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse:
        if req.context.authorize_result and req.context.authorize_result.team_id:
            teams.installed = req.context.authorize_result.team_id
        team = extract_team_id(req.body)
        if team and teams.refuses(team):
            # A signed request from another workspace: the signing secret is shared by every
            # install of the app, so the signature alone does not say it is ours to answer.
            log.warning("refused a request from team %r: not served here", team[:32])
            return BoltResponse(status=403, body="")
        return await next()

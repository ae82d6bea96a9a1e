"""Only the workspace the bot is installed in (or those ALLOWED_TEAM_IDS names) is served."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from slack_bolt.async_app import AsyncApp, AsyncBoltRequest
from slack_bolt.request.internals import extract_team_id
from slack_bolt.response import BoltResponse

log = logging.getLogger(__name__)


def register(app: AsyncApp, allowed: frozenset[str]) -> None:
    @app.middleware
    async def only_our_teams(
        req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse:
        team = extract_team_id(req.body)
        installed = req.context.authorize_result.team_id if req.context.authorize_result else None
        served = allowed or frozenset(t for t in (installed,) if t)
        if team and served and team not in served:
            # A signed request from another workspace: the signing secret is shared by every
            # install of the app, so the signature alone does not say it is ours to answer.
            log.warning("refused a request from team %r: not served here", team[:32])
            return BoltResponse(status=403, body="")
        return await next()

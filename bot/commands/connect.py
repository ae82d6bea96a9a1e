"""Connecting a workspace to its Kosli org (OAuth mode): `connect` checks the org, host and
token with Kosli before keeping them; `disconnect` forgets them. Both are for the bot's admins
when ADMIN_USER_IDS is set; after either, the hooks hear which workspace changed."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from urllib.parse import urlparse

from bot.domain.commands import may_administer
from bot.kosli import (
    KosliClient,
    KosliError,
    KosliForbidden,
    KosliNotFound,
    KosliUnauthorized,
    KosliUnavailable,
)
from bot.render.connect import HOST, ORG, TOKEN
from bot.store import StoreError
from bot.store.connections import KosliConnection, KosliConnections

log = logging.getLogger(__name__)

# A view submission must be answered within Slack's 3 seconds: Kosli gets most of them, once.
CHECK_SECONDS = 2.5
DEFAULT_HOST = "https://app.kosli.com"
# As the form allows (a forged submission may send anything): what is kept, and said back.
MAX_FIELD = 255
MAX_TOKEN = 1000

Hook = Callable[[str], Awaitable[None]]
DATABASE_DOWN = "The bot's database is not answering right now: try again in a minute."


async def kosli_problem(
    connection: KosliConnection, timeout: float = CHECK_SECONDS
) -> dict[str, str]:
    """What is wrong with a connection, by the form's field, as Kosli answers reading the
    org's environments (`GET {host}/api/v2/environments/{org}`); empty when it works."""
    client = KosliClient(
        connection.host, connection.org, connection.api_token, timeout=timeout, attempts=1
    )
    try:
        await client.environments()
    except KosliForbidden:
        return {ORG: f"This token may not read an org called {connection.org!r}."}
    except KosliUnauthorized:
        return {TOKEN: "Kosli refused this API token."}
    except KosliNotFound:
        return {ORG: f"Kosli has no org called {connection.org!r}."}
    except KosliUnavailable:
        return {HOST: "Kosli did not answer at this host."}
    except KosliError:
        return {HOST: "This host did not answer like Kosli does."}
    finally:
        await client.aclose()
    return {}


def form_problem(org: str, host: str, token: str) -> dict[str, str]:
    """What is wrong with the form before asking Kosli."""
    problems = {}
    if not org or "/" in org or len(org) > MAX_FIELD:
        problems[ORG] = "The org's name, as in app.kosli.com/ORG."
    parsed = urlparse(host)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or len(host) > MAX_FIELD:
        problems[HOST] = "An http(s) URL, like https://app.kosli.com."
    if not token or len(token) > MAX_TOKEN:
        problems[TOKEN] = "The API token, as Kosli's settings show it."
    return problems


class Connecting:
    def __init__(
        self,
        connections: KosliConnections,
        admins: frozenset[str],
        command: str,
        changed: list[Hook],
        timeout: float = CHECK_SECONDS,
    ) -> None:
        self.connections = connections
        self.admins = admins
        self.command = command
        self.changed = changed  # the registry's `forget`, wired in by whoever builds the app
        self.timeout = timeout

    def may_change(self, user: str) -> bool:
        return may_administer(self.admins, user)

    async def connect(
        self, workspace: str, user: str, org: str, host: str, token: str
    ) -> KosliConnection | dict[str, str]:
        """Keep the connection once Kosli accepts it; else the problems, by field."""
        org, host, token = org.strip(), (host.strip() or DEFAULT_HOST).rstrip("/"), token.strip()
        if not self.may_change(user):
            return {TOKEN: "Only the bot's admins connect this workspace."}
        connection = KosliConnection(org, host, token)
        problems = form_problem(org, host, token) or await kosli_problem(connection, self.timeout)
        if problems:
            return problems
        try:
            await self.connections.save(workspace, connection, user, datetime.now(UTC))
        except StoreError as error:
            log.warning("the database failed keeping a connection: %s", type(error).__name__)
            return {TOKEN: DATABASE_DOWN}
        await self.tell(workspace)
        return connection

    async def disconnect(self, workspace: str, user: str) -> str:
        """The one line to answer."""
        if not self.may_change(user):
            return "Only the bot's admins disconnect this workspace from Kosli."
        try:
            deleted = await self.connections.delete(workspace)
        except StoreError as error:
            log.warning("the database failed forgetting a connection: %s", type(error).__name__)
            return DATABASE_DOWN
        if not deleted:
            return "This workspace is not connected to a Kosli org."
        await self.tell(workspace)
        return (
            "Disconnected this workspace from Kosli: its commands and alerts stop until an "
            f"admin runs `{self.command} connect` again."
        )

    async def tell(self, workspace: str) -> None:
        for hook in self.changed:
            await hook(workspace)

"""OAuth mode's parts: the Vault, the installations and OAuth states Bolt keeps, each
workspace's Kosli connection, and what happens when a workspace goes (uninstall, revoked
tokens). Hooks let the rest of the process hear of a workspace that changed."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from bot.commands.connect import Connecting, Hook
from bot.config import Settings
from bot.store.connections import KosliConnections
from bot.store.database import Database
from bot.store.installations import Installations, OAuthStates, workspace_key
from bot.store.store import Store
from bot.store.vault import Vault

log = logging.getLogger(__name__)


@dataclass
class Installs:
    installations: Installations
    states: OAuthStates
    connections: KosliConnections
    connecting: Connecting
    # Told the workspace whose Kosli connection changed (connect, disconnect, uninstall):
    # the workspace registry forgets its cached services.
    on_connection_changed: list[Hook] = field(default_factory=list)
    # Told the workspace that went (uninstalled, bot token revoked): its watches stop.
    on_uninstalled: list[Hook] = field(default_factory=list)

    @classmethod
    def build(cls, settings: Settings, store: Store) -> Installs:
        oauth = settings.needs_oauth()
        vault = Vault(oauth.encryption_key)
        connections = KosliConnections(Database(store.engine), vault)
        changed: list[Hook] = []
        return cls(
            Installations(store.engine, oauth.client_id, vault),
            OAuthStates(store.engine),
            connections,
            Connecting(connections, settings.admin_user_ids, settings.slack_command, changed),
            on_connection_changed=changed,
        )

    def reseal(self) -> None:
        """After a new key was put in front of BOT_ENCRYPTION_KEY: every stored token is
        encrypted under it, so the old key can go at the next deploy."""
        resealed = self.installations.reseal() + self.connections.reseal()
        if resealed:
            log.info("re-encrypted %d stored tokens under the newest key", resealed)

    async def uninstalled(
        self, enterprise_id: str | None, team_id: str | None, org_wide: bool
    ) -> None:
        """The app left a workspace, or its bot token was revoked: its tokens and its Kosli
        connection go, and nothing of any other workspace is touched."""
        workspace = workspace_key(enterprise_id, team_id, org_wide)
        if not workspace:
            return
        await self.connections.delete(workspace)
        for hook in (*self.on_connection_changed, *self.on_uninstalled):
            await hook(workspace)
        # Last: until the tokens go, the door still admits Slack's retry of this event.
        await self.installations.async_delete_all(
            enterprise_id=enterprise_id, team_id=None if org_wide else team_id
        )
        log.info("workspace %s uninstalled: its tokens and Kosli connection are gone", workspace)

    async def user_tokens_revoked(
        self, enterprise_id: str | None, team_id: str | None, users: list[str]
    ) -> None:
        """Only some installers' user tokens were revoked: their installations go; the bot
        keeps serving the workspace."""
        for user in users:
            await self.installations.async_delete_installation(
                enterprise_id=enterprise_id, team_id=team_id, user_id=user
            )

"""OAuth mode's installations: slack_sdk's SQLAlchemy stores on the bot's own database, for
Bolt, awaited through the store's door. Every token is sealed by the Vault before it is saved
and opened when read: the database holds none in the clear."""

from __future__ import annotations

import copy
import logging
from typing import Any

from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import Engine, and_, desc, or_, select, update

from bot.store.database import READS_ONLY
from bot.store.door import off_loop
from bot.store.models import SEALED_COLUMNS
from bot.store.vault import Vault

log = logging.getLogger(__name__)

STATE_SECONDS = 10 * 60  # how long an "Add to Slack" link stays good


def workspace_key(enterprise_id: str | None, team_id: str | None, org_wide: bool | None) -> str:
    """The workspace an install serves: the enterprise for an org-wide Enterprise Grid
    install, else the team."""
    return (enterprise_id if org_wide else team_id) or ""


class Installations(AsyncInstallationStore):
    """Bolt's installation store; also tells the bot which workspaces are installed and
    with which bot token (`bot_token`, the registry's protocol)."""

    def __init__(self, engine: Engine, client_id: str, vault: Vault) -> None:
        self._sql = SQLAlchemyInstallationStore(client_id, engine, logger=log)
        # Bolt looks up the installation of every request: on SQLite those reads wait for
        # no writer (a write transaction would take the write lock at BEGIN).
        reads = engine.execution_options(**{READS_ONLY: True})
        self._reads = SQLAlchemyInstallationStore(client_id, reads, logger=log)
        self._vault = vault

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_save(self, installation: Installation) -> None:
        await self._save(self._sealed(installation, "slack_installations"))

    async def async_save_bot(self, bot: Bot) -> None:
        await self._save_bot(self._sealed(bot, "slack_bots"))

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        found = await self._find_bot(enterprise_id, team_id, is_enterprise_install)
        return None if found is None else self._opened(found, "slack_bots")

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        found = await self._find_installation(
            enterprise_id, team_id, user_id, is_enterprise_install
        )
        return None if found is None else self._opened(found, "slack_installations")

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self._delete_bot(enterprise_id, team_id)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        await self._delete_installation(enterprise_id, team_id, user_id)

    async def bot_token(self, workspace: str) -> str | None:
        """The newest bot token of a workspace (a team id, or an enterprise id for an
        org-wide install); None when the app is not installed there."""
        sealed = await self._newest_bot_token(workspace)
        return None if sealed is None else self._vault.decrypt(sealed)

    async def installed(self, workspace: str) -> bool:
        return bool(workspace) and await self._newest_bot_token(workspace) is not None

    @off_loop
    def _save(self, installation: Installation) -> None:
        self._sql.save(installation)  # its bot row too

    @off_loop
    def _save_bot(self, bot: Bot) -> None:
        self._sql.save_bot(bot)

    @off_loop
    def _find_bot(
        self, enterprise_id: str | None, team_id: str | None, org_wide: bool | None
    ) -> Bot | None:
        return self._reads.find_bot(
            enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=org_wide
        )

    @off_loop
    def _find_installation(
        self,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        org_wide: bool | None,
    ) -> Installation | None:
        return self._reads.find_installation(
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            is_enterprise_install=org_wide,
        )

    @off_loop
    def _delete_bot(self, enterprise_id: str | None, team_id: str | None) -> None:
        self._sql.delete_bot(enterprise_id=enterprise_id, team_id=team_id)

    @off_loop
    def _delete_installation(
        self, enterprise_id: str | None, team_id: str | None, user_id: str | None
    ) -> None:
        self._sql.delete_installation(enterprise_id=enterprise_id, team_id=team_id, user_id=user_id)

    @off_loop
    def _newest_bot_token(self, workspace: str) -> str | None:
        # By the workspace key alone: a team of an Enterprise Grid org has its enterprise id
        # too, which slack_sdk's find_bot would want to be told.
        bots = self._sql.bots.c
        query = (
            select(bots.bot_token)
            .where(
                and_(
                    bots.client_id == self._sql.client_id,
                    bots.bot_token.is_not(None),
                    or_(
                        and_(bots.team_id == workspace, bots.is_enterprise_install.is_(False)),
                        and_(bots.enterprise_id == workspace, bots.is_enterprise_install),
                    ),
                )
            )
            .order_by(desc(bots.installed_at))
            .limit(1)
        )
        with self._reads.engine.connect() as connection:
            token: str | None = connection.scalar(query)
        return token

    def reseal(self) -> int:
        """Re-encrypt every token not under the newest key (after a new key was put in
        front); how many rows changed. Run at start-up, before serving."""
        resealed = 0
        with self._sql.engine.begin() as connection:
            for table in (self._sql.installations, self._sql.bots):
                names = SEALED_COLUMNS[table.name]
                for row in connection.execute(select(table.c.id, *(table.c[n] for n in names))):
                    stale = {
                        name: self._vault.rotate(value)
                        for name, value in zip(names, row[1:], strict=True)
                        if value and not self._vault.is_current(value)
                    }
                    if stale:
                        connection.execute(
                            update(table).where(table.c.id == row.id).values(**stale)
                        )
                        resealed += 1
        return resealed

    def _sealed(self, found: Any, table: str) -> Any:
        """A copy of an Installation or Bot, its tokens encrypted."""
        sealed = copy.copy(found)
        for name in SEALED_COLUMNS[table]:
            if getattr(sealed, name, None):
                setattr(sealed, name, self._vault.encrypt(getattr(sealed, name)))
        return sealed

    def _opened(self, found: Any, table: str) -> Any:
        for name in SEALED_COLUMNS[table]:
            if getattr(found, name, None):
                setattr(found, name, self._vault.decrypt(getattr(found, name)))
        return found


class OAuthStates(AsyncOAuthStateStore):
    """Bolt's OAuth state store: slack_sdk's SQLAlchemy one, through the store's door. A state
    is a one-time nonce, not a secret worth sealing."""

    def __init__(self, engine: Engine, seconds: int = STATE_SECONDS) -> None:
        self._sql = SQLAlchemyOAuthStateStore(seconds, engine, logger=log)

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        return await self._issue()

    async def async_consume(self, state: str) -> bool:
        return await self._consume(state)

    @off_loop
    def _issue(self) -> str:
        return self._sql.issue()

    @off_loop
    def _consume(self, state: str) -> bool:
        return self._sql.consume(state)

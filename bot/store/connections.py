"""Each workspace's Kosli org (OAuth mode): its org, host and API token, the token encrypted
by the Vault. In single-workspace mode the KOSLI_* settings stand in and this stays empty."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, select

from bot.store.database import Database, rows_affected
from bot.store.door import off_loop
from bot.store.models import KosliConnectionRow
from bot.store.vault import Vault


@dataclass(frozen=True)
class KosliConnection:
    org: str
    host: str
    api_token: str = field(repr=False)  # never in a log line


class KosliConnections:
    def __init__(self, db: Database, vault: Vault) -> None:
        self.db = db
        self._vault = vault

    @off_loop
    def save(
        self, workspace: str, connection: KosliConnection, connected_by: str, now: datetime
    ) -> None:
        """Connect the workspace, or replace its connection."""
        with self.db.begin() as session:
            session.merge(
                KosliConnectionRow(
                    workspace=workspace,
                    org=connection.org,
                    host=connection.host,
                    api_token=self._vault.encrypt(connection.api_token),
                    connected_by=connected_by,
                    connected_at=now,
                )
            )

    @off_loop
    def find(self, workspace: str) -> KosliConnection | None:
        with self.db.session() as session:
            row = session.get(KosliConnectionRow, workspace)
            if row is None:
                return None
            return KosliConnection(row.org, row.host, self._vault.decrypt(row.api_token))

    async def kosli_connection(self, workspace: str) -> KosliConnection | None:
        """The registry's protocol: what `find` answers."""
        return await self.find(workspace)

    @off_loop
    def delete(self, workspace: str) -> bool:
        """False when the workspace was not connected."""
        with self.db.begin() as session:
            result = session.execute(
                delete(KosliConnectionRow).where(KosliConnectionRow.workspace == workspace)
            )
            return rows_affected(result) > 0

    def reseal(self) -> int:
        """Re-encrypt every token not under the newest key (after a new key was put in
        front); how many. Run at start-up, before serving."""
        resealed = 0
        with self.db.begin() as session:
            for row in session.scalars(select(KosliConnectionRow)):
                if not self._vault.is_current(row.api_token):
                    row.api_token = self._vault.rotate(row.api_token)
                    resealed += 1
        return resealed

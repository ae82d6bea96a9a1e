"""Named leases: one process at a time does a job (e.g. sending), and a dead holder's lease
expires. Each workspace has its own: a lease's name carries the workspace's key (none in
single-workspace mode), so one workspace's sender never waits for another's."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from bot.store.database import Database
from bot.store.door import off_loop
from bot.store.models import Alert, AlertState, Lease, WatchedEnv


class Leases:
    def __init__(self, db: Database, workspace: str) -> None:
        self.db = db
        self.workspace = workspace

    def _named(self, name: str) -> str:
        return f"{name}@{self.workspace}" if self.workspace else name

    @off_loop
    def take(self, name: str, owner: str, now: datetime, ttl: timedelta) -> bool:
        """Hold (or renew) the named lease unless another live process holds it."""
        name = self._named(name)
        with self.db.begin() as session:
            lease = session.get(Lease, name, with_for_update=True)
            if lease is None:
                try:
                    with session.begin_nested():
                        session.add(Lease(name=name, owner=owner, until=now + ttl))
                except IntegrityError:
                    return False  # another process created it a moment ago
                return True
            if lease.owner != owner and lease.until >= now:
                return False
            lease.owner, lease.until = owner, now + ttl
            return True

    @off_loop
    def release(self, name: str, owner: str) -> None:
        with self.db.begin() as session:
            lease = session.get(Lease, self._named(name), with_for_update=True)
            if lease is not None and lease.owner == owner:
                session.delete(lease)

    @off_loop
    def renew_all(self, owner: str, now: datetime, ttl: timedelta) -> None:
        """The heartbeat: extend everything `owner` holds in this workspace (named leases,
        environments being polled, alerts being sent), so leases can be short and a dead
        process's end soon."""
        until = now + ttl
        mine = (
            Lease.name.endswith(f"@{self.workspace}")
            if self.workspace
            else ~Lease.name.contains("@")
        )
        with self.db.begin() as session:
            session.execute(update(Lease).where(mine, Lease.owner == owner).values(until=until))
            session.execute(
                update(WatchedEnv)
                .where(WatchedEnv.workspace == self.workspace, WatchedEnv.lease_owner == owner)
                .values(lease_until=until)
            )
            session.execute(
                update(Alert)
                .where(
                    Alert.workspace == self.workspace,
                    Alert.claimed_by == owner,
                    Alert.state == AlertState.SENDING,
                )
                .values(claimed_until=until)
            )

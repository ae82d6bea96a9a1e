"""Named leases: one process at a time does a job (e.g. sending), and a dead holder's lease
expires."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError

from bot.store.database import Database
from bot.store.models import Lease


class Leases:
    def __init__(self, db: Database) -> None:
        self.db = db

    def take(self, name: str, owner: str, now: datetime, ttl: timedelta) -> bool:
        """Hold (or renew) the named lease unless another live process holds it."""
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

    def release(self, name: str, owner: str) -> None:
        with self.db.begin() as session:
            lease = session.get(Lease, name, with_for_update=True)
            if lease is not None and lease.owner == owner:
                session.delete(lease)

"""Per-environment watcher state: how far it was read, who polls it now (a lease), and
whether Kosli is failing for it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update

from bot.store.database import Database
from bot.store.door import off_loop
from bot.store.models import Incident, Subscription, WatchedEnv
from bot.store.records import EnvState, record


class EnvironmentRepository:
    def __init__(self, db: Database, workspace: str) -> None:
        self.db = db
        self.workspace = workspace
        self._mine = WatchedEnv.workspace == workspace

    def _watched(self, session: Any, only: str | None = None) -> list[str]:
        """Environments with an active subscription or an open incident thread (of `only`,
        when given: a push names one, and reading all a push would cost a lot in a burst)."""
        subscribed = select(Subscription.env).where(
            Subscription.workspace == self.workspace, Subscription.paused_reason.is_(None)
        )
        if only is not None:
            subscribed = subscribed.where(Subscription.env == only).limit(1)
        names = set(session.scalars(subscribed))
        threads = select(Incident.envs).where(
            Incident.workspace == self.workspace, Incident.closed_at.is_(None)
        )
        for envs in session.scalars(threads):
            names.update(envs)
        return sorted(names if only is None else names & {only})

    def _get(self, session: Any, env: str, lock: bool = False) -> WatchedEnv | None:
        found: WatchedEnv | None = session.get(
            WatchedEnv, (self.workspace, env), with_for_update=lock
        )
        return found

    @off_loop
    def in_outage(self) -> int:
        with self.db.session() as session:
            query = (
                select(func.count())
                .select_from(WatchedEnv)
                .where(self._mine, WatchedEnv.outage_open)
            )
            return int(session.scalar(query) or 0)

    @off_loop
    def watched(self, only: str | None = None) -> list[str]:
        """Every watched environment, or just `only` if it is watched."""
        with self.db.session() as session:
            return self._watched(session, only)

    @off_loop
    def state(self, env: str) -> EnvState | None:
        with self.db.session() as session:
            row = self._get(session, env)
            return record(EnvState, row) if row else None

    @off_loop
    def lease(
        self,
        owner: str,
        now: datetime,
        ttl: timedelta,
        limit: int = 1000,
        only: str | None = None,
    ) -> list[EnvState]:
        """Take up to `limit` watched environments (or just `only`) no live process holds,
        least recently polled first, in one statement; return those this owner now holds."""
        free = or_(
            WatchedEnv.lease_owner.is_(None),
            WatchedEnv.lease_owner == owner,
            WatchedEnv.lease_until < now,
        )
        with self.db.begin() as session:
            watched = self._watched(session, only)
            candidates = (
                select(WatchedEnv.env)
                .where(self._mine, WatchedEnv.env.in_(watched), free)
                .order_by(WatchedEnv.last_polled_at.is_not(None), WatchedEnv.last_polled_at)
                .limit(limit)
            )
            session.execute(
                update(WatchedEnv)
                .where(self._mine, WatchedEnv.env.in_(list(session.scalars(candidates))), free)
                .values(lease_owner=owner, lease_until=now + ttl)
            )
            leased = select(WatchedEnv).where(
                self._mine, WatchedEnv.lease_owner == owner, WatchedEnv.env.in_(watched)
            )
            return [
                record(EnvState, row) for row in session.scalars(leased.order_by(WatchedEnv.env))
            ]

    @off_loop
    def release(
        self, owner: str, polled: Iterable[str], now: datetime, only: str | None = None
    ) -> None:
        """Give the leases back (all of this owner's, or just `only`), noting which
        environments answered this cycle."""
        with self.db.begin() as session:
            answered = list(polled)
            if answered:
                session.execute(
                    update(WatchedEnv)
                    .where(self._mine, WatchedEnv.env.in_(answered))
                    .values(last_polled_at=now)
                )
            mine = self._mine & (WatchedEnv.lease_owner == owner)
            if only is not None:
                mine = mine & (WatchedEnv.env == only)
            session.execute(
                update(WatchedEnv).where(mine).values(lease_owner=None, lease_until=None)
            )

    @off_loop
    def mark_polled(self, env: str, now: datetime) -> EnvState | None:
        """A successful poll: returns the state before failures were cleared."""
        with self.db.begin() as session:
            watched = self._get(session, env, lock=True)
            if watched is None:
                return None
            before = record(EnvState, watched)
            watched.failures = 0
            watched.outage_open = False
            watched.last_polled_at = now
            return before

    @off_loop
    def record_failure(self, env: str) -> EnvState | None:
        with self.db.begin() as session:
            watched = self._get(session, env, lock=True)
            if watched is not None:
                watched.failures += 1
            return record(EnvState, watched) if watched is not None else None

    @off_loop
    def open_outage(self, env: str) -> int | None:
        """Mark an outage reported once; returns its number, or None if already open."""
        with self.db.begin() as session:
            watched = self._get(session, env, lock=True)
            if watched is None or watched.outage_open:
                return None
            watched.outage_open = True
            watched.outages += 1
            return watched.outages

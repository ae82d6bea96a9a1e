"""Every read and write the watcher makes, each in its own short transaction."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, create_engine, event, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from bot.store.models import Alert, Incident, Lease, Subscription, WatchedEnv


def engine_url(database_url: str) -> str:
    """Accept the usual spellings (Heroku's postgres://) and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if database_url.startswith(prefix):
            return "postgresql+psycopg://" + database_url[len(prefix) :]
    return database_url


def make_engine(database_url: str) -> Engine:
    engine = create_engine(engine_url(database_url), pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        _sqlite_transactions(engine)
    return engine


def _sqlite_transactions(engine: Engine) -> None:
    """Real, serialised transactions on SQLite, as PostgreSQL's row locks give elsewhere.

    pysqlite would start a transaction only at the first write, so a savepoint's release
    committed on its own and read-check-write steps of two processes could interleave.
    """

    @event.listens_for(engine, "connect")
    def _connect(connection: Any, _: Any) -> None:
        connection.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = connection.cursor()
        # Several writers (two schedulers, the web process) wait for each other instead of failing.
        cursor.execute("PRAGMA busy_timeout = 10000")
        # Another process may be switching a new file to WAL right now; the mode persists.
        with contextlib.suppress(sqlite3.OperationalError):
            cursor.execute("PRAGMA journal_mode = WAL")
        # WAL with NORMAL survives a crashed process; only an OS crash may lose the last commit.
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


@dataclass(frozen=True)
class NewAlert:
    channel_id: str
    env: str
    kind: str
    snapshot_index: int
    text: str
    blocks: list[dict[str, Any]]
    held: bool = False
    thread_ts: str | None = None


@dataclass(frozen=True)
class Outgoing:
    """A claimed alert. `uncertain`: an earlier attempt claimed it (and vanished, or failed
    part-way), so some of it may be in Slack already; the sender checks before posting."""

    id: int
    channel_id: str
    env: str
    kind: str
    snapshot_index: int
    text: str
    blocks: list[dict[str, Any]]
    created_at: datetime
    claimed_at: datetime
    uncertain: bool
    thread_ts: str | None = None

    @property
    def key(self) -> str:
        return f"{self.channel_id}/{self.env}/{self.kind}/{self.snapshot_index}"


class Store:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    def _begin(self) -> Any:
        return self._sessions.begin()

    # ---- subscriptions ------------------------------------------------------------------

    def subscribe(
        self,
        channel: str,
        env: str,
        user: str,
        baseline: int,
        now: datetime,
        risky_only: bool = False,
    ) -> bool:
        """Subscribe (or resume a paused subscription). False when it already was active."""
        with self._begin() as session:
            existing = session.scalar(_subscription(channel, env))
            if existing is not None:
                was_paused = existing.paused_reason is not None
                existing.paused_reason = None
                existing.since_index = max(existing.since_index, baseline)
                existing.risky_only = risky_only
                fresh = was_paused
            else:
                session.add(
                    Subscription(
                        channel_id=channel,
                        env=env,
                        created_by=user,
                        created_at=now,
                        since_index=baseline,
                        risky_only=risky_only,
                    )
                )
                fresh = True
            watched = session.get(WatchedEnv, env)
            others = session.scalar(
                select(Subscription.id).where(
                    Subscription.env == env,
                    Subscription.channel_id != channel,
                    Subscription.paused_reason.is_(None),
                )
            )
            if watched is None:
                session.add(WatchedEnv(env=env, last_seen_index=baseline))
            elif others is None:
                # Nobody else watches it: start from now instead of replaying unwatched history.
                watched.last_seen_index = max(watched.last_seen_index, baseline)
        return fresh

    def unsubscribe(self, channel: str, env: str) -> bool:
        with self._begin() as session:
            found = session.scalar(_subscription(channel, env))
            if found is not None:
                session.delete(found)
            return found is not None

    def subscriptions(
        self, channel: str | None = None, env: str | None = None
    ) -> list[Subscription]:
        query = select(Subscription).order_by(Subscription.env, Subscription.channel_id)
        if channel is not None:
            query = query.where(Subscription.channel_id == channel)
        if env is not None:
            query = query.where(Subscription.env == env)
        with self._sessions() as session:
            return list(session.scalars(query))

    def pause_channel(self, channel: str, reason: str) -> list[Subscription]:
        """Pause every active subscription of a channel Slack says we cannot post to."""
        with self._begin() as session:
            paused = list(
                session.scalars(
                    select(Subscription).where(
                        Subscription.channel_id == channel, Subscription.paused_reason.is_(None)
                    )
                )
            )
            for subscription in paused:
                subscription.paused_reason = reason
            return paused

    def set_mute(self, channel: str, env: str, until: datetime | None) -> bool:
        with self._begin() as session:
            found = session.scalar(_subscription(channel, env))
            if found is not None:
                found.muted_until = until
            return found is not None

    # ---- per-environment state ----------------------------------------------------------

    @staticmethod
    def _watched(session: Any) -> list[str]:
        """Environments with an active subscription or an open incident thread."""
        subscribed = select(Subscription.env).where(Subscription.paused_reason.is_(None))
        names = set(session.scalars(subscribed))
        for envs in session.scalars(select(Incident.envs).where(Incident.closed_at.is_(None))):
            names.update(envs)
        return sorted(names)

    def env_state(self, env: str) -> WatchedEnv | None:
        with self._sessions() as session:
            return session.get(WatchedEnv, env)

    def lease_envs(
        self, owner: str, now: datetime, ttl: timedelta, limit: int = 1000
    ) -> list[WatchedEnv]:
        """Take up to `limit` watched environments no live process holds, least recently
        polled first, in one statement; return those this owner now holds."""
        free = or_(
            WatchedEnv.lease_owner.is_(None),
            WatchedEnv.lease_owner == owner,
            WatchedEnv.lease_until < now,
        )
        with self._begin() as session:
            watched = self._watched(session)
            candidates = (
                select(WatchedEnv.env)
                .where(WatchedEnv.env.in_(watched), free)
                .order_by(WatchedEnv.last_polled_at.is_not(None), WatchedEnv.last_polled_at)
                .limit(limit)
            )
            session.execute(
                update(WatchedEnv)
                .where(WatchedEnv.env.in_(list(session.scalars(candidates))), free)
                .values(lease_owner=owner, lease_until=now + ttl)
            )
            leased = select(WatchedEnv).where(
                WatchedEnv.lease_owner == owner, WatchedEnv.env.in_(watched)
            )
            return list(session.scalars(leased.order_by(WatchedEnv.env)))

    def release_envs(self, owner: str, polled: Iterable[str], now: datetime) -> None:
        """Give the leases back, noting which environments answered this cycle."""
        with self._begin() as session:
            answered = list(polled)
            if answered:
                session.execute(
                    update(WatchedEnv)
                    .where(WatchedEnv.env.in_(answered))
                    .values(last_polled_at=now)
                )
            session.execute(
                update(WatchedEnv)
                .where(WatchedEnv.lease_owner == owner)
                .values(lease_owner=None, lease_until=None)
            )

    def advance(self, env: str, index: int, alerts: Iterable[NewAlert], now: datetime) -> int:
        """Record alerts for snapshot `index` and move the high-water mark, atomically.

        An alert already in the outbox (another replica got there first) is skipped.
        """
        with self._begin() as session:
            watched = session.get(WatchedEnv, env, with_for_update=True)
            if watched is None or watched.last_seen_index >= index:
                return 0
            inserted = _insert_alerts(session, alerts, now)
            watched.last_seen_index = index
            watched.last_polled_at = now
        return inserted

    def mark_polled(self, env: str, now: datetime) -> WatchedEnv | None:
        """A successful poll: returns the state before failures were cleared."""
        with self._begin() as session:
            watched = session.get(WatchedEnv, env, with_for_update=True)
            if watched is None:
                return None
            before = WatchedEnv(
                env=watched.env,
                last_seen_index=watched.last_seen_index,
                failures=watched.failures,
                outages=watched.outages,
                outage_open=watched.outage_open,
            )
            watched.failures = 0
            watched.outage_open = False
            watched.last_polled_at = now
            return before

    def record_failure(self, env: str) -> WatchedEnv | None:
        with self._begin() as session:
            watched = session.get(WatchedEnv, env, with_for_update=True)
            if watched is not None:
                watched.failures += 1
            return watched

    def open_outage(self, env: str) -> int | None:
        """Mark an outage reported once; returns its number, or None if already open."""
        with self._begin() as session:
            watched = session.get(WatchedEnv, env, with_for_update=True)
            if watched is None or watched.outage_open:
                return None
            watched.outage_open = True
            watched.outages += 1
            return watched.outages

    def add_alerts(self, alerts: Iterable[NewAlert], now: datetime) -> int:
        with self._begin() as session:
            return _insert_alerts(session, alerts, now)

    def take_lease(self, name: str, owner: str, now: datetime, ttl: timedelta) -> bool:
        """Hold (or renew) the named lease unless another live process holds it."""
        with self._begin() as session:
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

    def release_lease(self, name: str, owner: str) -> None:
        with self._begin() as session:
            lease = session.get(Lease, name, with_for_update=True)
            if lease is not None and lease.owner == owner:
                session.delete(lease)

    # ---- the outbox ---------------------------------------------------------------------

    def claim(self, owner: str, now: datetime, ttl: timedelta, limit: int = 1000) -> list[Outgoing]:
        """Claim sendable alerts, oldest first; a claim is exclusive across processes."""
        sendable = or_(
            (Alert.state == "pending") & Alert.held.is_(False),
            (Alert.state == "sending") & (Alert.claimed_until < now),
        )
        with self._sessions() as session:
            candidates = list(
                session.scalars(select(Alert).where(sendable).order_by(Alert.id).limit(limit))
            )
        claimed: list[Outgoing] = []
        for alert in candidates:
            with self._begin() as session:
                won = session.execute(
                    update(Alert)
                    .where(Alert.id == alert.id, sendable)
                    .values(
                        state="sending",
                        claimed_by=owner,
                        claimed_until=now + ttl,
                        attempts=Alert.attempts + 1,
                    )
                )
            if won.rowcount == 1:
                claimed.append(
                    Outgoing(
                        id=alert.id,
                        channel_id=alert.channel_id,
                        env=alert.env,
                        kind=alert.kind,
                        snapshot_index=alert.snapshot_index,
                        text=alert.text,
                        blocks=alert.blocks,
                        created_at=alert.created_at,
                        claimed_at=now,
                        # Claimed before: part of it may be in Slack already.
                        uncertain=alert.state == "sending" or alert.attempts > 0,
                        thread_ts=alert.thread_ts,
                    )
                )
        return claimed

    def mark_sent(self, alert_id: int, owner: str, slack_ts: str, now: datetime) -> None:
        with self._begin() as session:
            session.execute(
                update(Alert)
                .where(Alert.id == alert_id, Alert.claimed_by == owner)
                .values(state="sent", sent_at=now, slack_ts=slack_ts, claimed_until=None)
            )

    def unclaim(self, alert_id: int, owner: str) -> None:
        """Sending failed for sure (Slack said no): try again next cycle."""
        with self._begin() as session:
            session.execute(
                update(Alert)
                .where(Alert.id == alert_id, Alert.claimed_by == owner)
                .values(state="pending", claimed_by=None, claimed_until=None)
            )

    def drop_pending(self, channel: str) -> int:
        """A channel we cannot post to: its unsent alerts will never go."""
        with self._begin() as session:
            dropped = session.execute(
                update(Alert)
                .where(Alert.channel_id == channel, Alert.state.in_(("pending", "sending")))
                .values(state="dropped", claimed_by=None, claimed_until=None)
            )
            return dropped.rowcount

    def release_held(self, channel: str, env: str) -> list[Alert]:
        """The mute ended: hand back the held alerts (marked summarised) to be summarised."""
        with self._begin() as session:
            held = list(
                session.scalars(
                    select(Alert)
                    .where(
                        Alert.channel_id == channel,
                        Alert.env == env,
                        Alert.held.is_(True),
                        Alert.state == "pending",
                    )
                    .order_by(Alert.snapshot_index)
                )
            )
            for alert in held:
                alert.state = "summarised"
            return held

    # ---- incidents ----------------------------------------------------------------------

    def open_incident(self, incident: Incident) -> Incident:
        """Store the thread, and make sure the watcher follows its environments from here."""
        with self._begin() as session:
            session.add(incident)
            for env, index in incident.shown_indexes.items():
                if session.get(WatchedEnv, env) is None:
                    session.add(WatchedEnv(env=env, last_seen_index=index))
        return incident

    def incident(self, channel: str, thread_ts: str) -> Incident | None:
        query = select(Incident).where(
            Incident.channel_id == channel, Incident.thread_ts == thread_ts
        )
        with self._sessions() as session:
            return session.scalar(query)

    def open_incidents(self, channel: str | None = None) -> list[Incident]:
        query = select(Incident).where(Incident.closed_at.is_(None)).order_by(Incident.id)
        if channel is not None:
            query = query.where(Incident.channel_id == channel)
        with self._sessions() as session:
            return list(session.scalars(query))

    def close_incident(self, incident_id: int, now: datetime) -> Incident | None:
        """Close it once; None when it was closed already (a double click, a second replica)."""
        with self._begin() as session:
            closed = session.execute(
                update(Incident)
                .where(Incident.id == incident_id, Incident.closed_at.is_(None))
                .values(closed_at=now)
            )
            return session.get(Incident, incident_id) if closed.rowcount == 1 else None

    def alerts(self, channel: str | None = None) -> list[Alert]:
        query = select(Alert).order_by(Alert.id)
        if channel is not None:
            query = query.where(Alert.channel_id == channel)
        with self._sessions() as session:
            return list(session.scalars(query))


def _insert_alerts(session: Any, alerts: Iterable[NewAlert], now: datetime) -> int:
    """Add alerts to the outbox, skipping any already there (the unique key says so)."""
    inserted = 0
    for alert in alerts:
        try:
            with session.begin_nested():
                session.add(Alert(**vars(alert), created_at=now))
            inserted += 1
        except IntegrityError:
            pass
    return inserted


def _subscription(channel: str, env: str) -> Any:
    return select(Subscription).where(Subscription.channel_id == channel, Subscription.env == env)

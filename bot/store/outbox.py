"""The outbox: alerts written in the same transaction that moves an environment's
high-water mark, claimed by one sender, marked sent only after Slack said ok."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from bot.store.database import Database
from bot.store.models import Alert, WatchedEnv
from bot.store.records import HeldAlert, record


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
    # What to ask the git host (commit_url, old, new, label per change): the row waits.
    bisect: list[dict[str, str]] | None = None

    @property
    def state(self) -> str:
        return "waiting" if self.bisect else "pending"


@dataclass(frozen=True)
class Waiting:
    """A bisect row: the commits behind a change, to be read from the git host and posted
    under `parent_ts` (the change's alert) or in the incident thread `thread_ts`."""

    id: int
    channel_id: str
    env: str
    kind: str
    snapshot_index: int
    thread_ts: str | None
    bisect: list[dict[str, str]]
    attempts: int
    parent_ts: str | None  # the alert's ts once sent; None while it is not
    parent_gone: bool  # the alert will never be posted (parked, dropped, summarised)


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
    attempts: int = 1  # this claim included
    thread_ts: str | None = None

    @property
    def key(self) -> str:
        return f"{self.channel_id}/{self.env}/{self.kind}/{self.snapshot_index}"


class Outbox:
    def __init__(self, db: Database) -> None:
        self.db = db

    def advance(self, env: str, index: int, alerts: Iterable[NewAlert], now: datetime) -> int:
        """Record alerts for snapshot `index` and move the high-water mark, atomically.

        An alert already in the outbox (another replica got there first) is skipped.
        """
        with self.db.begin() as session:
            watched = session.get(WatchedEnv, env, with_for_update=True)
            if watched is None or watched.last_seen_index >= index:
                return 0
            inserted = insert_alerts(session, alerts, now)
            watched.last_seen_index = index
            watched.last_polled_at = now
        return inserted

    def add(self, alerts: Iterable[NewAlert], now: datetime) -> int:
        with self.db.begin() as session:
            return insert_alerts(session, alerts, now)

    def claim(
        self,
        owner: str,
        now: datetime,
        ttl: timedelta,
        limit: int = 1000,
        skip: Collection[str] = (),
    ) -> list[Outgoing]:
        """Claim sendable alerts, oldest first, except to the channels in `skip`; a claim is
        exclusive across processes."""
        sendable = or_(
            (Alert.state == "pending") & Alert.held.is_(False),
            (Alert.state == "sending") & (Alert.claimed_until < now),
        )
        if skip:
            sendable &= Alert.channel_id.not_in(skip)
        with self.db.begin() as session:
            # One transaction: locked as they are read (PostgreSQL; on SQLite the transaction
            # holds the write lock), so two senders never claim the same alert.
            candidates = list(
                session.scalars(
                    select(Alert)
                    .where(sendable)
                    .order_by(Alert.id)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            )
            claimed = [
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
                    attempts=alert.attempts + 1,
                    thread_ts=alert.thread_ts,
                )
                for alert in candidates
            ]
            if claimed:
                session.execute(
                    update(Alert)
                    .where(Alert.id.in_([item.id for item in claimed]))
                    .values(
                        state="sending",
                        claimed_by=owner,
                        claimed_until=now + ttl,
                        attempts=Alert.attempts + 1,
                    )
                    .execution_options(synchronize_session=False)
                )
        return claimed

    def mark_sent(self, alert_id: int, owner: str, slack_ts: str, now: datetime) -> None:
        self._settle(alert_id, owner, state="sent", sent_at=now, slack_ts=slack_ts)

    def unclaim(self, alert_id: int, owner: str) -> None:
        """Sending failed for sure (Slack said no): try again next cycle."""
        self._settle(alert_id, owner, state="pending", claimed_by=None)

    def park(self, alert_id: int, owner: str) -> None:
        """An alert Slack will not take even as plain text: set aside, so later ones flow."""
        self._settle(alert_id, owner, state="parked", claimed_by=None)

    def _settle(self, alert_id: int, owner: str, **values: Any) -> None:
        """End this owner's claim on an alert (a claim another sender took over is left)."""
        with self.db.begin() as session:
            session.execute(
                update(Alert)
                .where(Alert.id == alert_id, Alert.claimed_by == owner)
                .values(claimed_until=None, **values)
            )

    def backlog(self) -> tuple[int, datetime | None]:
        """How many alerts wait to be sent, and since when the oldest has waited."""
        unsent = Alert.state.in_(("pending", "sending")) & Alert.held.is_(False)
        with self.db.session() as session:
            count = session.scalar(select(func.count()).select_from(Alert).where(unsent))
            oldest = session.scalar(select(func.min(Alert.created_at)).where(unsent))
            return int(count or 0), oldest

    def waiting(self, limit: int = 200) -> list[Waiting]:
        """Bisect rows still waiting for the git host, each with its alert's fate."""
        with self.db.session() as session:
            rows = list(
                session.scalars(
                    select(Alert).where(Alert.state == "waiting").order_by(Alert.id).limit(limit)
                )
            )
            found = []
            for row in rows:
                parent = session.scalar(
                    select(Alert).where(
                        Alert.channel_id == row.channel_id,
                        Alert.env == row.env,
                        Alert.kind
                        == ("change" if row.kind == "bisect" else "thread" + row.kind[6:]),
                        Alert.snapshot_index == row.snapshot_index,
                    )
                )
                sent = parent is not None and parent.state == "sent"
                gone = parent is None or parent.state in ("parked", "dropped", "summarised")
                found.append(
                    Waiting(
                        row.id,
                        row.channel_id,
                        row.env,
                        row.kind,
                        row.snapshot_index,
                        row.thread_ts,
                        list(row.bisect or []),
                        row.attempts,
                        parent.slack_ts if sent and parent else None,
                        gone,
                    )
                )
            return found

    def fill(self, alert_id: int, text: str, blocks: list[dict[str, Any]], thread_ts: str) -> None:
        """The commits are read: the row becomes an ordinary reply for the sender."""
        with self.db.begin() as session:
            session.execute(
                update(Alert)
                .where(Alert.id == alert_id, Alert.state == "waiting")
                .values(state="pending", text=text, blocks=blocks, thread_ts=thread_ts)
            )

    def wait_again(self, alert_id: int) -> None:
        with self.db.begin() as session:
            session.execute(
                update(Alert)
                .where(Alert.id == alert_id, Alert.state == "waiting")
                .values(attempts=Alert.attempts + 1)
            )

    def give_up(self, alert_id: int) -> None:
        """Its alert will never be posted, so neither will the commits under it."""
        with self.db.begin() as session:
            session.execute(
                update(Alert)
                .where(Alert.id == alert_id, Alert.state == "waiting")
                .values(state="dropped")
            )

    def drop_pending(self, channel: str) -> int:
        """A channel we cannot post to: its unsent alerts will never go."""
        with self.db.begin() as session:
            dropped = session.execute(
                update(Alert)
                .where(
                    Alert.channel_id == channel,
                    Alert.state.in_(("pending", "sending", "waiting")),
                )
                .values(state="dropped", claimed_by=None, claimed_until=None)
            )
            return dropped.rowcount

    def release_held(self, channel: str, env: str) -> list[HeldAlert]:
        """The mute ended: hand back the held alerts (marked summarised) to be summarised."""
        with self.db.begin() as session:
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
            return [record(HeldAlert, alert) for alert in held]


def insert_alerts(session: Any, alerts: Iterable[NewAlert], now: datetime) -> int:
    """Add alerts to the outbox, skipping any already there (the unique key says so)."""
    inserted = 0
    for alert in alerts:
        try:
            with session.begin_nested():
                session.add(Alert(**vars(alert), state=alert.state, created_at=now))
            inserted += 1
        except IntegrityError:
            pass
    return inserted

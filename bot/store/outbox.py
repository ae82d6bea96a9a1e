"""The outbox: alerts written in the same transaction that moves an environment's
high-water mark, claimed by one sender, marked sent only after Slack said ok."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from bot.domain.commits_window import ReplacedBuild
from bot.store.database import Database, rows_affected
from bot.store.door import Batched, off_loop
from bot.store.models import Alert, AlertKind, AlertState, WatchedEnv
from bot.store.records import HeldAlert, IncidentRecord, SubscriptionRecord, record
from bot.store.troubles import record_troubles, trouble_alert
from bot.store.watchers import UNSENT, who_hears


@dataclass(frozen=True)
class NewAlert:
    channel_id: str
    env: str
    kind: AlertKind
    snapshot_index: int
    text: str
    blocks: list[dict[str, Any]]
    held: bool = False
    thread_ts: str | None = None
    incident_id: int | None = None  # a reply in this incident's thread
    # A change's replaced builds: the commits between each old and new build follow the
    # alert as a reply (a row waiting for the git host), written with it.
    commits: tuple[ReplacedBuild, ...] = ()
    # A change alert: the builds it tells of as trouble, for the follow-ups that resolve them.
    troubles: tuple[str, ...] = ()
    # A follow-up: the builds it resolves, and its (text, blocks) as a reply under the alert
    # that told of them; where that alert is not known it goes as its own message.
    follows: tuple[str, ...] = ()
    reply: tuple[str, list[dict[str, Any]]] | None = None


# Makes a snapshot's alerts from who hears of the environment: its subscriptions and the
# open incident threads following it.
AlertsFor = Callable[[list[SubscriptionRecord], list[IncidentRecord]], Iterable[NewAlert]]


@dataclass(frozen=True)
class Waiting:
    """A commits row: the commits behind a change, to be read from the git host and posted
    under `parent_ts` (the change's alert) or in the incident thread `thread_ts`."""

    id: int
    channel_id: str
    env: str
    snapshot_index: int
    incident_id: int | None
    thread_ts: str | None
    commits: tuple[ReplacedBuild, ...]
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
    kind: AlertKind
    snapshot_index: int
    text: str
    blocks: list[dict[str, Any]]
    created_at: datetime
    claimed_at: datetime
    uncertain: bool
    attempts: int = 1  # this claim included
    thread_ts: str | None = None
    incident_id: int | None = None

    @property
    def key(self) -> str:
        """Marks what is posted, so a retry finds the parts already in Slack."""
        kind = self.kind.value
        if self.incident_id is not None:
            kind += f"/{self.incident_id}"
        return f"{self.channel_id}/{self.env}/{kind}/{self.snapshot_index}"

    @property
    def key_before_0007(self) -> str | None:
        """The key an older replica posted this alert under, where it differs: before
        migration 0007 the kind held the incident ('thread/7', 'bisect', 'bisect/7')."""
        if self.kind is AlertKind.COMMITS:
            kind = "bisect" if self.incident_id is None else f"bisect/{self.incident_id}"
        elif self.kind is AlertKind.CHANGE and self.incident_id is not None:
            kind = f"thread/{self.incident_id}"
        else:
            return None
        return f"{self.channel_id}/{self.env}/{kind}/{self.snapshot_index}"


# How long a busy cycle's marks and alerts wait for company before they are written (a
# group commit's linger): with 1,000 environments changing, it cuts the transactions by four
# and a third of the bot's CPU (docs/performance.md). An alert waits at most this much more.
GROUP_COMMIT_LINGER = 0.02

# An alert in these states will never be posted, nor the commits under it.
GONE = (AlertState.PARKED, AlertState.DROPPED, AlertState.SUMMARISED)


@dataclass(frozen=True)
class _Advance:
    env: str
    index: int
    alerts_for: AlertsFor | None
    now: datetime
    compliant: bool | None


@dataclass(frozen=True)
class _Sent:
    alert_id: int
    owner: str
    slack_ts: str
    now: datetime


class Outbox:
    def __init__(self, db: Database, workspace: str) -> None:
        self.db = db
        self.workspace = workspace
        self._mine = Alert.workspace == workspace
        self._advances = Batched(self._advance_all, GROUP_COMMIT_LINGER)
        self._marks = Batched(self._mark_all, GROUP_COMMIT_LINGER)

    async def advance(
        self,
        env: str,
        index: int,
        alerts_for: AlertsFor | None,
        now: datetime,
        compliant: bool | None = None,
    ) -> int:
        """Record the alerts of snapshot `index` and move the high-water mark, atomically,
        with the compliance Kosli gave that snapshot.

        `alerts_for` (None: the snapshot changed nothing) makes the alerts from the
        environment's subscriptions and open incident threads as this transaction reads them,
        so a mute or a thread committed before it counts. An alert already in the outbox
        (another replica got there first) is skipped. Environments polled side by side
        advance together, in one transaction (`_advance_all`).
        """
        return await self._advances(_Advance(env, index, alerts_for, now, compliant))

    def _advance_all(self, batch: list[_Advance]) -> list[int | Exception]:
        if len(batch) > 1:
            try:
                with self.db.begin() as session:
                    return list(_advance_in(session, self.workspace, batch))
            except Exception:  # one of them failed: each alone, below
                pass
        # Each alone, so only the environment that failed hears of it.
        results: list[int | Exception] = []
        for item in batch:
            try:
                with self.db.begin() as session:
                    results.extend(_advance_in(session, self.workspace, [item]))
            except Exception as error:
                results.append(error)
        return results

    @off_loop
    def reevaluate(
        self, env: str, index: int, compliant: bool, alerts_for: AlertsFor | None, now: datetime
    ) -> int:
        """Kosli now gives snapshot `index`, the last seen, another compliance: record it and
        its alerts, atomically. Only the first to see the change (of any replica) alerts;
        `alerts_for` None records it silently (the compliance was never read before)."""
        with self.db.begin() as session:
            changed = session.execute(
                update(WatchedEnv)
                .where(
                    WatchedEnv.workspace == self.workspace,
                    WatchedEnv.env == env,
                    WatchedEnv.last_seen_index == index,
                    WatchedEnv.last_seen_compliant.is_distinct_from(compliant),
                )
                .values(last_seen_compliant=compliant)
            )
            if rows_affected(changed) == 0 or alerts_for is None:
                return 0
            subscriptions, still_open = who_hears(session, self.workspace, [env])
            alerts = _routed(env, alerts_for, subscriptions, still_open)
            return insert_alerts(session, self.workspace, alerts, now)

    @off_loop
    def add(self, alerts: Iterable[NewAlert], now: datetime) -> int:
        with self.db.begin() as session:
            return insert_alerts(session, self.workspace, alerts, now)

    @off_loop
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
        query = _CLAIMABLE_EXCEPT if skip else _CLAIMABLE
        values = {
            "workspace": self.workspace,
            "now": now,
            "owner": owner,
            "limit": limit,
            "skip": list(skip),
        }
        with self.db.begin() as session:
            # One transaction: locked as they are read (PostgreSQL; on SQLite the transaction
            # holds the write lock), so two senders never claim the same alert. Prebuilt Core
            # statements: a busy cycle claims many times, and most claims find few alerts.
            connection = session.connection()
            claimed = [
                Outgoing(
                    id=row.id,
                    channel_id=row.channel_id,
                    env=row.env,
                    kind=row.kind,
                    snapshot_index=row.snapshot_index,
                    text=row.text,
                    blocks=row.blocks,
                    created_at=row.created_at,
                    claimed_at=now,
                    # Claimed before: part of it may be in Slack already.
                    uncertain=row.state == AlertState.SENDING or row.attempts > 0,
                    attempts=row.attempts + 1,
                    thread_ts=row.thread_ts,
                    incident_id=row.incident_id,
                )
                for row in connection.execute(query, values)
            ]
            if claimed:
                connection.execute(
                    _CLAIM,
                    {
                        "ids": [item.id for item in claimed],
                        "owner": owner,
                        "until": now + ttl,
                        "in_workspace": self.workspace,
                    },
                )
        return claimed

    async def mark_sent(self, alert_id: int, owner: str, slack_ts: str, now: datetime) -> None:
        """Alerts sent side by side are marked together, in one transaction. A crash before
        the mark leaves the alert claimed: its next sender looks in Slack before posting."""
        await self._marks(_Sent(alert_id, owner, slack_ts, now))

    def _mark_all(self, batch: list[_Sent]) -> list[None | Exception]:
        with self.db.begin() as session:
            session.connection().execute(
                _MARK_SENT,
                [
                    {
                        "alert": s.alert_id,
                        "owner": s.owner,
                        "ts": s.slack_ts,
                        "at": s.now,
                        "in_workspace": self.workspace,
                    }
                    for s in sorted(batch, key=lambda s: s.alert_id)  # rows locked in one order
                ],
            )
        return [None] * len(batch)

    @off_loop
    def take_back(self, owner: str) -> None:
        """Alerts this owner claimed and never settled (a pass that failed part-way: the
        database was gone as it put them back) are pending again, and known uncertain. Only
        between passes: the owner's heartbeat would keep such a claim alive for good."""
        with self.db.begin() as session:
            session.execute(
                update(Alert)
                .where(self._mine, Alert.claimed_by == owner, Alert.state == AlertState.SENDING)
                .values(state=AlertState.PENDING, claimed_by=None, claimed_until=None)
            )

    @off_loop
    def unclaim(self, alert_id: int, owner: str) -> None:
        """Sending failed for sure (Slack said no): try again next cycle."""
        self._settle(alert_id, owner, state=AlertState.PENDING, claimed_by=None)

    @off_loop
    def park(self, alert_id: int, owner: str) -> None:
        """An alert Slack will not take even as plain text: set aside, so later ones flow."""
        self._settle(alert_id, owner, state=AlertState.PARKED, claimed_by=None)

    def _settle(self, alert_id: int, owner: str, **values: Any) -> None:
        """End this owner's claim on an alert (a claim another sender took over is left)."""
        with self.db.begin() as session:
            session.execute(
                update(Alert)
                .where(self._mine, Alert.id == alert_id, Alert.claimed_by == owner)
                .values(claimed_until=None, **values)
            )

    @off_loop
    def backlog(self) -> tuple[int, datetime | None]:
        """How many alerts wait to be sent, and since when the oldest has waited."""
        sendable = Alert.state.in_((AlertState.PENDING, AlertState.SENDING))
        unsent = self._mine & sendable & Alert.held.is_(False)
        with self.db.session() as session:
            count = session.scalar(select(func.count()).select_from(Alert).where(unsent))
            oldest = session.scalar(select(func.min(Alert.created_at)).where(unsent))
            return int(count or 0), oldest

    @off_loop
    def waiting(self, limit: int = 200) -> list[Waiting]:
        """Commits rows still waiting for the git host, each with its alert's fate."""
        parent = aliased(Alert)
        query = (
            select(Alert, parent)
            .outerjoin(parent, Alert.parent_id == parent.id)
            .where(self._mine, Alert.state == AlertState.WAITING)
            .order_by(Alert.id)
            .limit(limit)
        )
        with self.db.session() as session:
            return [
                Waiting(
                    row.id,
                    row.channel_id,
                    row.env,
                    row.snapshot_index,
                    row.incident_id,
                    row.thread_ts,
                    row.commits or (),
                    row.attempts,
                    alert.slack_ts if alert and alert.state == AlertState.SENT else None,
                    alert is None or alert.state in GONE,
                )
                for row, alert in session.execute(query)
            ]

    @off_loop
    def fill(self, alert_id: int, text: str, blocks: list[dict[str, Any]], thread_ts: str) -> None:
        """The commits are read: the row becomes an ordinary reply for the sender."""
        with self.db.begin() as session:
            session.execute(
                update(Alert)
                .where(self._mine, Alert.id == alert_id, Alert.state == AlertState.WAITING)
                .values(state=AlertState.PENDING, text=text, blocks=blocks, thread_ts=thread_ts)
            )

    @off_loop
    def wait_again(self, alert_id: int) -> None:
        with self.db.begin() as session:
            session.execute(
                update(Alert)
                .where(self._mine, Alert.id == alert_id, Alert.state == AlertState.WAITING)
                .values(attempts=Alert.attempts + 1)
            )

    @off_loop
    def give_up(self, alert_id: int) -> None:
        """Its alert will never be posted, so neither will the commits under it."""
        with self.db.begin() as session:
            session.execute(
                update(Alert)
                .where(self._mine, Alert.id == alert_id, Alert.state == AlertState.WAITING)
                .values(state=AlertState.DROPPED)
            )

    @off_loop
    def drop_pending(self, channel: str) -> int:
        """A channel we cannot post to: its unsent alerts will never go."""
        with self.db.begin() as session:
            dropped = session.execute(
                update(Alert)
                .where(self._mine, Alert.channel_id == channel, Alert.state.in_(UNSENT))
                .values(state=AlertState.DROPPED, claimed_by=None, claimed_until=None)
            )
            return rows_affected(dropped)

    @off_loop
    def release_held(self, channel: str, env: str) -> list[HeldAlert]:
        """The mute ended: hand back the held alerts (marked summarised) to be summarised."""
        with self.db.begin() as session:
            held = list(
                session.scalars(
                    select(Alert)
                    .where(
                        self._mine,
                        Alert.channel_id == channel,
                        Alert.env == env,
                        Alert.held.is_(True),
                        Alert.state == AlertState.PENDING,
                    )
                    .order_by(Alert.snapshot_index)
                )
            )
            for alert in held:
                alert.state = AlertState.SUMMARISED
            return [record(HeldAlert, alert) for alert in held]


def _advance_in(session: Session, workspace: str, batch: list[_Advance]) -> Iterator[int]:
    """How many alerts each snapshot added, in the batch's order."""
    # The UPDATEs take the rows' locks, as a SELECT ... FOR UPDATE would: a replica racing
    # us waits, then finds the mark already moved and adds nothing. Taken in the
    # environments' order, so two replicas' batches never wait for each other in a circle.
    connection = session.connection()
    moved = set()
    for item in sorted(batch, key=lambda item: item.env):
        values = {
            "mark_workspace": workspace,
            "mark_env": item.env,
            "mark_index": item.index,
            "polled_at": item.now,
            "compliant": item.compliant,
        }
        if rows_affected(connection.execute(_MOVE_MARK, values)):
            moved.add(item)
    changed = {item for item in moved if item.alerts_for is not None}
    still_open: list[IncidentRecord] = []
    subscriptions: dict[str, list[SubscriptionRecord]] = {}
    if changed:  # who hears of them: read once a batch
        subscriptions, still_open = who_hears(session, workspace, {item.env for item in changed})
    for item in batch:
        if item not in changed or item.alerts_for is None:
            yield 0
            continue
        alerts = _routed(item.env, item.alerts_for, subscriptions, still_open)
        yield insert_alerts(session, workspace, alerts, item.now)


def _routed(
    env: str,
    alerts_for: AlertsFor,
    subscriptions: dict[str, list[SubscriptionRecord]],
    still_open: list[IncidentRecord],
) -> Iterable[NewAlert]:
    """The alerts of one environment's change, for its subscribers and the threads on it."""
    return alerts_for(subscriptions[env], [i for i in still_open if env in i.envs])


def insert_alerts(
    session: Session, workspace: str, alerts: Iterable[NewAlert], now: datetime
) -> int:
    """Add the workspace's alerts to the outbox, skipping any already there (the unique key
    says so), then the commits rows that follow the changes just added."""
    alerts = list(alerts)
    ids = [_insert(session, _row(session, workspace, alert, now)) for alert in alerts]
    for alert, alert_id in zip(alerts, ids, strict=True):
        if alert_id is not None and alert.troubles:
            record_troubles(session, alert_id, alert.troubles)
    followers = [
        _insert(session, _commits_row(workspace, alert, parent_id, now))
        for alert, parent_id in zip(alerts, ids, strict=True)
        if parent_id is not None and alert.commits
    ]
    return sum(i is not None for i in ids + followers)


def _row(session: Session, workspace: str, alert: NewAlert, now: datetime) -> dict[str, Any]:
    row = _plain_row(workspace, alert, now)
    if alert.follows and alert.reply and not alert.held and alert.thread_ts is None:
        parent = trouble_alert(session, workspace, alert.channel_id, alert.env, alert.follows)
        if parent is not None:
            text, blocks = alert.reply
            row |= {"text": text, "blocks": blocks, "parent_id": parent[0], "thread_ts": parent[1]}
    return row


def _plain_row(workspace: str, alert: NewAlert, now: datetime) -> dict[str, Any]:
    return {
        "workspace": workspace,
        "channel_id": alert.channel_id,
        "env": alert.env,
        "kind": alert.kind,
        "snapshot_index": alert.snapshot_index,
        "text": alert.text,
        "blocks": alert.blocks,
        "held": alert.held,
        "thread_ts": alert.thread_ts,
        "incident_id": alert.incident_id,
        "state": AlertState.PENDING,
        "created_at": now,
    }


def _commits_row(workspace: str, parent: NewAlert, parent_id: int, now: datetime) -> dict[str, Any]:
    """Waits (no text yet) until the git host answers and its alert is posted."""
    return {
        "workspace": workspace,
        "channel_id": parent.channel_id,
        "env": parent.env,
        "kind": AlertKind.COMMITS,
        "snapshot_index": parent.snapshot_index,
        "text": "",
        "blocks": [],
        "thread_ts": parent.thread_ts,
        "incident_id": parent.incident_id,
        "parent_id": parent_id,
        "commits": parent.commits,
        "state": AlertState.WAITING,
        "created_at": now,
    }


_TABLE = cast(Table, Alert.__table__)  # declared as a FromClause, which update() refuses
_ALERTS = _TABLE.c
_MARK_SENT = (
    update(_TABLE)
    .where(
        _ALERTS.workspace == bindparam("in_workspace"),
        _ALERTS.id == bindparam("alert"),
        _ALERTS.claimed_by == bindparam("owner"),
    )
    .values(
        state=AlertState.SENT,
        sent_at=bindparam("at"),
        slack_ts=bindparam("ts"),
        claimed_until=None,
    )
)

_WATCHED = cast(Table, WatchedEnv.__table__)
_MOVE_MARK = (
    update(_WATCHED)
    .where(
        _WATCHED.c.workspace == bindparam("mark_workspace"),
        _WATCHED.c.env == bindparam("mark_env"),
        _WATCHED.c.last_seen_index < bindparam("mark_index"),
    )
    .values(
        last_seen_index=bindparam("mark_index"),
        last_seen_compliant=bindparam("compliant"),
        last_polled_at=bindparam("polled_at"),
    )
)

# Channels with an alert claimed by another sender, its claim still running (a sender that
# died holding it, until the claim expires): their later alerts must not go first.
_HELD = _TABLE.alias("held")
_HELD_ELSEWHERE = select(_HELD.c.channel_id).where(
    _HELD.c.workspace == bindparam("workspace"),
    _HELD.c.state == AlertState.SENDING,
    _HELD.c.claimed_until >= bindparam("now"),
    _HELD.c.claimed_by != bindparam("owner"),
)
_CLAIMABLE = (
    select(
        *(
            _ALERTS[name]
            for name in (
                "id",
                "channel_id",
                "env",
                "kind",
                "snapshot_index",
                "text",
                "blocks",
                "created_at",
                "state",
                "attempts",
                "thread_ts",
                "incident_id",
            )
        )
    )  # fmt: skip
    .where(
        _ALERTS.workspace == bindparam("workspace"),
        or_(
            (_ALERTS.state == AlertState.PENDING) & _ALERTS.held.is_(False),
            (_ALERTS.state == AlertState.SENDING) & (_ALERTS.claimed_until < bindparam("now")),
        ),
        _ALERTS.channel_id.not_in(_HELD_ELSEWHERE),
    )
    .order_by(_ALERTS.id)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)
_CLAIMABLE_EXCEPT = _CLAIMABLE.where(_ALERTS.channel_id.not_in(bindparam("skip", expanding=True)))
_CLAIM = (
    update(_TABLE)
    .where(
        _ALERTS.workspace == bindparam("in_workspace"),
        _ALERTS.id.in_(bindparam("ids", expanding=True)),
    )
    .values(
        state=AlertState.SENDING,
        claimed_by=bindparam("owner"),
        claimed_until=bindparam("until"),
        attempts=_ALERTS.attempts + 1,
    )
)

# Built once (statements are costly to build): the database skips a duplicate itself, with
# no savepoint, and both dialects say so as ON CONFLICT DO NOTHING.
_INSERTS = {
    module.dialect.name: module.insert(Alert.__table__)
    .on_conflict_do_nothing()
    .returning(Alert.__table__.c.id)
    for module in (postgresql, sqlite)
}


def _insert(session: Session, values: dict[str, Any]) -> int | None:
    """The new row's id, or None when the same alert is there already."""
    connection = session.connection()
    found: int | None = connection.execute(_INSERTS[connection.dialect.name], values).scalar()
    return found

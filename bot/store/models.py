"""The watcher's tables: subscriptions, per-environment high-water marks, and the alert outbox."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import (
    JSON,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bot.domain.commits_window import ReplacedBuild, WindowEnds


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no timezone of its own)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class AlertKind(StrEnum):
    CHANGE = "change"  # a snapshot's changes (index = the snapshot)
    COMMITS = "commits"  # the commits between the builds a change replaced, under its alert
    OUTAGE = "outage"  # index = the outage's number
    RECOVERY = "recovery"  # index = the number of the outage it ends
    MUTE_SUMMARY = "mute_summary"  # index = the newest snapshot it summarises
    # Kosli answers a snapshot already seen with another compliance (index = that snapshot).
    NOW_NON_COMPLIANT = "now_noncompliant"
    NOW_COMPLIANT = "now_compliant"
    # A snapshot's provenance arrivals and returns to compliance: a reply under the alert
    # that told of the trouble they resolve where that alert is known, else its own message.
    FOLLOW_UP = "follow_up"


class AlertState(StrEnum):
    """pending -> sending -> sent; held (muted) alerts become summarised when the mute ends;
    commits rows start waiting (for the git host) and become pending once filled."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    WAITING = "waiting"
    SUMMARISED = "summarised"
    PARKED = "parked"  # Slack refused it even as plain text
    DROPPED = "dropped"  # it will never go (the channel is gone, or its alert never went)


def _enum_column(kind: type[StrEnum], name: str) -> Enum:
    """Stored as its value in a VARCHAR with a CHECK constraint: the database refuses any
    other word, on SQLite and PostgreSQL alike."""
    return Enum(
        kind,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda members: [member.value for member in members],
    )


class ReplacedBuilds(TypeDecorator[tuple[ReplacedBuild, ...]]):
    """A commits row's replaced builds, as JSON ({commit_url, old, new, label} each)."""

    impl = JSON
    cache_ok = True

    def process_bind_param(
        self, value: tuple[ReplacedBuild, ...] | None, dialect: Dialect
    ) -> list[dict[str, str]] | None:
        if value is None:
            return None
        return [
            {"commit_url": b.ends.commit_url, "old": b.ends.old, "new": b.ends.new,
             "label": b.label}
            for b in value
        ]  # fmt: skip

    def process_result_value(
        self, value: Any, dialect: Dialect
    ) -> tuple[ReplacedBuild, ...] | None:
        if value is None:
            return None
        return tuple(
            ReplacedBuild(b["label"], WindowEnds(b["commit_url"], b["old"], b["new"]))
            for b in value
        )


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime}


def _workspace(primary_key: bool = False) -> Mapped[str]:
    """Whose row it is: the Slack workspace (team or Enterprise Grid org) the row belongs to;
    "" in single-workspace mode. Every query of a scoped store filters by it."""
    return mapped_column(String(64), primary_key=primary_key, server_default=text("''"))


class Subscription(Base):
    """A channel watching an environment; alerts go only for snapshots after `since_index`."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        UniqueConstraint("workspace", "channel_id", "env", name="uq_subscription"),
        # Every changed environment looks up its watchers (the unique key leads with the
        # channel, so it does not serve this).
        Index("ix_subscriptions_workspace_env", "workspace", "env"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace: Mapped[str] = _workspace()
    channel_id: Mapped[str] = mapped_column(String(64))
    env: Mapped[str] = mapped_column(String(255))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    since_index: Mapped[int]
    risky_only: Mapped[bool] = mapped_column(default=False)
    paused_reason: Mapped[str | None] = mapped_column(String(64), default=None)
    muted_until: Mapped[datetime | None] = mapped_column(default=None)


class WatchedEnv(Base):
    """Per environment: the last snapshot turned into alerts, failures, and who polls it now."""

    __tablename__ = "watched_envs"

    # Two workspaces may watch environments of the same name, in their own Kosli orgs.
    workspace: Mapped[str] = _workspace(primary_key=True)
    env: Mapped[str] = mapped_column(String(255), primary_key=True)
    last_seen_index: Mapped[int]
    # Kosli's compliance of that snapshot when last read (None: not read yet).
    last_seen_compliant: Mapped[bool | None] = mapped_column(default=None)
    last_polled_at: Mapped[datetime | None] = mapped_column(default=None)
    failures: Mapped[int] = mapped_column(default=0)
    outages: Mapped[int] = mapped_column(default=0)
    outage_open: Mapped[bool] = mapped_column(default=False)
    lease_owner: Mapped[str | None] = mapped_column(String(64), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)


class Alert(Base):
    """The outbox: written before sending, marked sent only after Slack says ok.

    A unique key makes every alert happen once, whatever restarts or replicas do: one per
    workspace, channel, environment, kind, incident (none for the channel itself) and index.
    """

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace: Mapped[str] = _workspace()
    channel_id: Mapped[str] = mapped_column(String(64))
    env: Mapped[str] = mapped_column(String(255))
    kind: Mapped[AlertKind] = mapped_column(_enum_column(AlertKind, "alert_kind"))
    snapshot_index: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    blocks: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    # Indexed: every claim looks for the few unsent alerts among all those ever sent.
    state: Mapped[AlertState] = mapped_column(
        _enum_column(AlertState, "alert_state"), default=AlertState.PENDING, index=True
    )
    held: Mapped[bool] = mapped_column(default=False)
    claimed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    claimed_until: Mapped[datetime | None] = mapped_column(default=None)
    attempts: Mapped[int] = mapped_column(default=0)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    slack_ts: Mapped[str | None] = mapped_column(String(32), default=None)
    # Set for alerts that go into an incident's thread rather than to the channel.
    thread_ts: Mapped[str | None] = mapped_column(String(32), default=None)
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id", name="fk_alert_incident"), default=None
    )
    # A commits row replies under its parent, the change's alert.
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("alerts.id", name="fk_alert_parent"), default=None
    )
    # What a commits row asks the git host; it waits until the commits are read and written
    # into its text.
    commits: Mapped[tuple[ReplacedBuild, ...] | None] = mapped_column(ReplacedBuilds, default=None)


# NULLs are distinct in a plain unique key, so a channel's own alerts count as incident 0.
Index(
    "uq_alert_once",
    Alert.workspace,
    Alert.channel_id,
    Alert.env,
    Alert.kind,
    func.coalesce(Alert.incident_id, 0),
    Alert.snapshot_index,
    unique=True,
)


class AlertTrouble(Base):
    """A build a change alert told of as trouble (rogue or non-compliant): a later follow-up
    on the same fingerprint replies under that alert."""

    __tablename__ = "alert_troubles"

    alert_id: Mapped[int] = mapped_column(
        ForeignKey("alerts.id", name="fk_trouble_alert"), primary_key=True
    )
    # Indexed: a follow-up looks its fingerprint up among every trouble ever told.
    fingerprint: Mapped[str] = mapped_column(String(255), primary_key=True, index=True)


class Incident(Base):
    """An incident thread: where it is, which environments it follows, and its window."""

    __tablename__ = "incidents"
    __table_args__ = (
        UniqueConstraint("workspace", "channel_id", "thread_ts", name="uq_incident_thread"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace: Mapped[str] = _workspace()
    channel_id: Mapped[str] = mapped_column(String(64))
    # None while opening: the row exists before its parent message is posted.
    thread_ts: Mapped[str | None] = mapped_column(String(32))
    envs: Mapped[list[str]] = mapped_column(JSON)
    # Per environment (env -> snapshot index): where the window began, and the newest
    # snapshot the thread showed when it opened (the watcher adds only later ones).
    start_indexes: Mapped[dict[str, int]] = mapped_column(JSON)
    shown_indexes: Mapped[dict[str, int]] = mapped_column(JSON)
    window_start: Mapped[datetime]
    opened_by: Mapped[str] = mapped_column(String(64))
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    # opening -> open -> closing -> closed: 'closing' until the timeline file is attached.
    state: Mapped[str] = mapped_column(String(16), default="open", server_default="open")
    # When the trouble began (`incident ... at TIME`): suspects are ranked before it.
    # None: when the thread was opened.
    incident_at: Mapped[datetime | None] = mapped_column(default=None)


class SuspectMark(Base):
    """Someone marked a suspect of an incident as its cause, or not it: who, what and when.
    Every mark is kept; the last one on a suspect stands."""

    __tablename__ = "suspect_marks"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", name="fk_mark_incident"), index=True
    )
    env: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    cause: Mapped[bool]
    marked_by: Mapped[str] = mapped_column(String(64))
    marked_at: Mapped[datetime]


class Lease(Base):
    """A named job only one process may do at a time (e.g. sending, which keeps channel
    order); a holder that dies loses it when `until` passes. A workspace's leases carry its
    key in their name (bot.store.leases), so two workspaces' jobs never wait for each other."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64))
    until: Mapped[datetime]


class HandledEvent(Base):
    """A Slack event being answered or answered: Slack's retries of it are not answered twice."""

    __tablename__ = "handled_events"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    handled_at: Mapped[datetime]


class GitCompare(Base):
    """A compare answer of the git host, by repository URL and the two commits."""

    __tablename__ = "git_compares"

    repository: Mapped[str] = mapped_column(String(512), primary_key=True)
    base: Mapped[str] = mapped_column(String(40), primary_key=True)
    head: Mapped[str] = mapped_column(String(40), primary_key=True)
    answer: Mapped[dict[str, Any]] = mapped_column(JSON)
    fetched_at: Mapped[datetime]


class KosliConnectionRow(Base):
    """A workspace's Kosli org (OAuth mode), its API token encrypted by the Vault."""

    __tablename__ = "kosli_connections"

    workspace: Mapped[str] = mapped_column(String(32), primary_key=True)
    org: Mapped[str] = mapped_column(String(255))
    host: Mapped[str] = mapped_column(String(255))
    api_token: Mapped[str] = mapped_column(Text)
    connected_by: Mapped[str] = mapped_column(String(64))
    connected_at: Mapped[datetime]


# slack_sdk's own installation and OAuth state tables (OAuth mode), as its SQLAlchemy stores
# read and write them. Their secret columns hold the Vault's ciphertext, longer than a token:
# widened from slack_sdk's 200 characters.
SEALED_COLUMNS = {
    "slack_installations": (
        "bot_token",
        "bot_refresh_token",
        "user_token",
        "user_refresh_token",
        "incoming_webhook_url",
    ),
    "slack_bots": ("bot_token", "bot_refresh_token"),
}
SEALED_LENGTH = 1000

slack_installations = SQLAlchemyInstallationStore.build_installations_table(
    Base.metadata, "slack_installations"
)
slack_bots = SQLAlchemyInstallationStore.build_bots_table(Base.metadata, "slack_bots")
slack_oauth_states = SQLAlchemyOAuthStateStore.build_oauth_states_table(
    Base.metadata, "slack_oauth_states"
)
for _table in (slack_installations, slack_bots):
    for _name in SEALED_COLUMNS[_table.name]:
        _table.c[_name].type = String(SEALED_LENGTH)

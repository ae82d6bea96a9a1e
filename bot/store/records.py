"""What the repositories hand out: plain frozen values, never live ORM rows."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

R = TypeVar("R", bound="DataclassInstance")


def record(kind: type[R], row: Any) -> R:
    """A value of `kind` with the row's columns of the same names."""
    return kind(**{f.name: getattr(row, f.name) for f in fields(kind)})


@dataclass(frozen=True)
class SubscriptionRecord:
    channel_id: str
    env: str
    created_by: str
    created_at: datetime
    since_index: int
    risky_only: bool
    paused_reason: str | None
    muted_until: datetime | None


@dataclass(frozen=True)
class EnvState:
    env: str
    last_seen_index: int
    last_seen_compliant: bool | None
    last_polled_at: datetime | None
    failures: int
    outages: int
    outage_open: bool
    lease_owner: str | None  # the replica polling it now
    lease_until: datetime | None


@dataclass(frozen=True)
class NewIncident:
    channel_id: str
    thread_ts: str | None  # None until the parent is posted
    envs: list[str]
    start_indexes: dict[str, int]
    shown_indexes: dict[str, int]
    window_start: datetime
    opened_by: str
    opened_at: datetime
    # When the trouble began (`at TIME`); None: when it was opened.
    incident_at: datetime | None = field(default=None, kw_only=True)

    @property
    def start(self) -> datetime:
        """The moment suspects are ranked before."""
        return self.incident_at or self.opened_at


@dataclass(frozen=True)
class IncidentRecord(NewIncident):
    id: int
    state: str  # opening, open, closing or closed
    closed_at: datetime | None
    closed_by: str | None


@dataclass(frozen=True)
class HeldAlert:
    snapshot_index: int
    text: str

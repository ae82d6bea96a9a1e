"""What a channel is told when it starts watching, and an incident's window of changes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.changes import ChangeSet, Kind, short_name
from bot.kosli.models import Snapshot, SnapshotArtifact


@dataclass(frozen=True)
class Baseline:
    """What a channel is told once, when it starts watching: what runs now and what is wrong."""

    snapshot: Snapshot

    @property
    def running(self) -> tuple[SnapshotArtifact, ...]:
        return tuple(sorted(self.snapshot.running, key=lambda a: short_name(a.name)))

    @property
    def non_compliant(self) -> tuple[SnapshotArtifact, ...]:
        return tuple(a for a in self.running if a.compliant is False and a.flow)

    @property
    def rogue(self) -> tuple[SnapshotArtifact, ...]:
        return tuple(a for a in self.running if not a.flow)


@dataclass(frozen=True)
class IncidentWindow:
    """An incident thread's facts, for its closing summary and timeline file."""

    envs: tuple[str, ...]
    window_start: datetime
    opened_by: str
    opened_at: datetime
    closed_at: datetime | None


@dataclass(frozen=True)
class Timeline:
    """An environment's changes over an incident's window, oldest first."""

    env: str
    start: Snapshot
    changesets: tuple[ChangeSet, ...]
    skipped: int  # older change sets in the window left out of a thread (too many)
    latest: int
    builds: dict[str, str]  # fingerprint -> build URL

    def count(self, kind: Kind) -> int:
        return sum(len(c.of(kind)) for c in self.changesets)

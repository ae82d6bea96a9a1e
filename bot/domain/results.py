"""What the commands answer: plain values the renderers draw (no I/O, no ORM rows)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from bot.domain.changes import ChangeSet
from bot.domain.commits_window import CommitsWindow
from bot.domain.links import CommitLink, KosliArtifact, KosliSnapshot, KosliTrail
from bot.domain.timeline import Baseline
from bot.githost.models import GitCommit
from bot.kosli.attestations import Assertion, Trail
from bot.kosli.events import EnvironmentEvent
from bot.kosli.models import (
    Artifact,
    Environment,
    Snapshot,
    SnapshotArtifact,
    SnapshotSummary,
)
from bot.kosli.policies import AppliedPolicy


@dataclass(frozen=True)
class HelpEntry:
    name: str
    arguments: str
    summary: str
    example: str


@dataclass(frozen=True)
class HelpResult:
    entries: tuple[HelpEntry, ...]


@dataclass(frozen=True)
class VersionResult:
    version: str
    kosli_host: str
    org: str
    database: str  # the SQLAlchemy dialect: sqlite, postgresql


@dataclass(frozen=True)
class EnvsResult:
    org: str
    envs: tuple[Environment, ...]


@dataclass(frozen=True)
class LogResult:
    env: str
    page: int
    rows: tuple[SnapshotSummary, ...]
    page_size: int
    # What happened in each snapshot, from Kosli's event log, for the rows it covers whole;
    # None where Kosli keeps no event log (2022-era data) or it could not be read.
    events: Mapping[int, tuple[EnvironmentEvent, ...]] | None = None


@dataclass(frozen=True)
class ArtifactResult:
    query: str
    artifacts: tuple[Artifact, ...]
    # fingerprint -> attestation statuses, for the artifacts Kosli could assert
    assertions: Mapping[str, Assertion] = field(default_factory=dict)


@dataclass(frozen=True)
class Failing:
    """A running artifact that fails its environment's policies, and why."""

    artifact: SnapshotArtifact
    reasons: tuple[str, ...]
    assertion: Assertion | None


@dataclass(frozen=True)
class WhyResult:
    env: str
    index: int
    compliant: bool | None
    policies: tuple[AppliedPolicy, ...]
    failing: tuple[Failing, ...]
    name: str  # what the question narrowed to ('' for the whole environment)
    matched: int  # running artifacts the name matched


@dataclass(frozen=True)
class Placement:
    env: str
    snapshot: int
    artifact: SnapshotArtifact


@dataclass(frozen=True)
class Containing:
    """One running build of the commit's repository, and how it relates to the commit:
    `status` of running vs commit ('ahead' or 'identical': it contains the commit)."""

    place: Placement
    status: str
    ahead_by: int
    behind_by: int

    @property
    def contains(self) -> bool:
        return self.status in ("ahead", "identical")


@dataclass(frozen=True)
class WhereResult:
    """Where something runs: from Kosli's search (`artifacts`), from latest snapshots, or, for
    a commit no build was made of, which running builds contain it (`containing`)."""

    query: str
    artifacts: tuple[Artifact, ...] = ()
    placements: tuple[Placement, ...] = ()
    commit: GitCommit | None = None
    repository: str = ""
    containing: tuple[Containing, ...] = ()
    notes: tuple[str, ...] = ()  # what could not be reached, said under what was found
    no_snapshot: tuple[str, ...] = ()  # environments read that have no snapshot to read


@dataclass(frozen=True)
class Watched:
    """A channel's subscription to one environment."""

    env: str
    since_index: int
    risky_only: bool = False
    muted_until: datetime | None = None
    paused_reason: str | None = None


@dataclass(frozen=True)
class EnvProgress:
    """How far the watcher has read an environment."""

    last_seen_index: int
    outage_open: bool = False
    compliant: bool | None = None  # of the last snapshot read


@dataclass(frozen=True)
class WatchResult:
    started: tuple[Baseline, ...]
    already: tuple[Watched, ...]
    risky_only: bool
    logical: tuple[Environment, ...] = ()  # asked for: their included ones are watched
    no_snapshot: tuple[str, ...] = ()  # not watched: nothing to start from yet
    switched: tuple[str, ...] = ()  # environments watched before, now risky-only or not


@dataclass(frozen=True)
class UnwatchResult:
    env: str
    removed: bool
    by: str  # who asked: the channel is always told
    logical: Environment | None = None  # `env` is logical: its included ones were unwatched
    included: tuple[str, ...] = ()  # those of them this channel watched


@dataclass(frozen=True)
class WatchingResult:
    rows: tuple[tuple[Watched, EnvProgress | None], ...]


@dataclass(frozen=True)
class MuteResult:
    env: str
    until: datetime | None
    found: bool
    by: str  # who asked: the channel is always told
    released: int = 0
    logical: Environment | None = None  # `env` is logical: what it includes was (un)muted
    included: tuple[str, ...] = ()  # those of them this channel watches


@dataclass(frozen=True)
class CommitsResult:
    """`commits A B`: the changes between two snapshots and the commits window of each build
    that was replaced, by (old sha, new sha)."""

    changes: ChangeSet
    windows: Mapping[tuple[str, str], CommitsWindow]


@dataclass(frozen=True)
class SnapshotLinked:
    """A Kosli snapshot link: that snapshot, and the environment's latest index."""

    link: KosliSnapshot
    snapshot: Snapshot
    latest: int | None


@dataclass(frozen=True)
class BuildLinked:
    """An artifact, trail or commit link, and where what it names runs now (`where` is None
    for a trail Kosli knows no commit of)."""

    link: KosliArtifact | KosliTrail | CommitLink
    where: WhereResult | None
    trail: Trail | None = None


Linked = SnapshotLinked | BuildLinked


@dataclass(frozen=True)
class OpenIncident:
    envs: tuple[str, ...]
    opened_at: datetime
    by: str  # who opened it
    permalink: str  # the thread, '' when Slack gave no link


@dataclass(frozen=True)
class ChannelHome:
    """What one channel watches and its open incident threads."""

    channel: str
    watching: tuple[tuple[Watched, EnvProgress | None], ...]
    incidents: tuple[OpenIncident, ...] = ()


@dataclass(frozen=True)
class HomeResult:
    """The Home tab: the Kosli connection (org, host; None when there is none) and, per
    channel, what it watches; `admin`: the reader may change them."""

    connection: tuple[str, str] | None
    channels: tuple[ChannelHome, ...]
    admin: bool

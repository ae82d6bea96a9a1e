"""Plain data behind the Kosli sandbox: environments, their snapshots and artifact records.

Only the running artifacts of a snapshot are given by hand; how each one changed since the
previous snapshot (the `annotation`) is always computed, so the data cannot contradict itself.

A Dataset speaks one era of Kosli's API: "2022" (the tutorial's shapes) or "2026" (today's:
annotation words like `started-compliant`, artifacts in several flows, policies).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass
class RunningArtifact:
    """One artifact as an environment reports it in a snapshot."""

    name: str
    fingerprint: str
    flow_name: str  # "" when Kosli cannot tie the artifact to a flow (no provenance)
    git_commit: str | None
    commit_url: str | None
    compliant: bool
    instances: int
    started_at: float  # epoch seconds; every instance reports this start time
    deployments: list[int] = field(default_factory=list)
    reasons_for_incompliance: list[str] = field(default_factory=list)
    # Its flows as this snapshot saw them (2026): None means the artifact record's; [] before
    # any flow reported it, or a trail whose attestations changed since.
    flows: list[FlowTrail] | None = None


@dataclass
class Annotation:
    # 2022: started | exited | changed | unchanged
    # 2026: started-compliant | started-non-compliant | exited | unchanged
    type: str
    was: int
    now: int


@dataclass
class SnapshotEntry:
    artifact: RunningArtifact
    annotation: Annotation

    @property
    def running(self) -> bool:
        # Kosli lists just-exited artifacts too, with now == 0.
        return self.annotation.now > 0


@dataclass
class Snapshot:
    index: int
    timestamp: float
    entries: list[SnapshotEntry]
    user_id: str = "cyber-dojo-reporter"
    user_name: str = "cyber-dojo environment reporter"

    def running(self) -> list[RunningArtifact]:
        return [e.artifact for e in self.entries if e.running]

    @property
    def compliant(self) -> bool:
        return all(a.compliant for a in self.running())


@dataclass
class Environment:
    name: str
    type: str
    description: str
    last_modified_at: float
    tags: dict[str, str] = field(default_factory=dict)
    policies: list[str] = field(default_factory=list)
    snapshots: list[Snapshot] = field(default_factory=list)
    # A logical environment (type "logical") lists the environments it groups and has no
    # snapshots of its own; None for a physical one (Kosli answers null).
    included: list[str] | None = None

    def append(
        self, timestamp: float, artifacts: list[RunningArtifact], era: str = "2022"
    ) -> Snapshot:
        """Add the next snapshot, annotated against the current last one."""
        last = self.snapshots[-1] if self.snapshots else None
        if last is not None and timestamp <= last.timestamp:
            raise ValueError(f"snapshot at {timestamp} is not after {self.name}#{last.index}")
        previous = last.running() if last else []
        entries = annotate(previous, artifacts, era)
        snapshot = Snapshot(last.index + 1 if last else 1, timestamp, entries)
        self.snapshots.append(snapshot)
        return snapshot


@dataclass
class HistoryEvent:
    event: str
    timestamp: float


@dataclass
class CommitInfo:
    """`git_commit_info`: a commit as Kosli read it from GitHub or GitLab."""

    sha1: str
    message: str  # first line is the title
    author: str  # "Name <email>"
    timestamp: float
    url: str
    branch: str = "main"


@dataclass
class Attestation:
    name: str
    type: str  # e.g. generic, junit, pull_request
    status: str = "COMPLETE"  # COMPLETE | MISSING | ...

    @property
    def is_compliant(self) -> bool:
        return self.status == "COMPLETE"


@dataclass
class FlowTrail:
    """An artifact's place in one flow (today's Kosli: an artifact can be in several)."""

    flow_name: str
    trail_name: str
    template_reference_name: str  # the artifact's name in the flow's template, e.g. "web"
    commit: CommitInfo
    attestations: list[Attestation] = field(default_factory=list)
    build: bool = True  # False for e.g. a promotion flow: it does not give provenance

    @property
    def compliant(self) -> bool:
        return all(a.is_compliant for a in self.attestations)


@dataclass
class Policy:
    """An environment policy: provenance, and attestations every build flow must have."""

    name: str
    version: int
    id: str
    provenance: bool = True
    attestations: list[tuple[str, str]] = field(default_factory=list)  # (name, type)


@dataclass
class ArtifactRecord:
    """What a flow knows about a built artifact (the artifacts and search endpoints).

    Only creation and deployment events are stored; where it ran is derived from snapshots.
    """

    filename: str
    flow_name: str  # "" for an artifact without provenance
    fingerprint: str
    created_at: float | None
    git_commit: str | None
    commit_url: str | None
    build_url: str | None
    html_url: str | None
    state: str  # COMPLIANT | NON-COMPLIANT
    history: list[HistoryEvent] = field(default_factory=list)
    trail_name: str = ""
    flows: list[FlowTrail] = field(default_factory=list)  # 2026 only; the build flow first

    @classmethod
    def without_provenance(cls, name: str, fingerprint: str) -> ArtifactRecord:
        """What Kosli knows of an artifact no flow built: that it ran, nothing more."""
        return cls(name, "", fingerprint, None, None, None, None, None, "NON-COMPLIANT")


@dataclass
class Dataset:
    environments: list[Environment]
    artifacts: list[ArtifactRecord]
    era: str = "2022"  # "2022" | "2026": which shapes the API answers with
    policies: list[Policy] = field(default_factory=list)  # named by Environment.policies

    @property
    def modern(self) -> bool:
        return self.era != "2022"

    def environment(self, name: str) -> Environment | None:
        return next((e for e in self.environments if e.name == name), None)

    def record(self, fingerprint: str) -> ArtifactRecord | None:
        return next((r for r in self.artifacts if r.fingerprint == fingerprint), None)

    def copy_environment(self, source: str, names: Iterable[str]) -> None:
        """More environments with `source`'s whole history (many watched at once, for load)."""
        original = self.environment(source)
        if original is None:
            raise KeyError(f"no environment named {source!r}")
        for name in names:
            copied = copy.deepcopy(original)
            copied.name = name
            self.environments.append(copied)

    def policies_of(self, env: Environment) -> list[Policy]:
        return [p for p in self.policies if p.name in env.policies]


def annotate(
    previous: list[RunningArtifact], current: list[RunningArtifact], era: str = "2022"
) -> list[SnapshotEntry]:
    """Entries of a snapshot running `current`, compared by fingerprint with `previous`."""
    before = {a.fingerprint: a for a in previous}
    after = {a.fingerprint for a in current}
    entries = []
    for art in current:
        old = before.get(art.fingerprint)
        was = old.instances if old else 0
        if era == "2022":
            kind = "started" if was == 0 else "unchanged" if was == art.instances else "changed"
        elif old is None:
            kind = "started-compliant" if art.compliant else "started-non-compliant"
        else:
            kind = _same_build(old, art)
        entries.append(_entry(art, kind, was, art.instances))
    for art in previous:
        if art.fingerprint not in after:
            entries.append(_entry(art, "exited", art.instances, 0))
    # Stable, readable order: by name, a running entry before an exited one of the same name.
    entries.sort(key=lambda e: (e.artifact.name, not e.running))
    return entries


def _same_build(old: RunningArtifact, new: RunningArtifact) -> str:
    """Today's Kosli on a fingerprint that keeps running: a flow now reports it, or it
    changed in a way that matters (instances replaced, compliance); a count alone is not
    tracked any more."""
    if not old.flow_name and new.flow_name:
        return "updated-provenance"
    if old.started_at != new.started_at or old.compliant != new.compliant:
        return "changed"
    return "unchanged"


def _entry(art: RunningArtifact, kind: str, was: int, now: int) -> SnapshotEntry:
    # A copy per snapshot, so mutating one snapshot's artifact leaves the others alone.
    return SnapshotEntry(copy.deepcopy(art), Annotation(kind, was, now))

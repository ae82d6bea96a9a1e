"""Typed views of Kosli's answers: environments, snapshots, diffs and artifacts (an artifact's
flows and policy verdicts are in flows.py and policies.py; reading JSON is in parsing.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from bot.kosli.errors import KosliBadResponse
from bot.kosli.flows import ArtifactFlow, CommitInfo, DeploymentDiff
from bot.kosli.parsing import (
    get,
    is_number,
    list_of,
    moment,
    optional,
    optional_list,
    time_of,
)
from bot.kosli.policies import AppliedPolicy, PolicyDecision


@dataclass(frozen=True)
class Environment:
    """`included` are the environments a logical one groups (Kosli: `type: logical`); a
    logical environment has no snapshots of its own, and may include none."""

    name: str
    type: str
    description: str
    last_reported_at: datetime | None
    compliant: bool | None
    included: tuple[str, ...] = ()

    @property
    def logical(self) -> bool:
        return self.type.lower() == "logical"

    @classmethod
    def from_json(cls, data: Any) -> Environment:
        # null for a physical environment, possibly missing for an old logical one; junk here
        # must not cost the whole environment list
        included = data.get("included_environments") if isinstance(data, Mapping) else None
        included = included if isinstance(included, list) else []
        return cls(
            name=get(data, "name", str),
            type=get(data, "type", str, ""),
            description=get(data, "description", str, ""),
            last_reported_at=time_of(data, "last_reported_at"),
            compliant=get(data, "state", bool, None),
            included=tuple(dict.fromkeys(e for e in included if isinstance(e, str) and e)),
        )


@dataclass(frozen=True)
class SnapshotSummary:
    """One row of `kosli env log`: when a snapshot began, ended (None = still current), how long."""

    index: int
    started_at: datetime
    ended_at: datetime | None
    duration: float
    compliant: bool | None

    @classmethod
    def from_json(cls, data: Any) -> SnapshotSummary:
        started = time_of(data, "from")
        if started is None:
            raise KosliBadResponse("field 'from' is missing")
        return cls(
            index=get(data, "index", int),
            started_at=started,
            ended_at=time_of(data, "to"),
            duration=float(get(data, "duration", (int, float), 0)),
            compliant=get(data, "compliant", bool, None),
        )


@dataclass(frozen=True)
class SnapshotArtifact:
    """An artifact as one snapshot saw it; `instances` 0 means it has just exited.

    Top-level `flow`, `git_commit` and `commit_url` are the build flow's; `flows` (today's
    Kosli) lists every flow the artifact is in, promotion flows included."""

    name: str
    fingerprint: str
    flow: str
    git_commit: str
    commit_url: str
    compliant: bool | None
    started_at: datetime | None
    instances: int
    change: str
    reasons: tuple[str, ...] = ()
    flows: tuple[ArtifactFlow, ...] = ()
    decisions: tuple[PolicyDecision, ...] = ()
    diff: DeploymentDiff | None = None
    html_url: str = ""
    lead_time: float | None = None  # seconds from commit to running, when Kosli says
    # Every instance's start, sorted: the same build restarted shows new ones.
    starts: tuple[datetime, ...] = ()
    was: int | None = None  # Kosli's count before this snapshot (annotation `was`)

    @property
    def running(self) -> bool:
        return self.instances > 0 and self.change != "exited"  # Snapshot.running inlines it

    @property
    def build_flow(self) -> ArtifactFlow | None:
        """The flow that built it: the one whose commit is the artifact's own."""
        by_commit = [f for f in self.flows if self.git_commit and f.git_commit == self.git_commit]
        named = [f for f in by_commit or self.flows if f.name == self.flow]
        return next(iter(named or by_commit), None)

    @property
    def promotions(self) -> tuple[ArtifactFlow, ...]:
        """Other flows it sits in (e.g. a promotion flow): context, never its commit."""
        build = self.build_flow
        return tuple(f for f in self.flows if f is not build)

    @property
    def commit(self) -> CommitInfo | None:
        build = self.build_flow
        return build.commit if build else None

    @property
    def deployment_diff(self) -> DeploymentDiff | None:
        """Kosli's link to what ran before: the build flow's, else the top-level one."""
        build = self.build_flow
        return (build.diff if build else None) or self.diff

    @classmethod
    def from_json(cls, data: Any) -> SnapshotArtifact:
        read = (moment(t) for t in get(data, "creationTimestamp", list, []))
        starts = [t for t in read if t is not None]
        annotation = get(data, "annotation", Mapping, {})
        instances = get(annotation, "now", int, len(starts))
        was = annotation.get("was")
        reasons = get(data, "reasons_for_incompliance", list, [])
        return cls(
            name=get(data, "name", str),
            fingerprint=get(data, "fingerprint", str),
            flow=get(data, "flow_name", str, ""),
            git_commit=get(data, "git_commit", str, ""),
            commit_url=get(data, "commit_url", str, ""),
            compliant=get(data, "compliant", bool, None),
            started_at=min(starts) if starts else None,
            instances=instances,
            change=get(annotation, "type", str, "unchanged"),
            reasons=tuple(r for r in reasons if isinstance(r, str) and r),
            flows=optional_list(data, "flows", ArtifactFlow.from_json),
            decisions=optional_list(data, "policy_decisions", PolicyDecision.from_json),
            diff=optional(DeploymentDiff.from_json, data.get("deployment_diff")),
            html_url=get(data, "html_url", str, ""),
            lead_time=float(lead) if is_number(lead := data.get("commit_lead_time")) else None,
            starts=tuple(sorted(starts)),
            was=was if isinstance(was, int) and not isinstance(was, bool) else None,
        )


@dataclass(frozen=True)
class Snapshot:
    env: str
    index: int
    timestamp: datetime
    compliant: bool | None
    artifacts: tuple[SnapshotArtifact, ...]
    policies: tuple[AppliedPolicy, ...] = ()

    @cached_property
    def running(self) -> tuple[SnapshotArtifact, ...]:
        """Computed once: every diff and alert asks, and a snapshot may hold thousands."""
        return tuple(a for a in self.artifacts if a.instances > 0 and a.change != "exited")

    @classmethod
    def from_json(cls, env: str, data: Any) -> Snapshot:
        timestamp = time_of(data, "timestamp")
        if timestamp is None:
            raise KosliBadResponse("field 'timestamp' is missing")
        return cls(
            env=env,
            index=get(data, "index", int),
            timestamp=timestamp,
            compliant=get(data, "compliant", bool, None),
            artifacts=list_of(data, "artifacts", SnapshotArtifact.from_json),
            policies=optional_list(data, "applied_policies", AppliedPolicy.from_json),
        )


@dataclass(frozen=True)
class DiffArtifact:
    name: str
    fingerprint: str
    flow: str
    commit_url: str
    started_at: datetime | None
    instances: int
    instances_before: int
    instances_after: int

    @classmethod
    def from_json(cls, data: Any) -> DiffArtifact:
        return cls(
            name=get(data, "name", str),
            fingerprint=get(data, "fingerprint", str),
            flow=get(data, "flow", str, ""),
            commit_url=get(data, "commit_url", str, ""),
            started_at=time_of(data, "most_recent_timestamp"),
            instances=get(data, "instance_count", int, 0),
            instances_before=get(data, "s1_instance_count", int, 0),
            instances_after=get(data, "s2_instance_count", int, 0),
        )


@dataclass(frozen=True)
class SnapshotDiff:
    """Kosli's env-diff: `scaled` is Kosli's "changed" (same fingerprint, new instance count)."""

    before: str
    after: str
    only_before: tuple[DiffArtifact, ...]
    only_after: tuple[DiffArtifact, ...]
    scaled: tuple[DiffArtifact, ...]

    @classmethod
    def from_json(cls, data: Any) -> SnapshotDiff:
        first = get(data, "snappish1", Mapping)
        second = get(data, "snappish2", Mapping)
        return cls(
            before=get(first, "snapshot_id", str),
            after=get(second, "snapshot_id", str),
            only_before=list_of(first, "artifacts", DiffArtifact.from_json),
            only_after=list_of(second, "artifacts", DiffArtifact.from_json),
            scaled=list_of(get(data, "changed", Mapping, {}), "artifacts", DiffArtifact.from_json),
        )


@dataclass(frozen=True)
class HistoryEvent:
    event: str
    timestamp: datetime | None

    @classmethod
    def from_json(cls, data: Any) -> HistoryEvent:
        return cls(event=get(data, "event", str), timestamp=time_of(data, "timestamp"))


def _env_ref(item: Any) -> str:
    """Kosli writes running places as 'env#N' strings or {environment_name, snapshot_index}."""
    if isinstance(item, str):
        return item
    return f"{get(item, 'environment_name', str)}#{get(item, 'snapshot_index', int)}"


@dataclass(frozen=True)
class Artifact:
    """An artifact from the artifacts endpoints or from search, normalised to one shape."""

    name: str
    flow: str
    fingerprint: str
    git_commit: str
    commit_url: str
    build_url: str
    html_url: str
    state: str
    created_at: datetime | None
    running_in: tuple[str, ...]
    exited_from: tuple[str, ...]
    history: tuple[HistoryEvent, ...]

    @classmethod
    def from_json(cls, data: Any) -> Artifact:
        return cls(
            name=get(data, "filename", str, "") or get(data, "name", str, ""),
            flow=get(data, "flow_name", str, "") or get(data, "flow", str, ""),
            fingerprint=get(data, "fingerprint", str),
            git_commit=get(data, "git_commit", str, ""),
            commit_url=get(data, "commit_url", str, ""),
            build_url=get(data, "build_url", str, ""),
            html_url=get(data, "html_url", str, ""),
            state=get(data, "state", str, "") or get(data, "compliance_state", str, "UNKNOWN"),
            created_at=time_of(data, "created_at"),
            running_in=tuple(
                _env_ref(i)
                for i in get(data, "running", list, None) or get(data, "running_in", list, [])
            ),
            exited_from=tuple(
                _env_ref(i)
                for i in get(data, "exited", list, None) or get(data, "exited_from", list, [])
            ),
            history=list_of(data, "history", HistoryEvent.from_json),
        )

"""Typed views of Kosli's API answers. Parsing lives here so nothing else touches raw JSON."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from bot.kosli.errors import KosliBadResponse

T = TypeVar("T")


def _get(data: Any, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
    """Read one field, turning a missing or mistyped value into KosliBadResponse."""
    if not isinstance(data, Mapping):
        raise KosliBadResponse(f"expected an object, got {type(data).__name__}")
    if key not in data or data[key] is None:
        if default is not ...:
            return default
        raise KosliBadResponse(f"field {key!r} is missing")
    value = data[key]
    # bool is an int in Python; a number field must not accept true/false.
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _as_tuple(kind)):
        raise KosliBadResponse(f"field {key!r} has the wrong type ({type(value).__name__})")
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _time(data: Mapping[str, Any], key: str) -> datetime | None:
    value = _get(data, key, (int, float), None)
    if value is None or value <= 0:
        return None
    return datetime.fromtimestamp(value, tz=UTC)


def _list(data: Mapping[str, Any], key: str, parse: Callable[[Any], T]) -> tuple[T, ...]:
    return tuple(parse(item) for item in _get(data, key, list, []))


def parse_list(data: Any, parse: Callable[[Any], T]) -> list[T]:
    if not isinstance(data, list):
        raise KosliBadResponse(f"expected a list, got {type(data).__name__}")
    return [parse(item) for item in data]


@dataclass(frozen=True)
class Environment:
    name: str
    type: str
    description: str
    last_reported_at: datetime | None
    compliant: bool | None

    @classmethod
    def from_json(cls, data: Any) -> Environment:
        return cls(
            name=_get(data, "name", str),
            type=_get(data, "type", str, ""),
            description=_get(data, "description", str, ""),
            last_reported_at=_time(data, "last_reported_at"),
            compliant=_get(data, "state", bool, None),
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
        started = _time(data, "from")
        if started is None:
            raise KosliBadResponse("field 'from' is missing")
        return cls(
            index=_get(data, "index", int),
            started_at=started,
            ended_at=_time(data, "to"),
            duration=float(_get(data, "duration", (int, float), 0)),
            compliant=_get(data, "compliant", bool, None),
        )


def _optional(parse: Callable[[Any], T], data: Any) -> T | None:
    """Parse an optional part of an answer: when it is absent or unreadable the rest still
    reads (a missing commit title must never cost the whole snapshot)."""
    if data is None:
        return None
    try:
        return parse(data)
    except KosliBadResponse:
        return None


def _optional_list(data: Mapping[str, Any], key: str, parse: Callable[[Any], T]) -> tuple[T, ...]:
    items = data.get(key) if isinstance(data, Mapping) else None
    if not isinstance(items, list):
        return ()
    parsed = (_optional(parse, item) for item in items)
    return tuple(item for item in parsed if item is not None)


@dataclass(frozen=True)
class CommitInfo:
    """`git_commit_info`: the commit's message and author, as Kosli read them from git."""

    sha: str
    message: str
    author: str
    branch: str
    timestamp: datetime | None
    url: str

    @property
    def title(self) -> str:
        return self.message.strip().split("\n", 1)[0].strip()

    @property
    def author_name(self) -> str:
        """'Jon Jagger <jon@kosli.com>' -> 'Jon Jagger': the address is noise in a channel."""
        return self.author.split("<", 1)[0].strip() or self.author

    @classmethod
    def from_json(cls, data: Any) -> CommitInfo:
        return cls(
            sha=_get(data, "sha1", str, ""),
            message=_get(data, "message", str, ""),
            author=_get(data, "author", str, ""),
            branch=_get(data, "branch", str, ""),
            timestamp=_time(data, "timestamp"),
            url=_get(data, "url", str, ""),
        )


@dataclass(frozen=True)
class DeploymentDiff:
    """Kosli's link from an artifact to the one of its flow that ran here before it."""

    diff_url: str
    previous_commit: str
    previous_fingerprint: str

    @classmethod
    def from_json(cls, data: Any) -> DeploymentDiff:
        return cls(
            diff_url=_get(data, "diff_url", str, ""),
            previous_commit=_get(data, "previous_git_commit", str, ""),
            previous_fingerprint=_get(data, "previous_fingerprint", str, ""),
        )


@dataclass(frozen=True)
class ArtifactFlow:
    """One flow an artifact belongs to: the flow that built it, or one that promoted it."""

    name: str
    trail: str
    git_commit: str
    commit_url: str
    commit: CommitInfo | None
    diff: DeploymentDiff | None

    @classmethod
    def from_json(cls, data: Any) -> ArtifactFlow:
        return cls(
            name=_get(data, "flow_name", str),
            trail=_get(data, "trail_name", str, ""),
            git_commit=_get(data, "git_commit", str, ""),
            commit_url=_get(data, "commit_url", str, ""),
            commit=_optional(CommitInfo.from_json, data.get("git_commit_info")),
            diff=_optional(DeploymentDiff.from_json, data.get("deployment_diff")),
        )


@dataclass(frozen=True)
class Resolution:
    """How a policy rule was resolved for one of the artifact's flows."""

    type: str
    flow: str
    trail: str
    for_control: str

    @classmethod
    def from_json(cls, data: Any) -> Resolution:
        context = _get(data, "context", Mapping, {})
        return cls(
            type=_get(data, "type", str, ""),
            flow=_get(context, "flow_name", str, ""),
            trail=_get(context, "trail_name", str, ""),
            for_control=_get(context, "for_control", str, ""),
        )


@dataclass(frozen=True)
class RuleEvaluation:
    """One rule of a policy: `type` provenance, trail-compliance or attestation."""

    type: str
    name: str  # the attestation's name ('' for other rules)
    attestation_type: str
    satisfied: bool | None
    ignored: bool
    resolutions: tuple[Resolution, ...]

    @property
    def failed(self) -> bool:
        return not self.ignored and self.satisfied is not True

    @classmethod
    def from_json(cls, data: Any) -> RuleEvaluation:
        rule = _get(data, "rule", Mapping, {})
        definition = _get(rule, "definition", Mapping, {})
        return cls(
            type=_get(rule, "type", str, ""),
            name=_get(definition, "name", str, ""),
            attestation_type=_get(definition, "type", str, ""),
            satisfied=_get(data, "satisfied", bool, None),
            ignored=_get(data, "ignored", bool, False),
            resolutions=_optional_list(data, "resolutions", Resolution.from_json),
        )


@dataclass(frozen=True)
class PolicyDecision:
    """An environment policy's verdict on one artifact (`policy_decisions`)."""

    policy: str
    version: int | None
    compliant: bool | None
    rules: tuple[RuleEvaluation, ...]

    @classmethod
    def from_json(cls, data: Any) -> PolicyDecision:
        status = _get(data, "status", str, "")
        return cls(
            policy=_get(data, "policy_name", str, ""),
            version=_get(data, "policy_version", int, None),
            compliant={"COMPLIANT": True, "NON-COMPLIANT": False}.get(status),
            rules=_optional_list(data, "rule_evaluations", RuleEvaluation.from_json),
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

    @property
    def running(self) -> bool:
        return self.instances > 0 and self.change != "exited"

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
    def diff_url(self) -> str:
        build = self.build_flow
        diff = (build.diff if build else None) or self.diff
        return diff.diff_url if diff else ""

    @classmethod
    def from_json(cls, data: Any) -> SnapshotArtifact:
        starts = [t for t in _get(data, "creationTimestamp", list, []) if _is_number(t)]
        annotation = _get(data, "annotation", Mapping, {})
        instances = _get(annotation, "now", int, len(starts))
        reasons = _get(data, "reasons_for_incompliance", list, [])
        return cls(
            name=_get(data, "name", str),
            fingerprint=_get(data, "fingerprint", str),
            flow=_get(data, "flow_name", str, ""),
            git_commit=_get(data, "git_commit", str, ""),
            commit_url=_get(data, "commit_url", str, ""),
            compliant=_get(data, "compliant", bool, None),
            started_at=datetime.fromtimestamp(min(starts), tz=UTC) if starts else None,
            instances=instances,
            change=_get(annotation, "type", str, "unchanged"),
            reasons=tuple(r for r in reasons if isinstance(r, str) and r),
            flows=_optional_list(data, "flows", ArtifactFlow.from_json),
            decisions=_optional_list(data, "policy_decisions", PolicyDecision.from_json),
            diff=_optional(DeploymentDiff.from_json, data.get("deployment_diff")),
            html_url=_get(data, "html_url", str, ""),
            lead_time=float(lead) if _is_number(lead := data.get("commit_lead_time")) else None,
        )


@dataclass(frozen=True)
class AppliedPolicy:
    name: str
    version: int | None

    @classmethod
    def from_json(cls, data: Any) -> AppliedPolicy:
        return cls(name=_get(data, "name", str), version=_get(data, "version", int, None))


@dataclass(frozen=True)
class Snapshot:
    env: str
    index: int
    timestamp: datetime
    compliant: bool | None
    artifacts: tuple[SnapshotArtifact, ...]
    policies: tuple[AppliedPolicy, ...] = ()

    @property
    def running(self) -> tuple[SnapshotArtifact, ...]:
        return tuple(a for a in self.artifacts if a.running)

    @classmethod
    def from_json(cls, env: str, data: Any) -> Snapshot:
        timestamp = _time(data, "timestamp")
        if timestamp is None:
            raise KosliBadResponse("field 'timestamp' is missing")
        return cls(
            env=env,
            index=_get(data, "index", int),
            timestamp=timestamp,
            compliant=_get(data, "compliant", bool, None),
            artifacts=_list(data, "artifacts", SnapshotArtifact.from_json),
            policies=_optional_list(data, "applied_policies", AppliedPolicy.from_json),
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
            name=_get(data, "name", str),
            fingerprint=_get(data, "fingerprint", str),
            flow=_get(data, "flow", str, ""),
            commit_url=_get(data, "commit_url", str, ""),
            started_at=_time(data, "most_recent_timestamp"),
            instances=_get(data, "instance_count", int, 0),
            instances_before=_get(data, "s1_instance_count", int, 0),
            instances_after=_get(data, "s2_instance_count", int, 0),
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
        first = _get(data, "snappish1", Mapping)
        second = _get(data, "snappish2", Mapping)
        return cls(
            before=_get(first, "snapshot_id", str),
            after=_get(second, "snapshot_id", str),
            only_before=_list(first, "artifacts", DiffArtifact.from_json),
            only_after=_list(second, "artifacts", DiffArtifact.from_json),
            scaled=_list(_get(data, "changed", Mapping, {}), "artifacts", DiffArtifact.from_json),
        )


@dataclass(frozen=True)
class HistoryEvent:
    event: str
    timestamp: datetime | None

    @classmethod
    def from_json(cls, data: Any) -> HistoryEvent:
        return cls(event=_get(data, "event", str), timestamp=_time(data, "timestamp"))


def _env_ref(item: Any) -> str:
    """Kosli writes running places as 'env#N' strings or {environment_name, snapshot_index}."""
    if isinstance(item, str):
        return item
    return f"{_get(item, 'environment_name', str)}#{_get(item, 'snapshot_index', int)}"


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
            name=_get(data, "filename", str, "") or _get(data, "name", str, ""),
            flow=_get(data, "flow_name", str, "") or _get(data, "flow", str, ""),
            fingerprint=_get(data, "fingerprint", str),
            git_commit=_get(data, "git_commit", str, ""),
            commit_url=_get(data, "commit_url", str, ""),
            build_url=_get(data, "build_url", str, ""),
            html_url=_get(data, "html_url", str, ""),
            state=_get(data, "state", str, "") or _get(data, "compliance_state", str, "UNKNOWN"),
            created_at=_time(data, "created_at"),
            running_in=tuple(
                _env_ref(i)
                for i in _get(data, "running", list, None) or _get(data, "running_in", list, [])
            ),
            exited_from=tuple(
                _env_ref(i)
                for i in _get(data, "exited", list, None) or _get(data, "exited_from", list, [])
            ),
            history=_list(data, "history", HistoryEvent.from_json),
        )

"""The one change model: what changed between two snapshots, and of which kind.

`diff`, alerts, incident threads, the timeline file and the shell all read changes from here,
so they can never disagree about a pair of snapshots.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from bot.domain.compliance import reasons
from bot.kosli.models import DiffArtifact, Snapshot, SnapshotArtifact, SnapshotDiff

_COMMIT_URL = re.compile(
    r"(?P<repo>https?://[^\s]+?)/(?P<dash>-/)?commits?/(?P<sha>[0-9a-fA-F]{7,40})"
)


def commit_sha(commit_url: str) -> str:
    """The commit a URL points at ('' when the URL is not a commit link)."""
    match = _COMMIT_URL.fullmatch(commit_url.strip()) if commit_url else None
    return match["sha"] if match else ""


def built_compare_url(old_commit_url: str, new_commit_url: str) -> str:
    """A GitHub or GitLab compare view between two commits of one repository ('' if none)."""
    old = _COMMIT_URL.fullmatch(old_commit_url.strip()) if old_commit_url else None
    new = _COMMIT_URL.fullmatch(new_commit_url.strip()) if new_commit_url else None
    if not old or not new or old["repo"] != new["repo"] or old["sha"] == new["sha"]:
        return ""
    if old["dash"] or "gitlab" in old["repo"]:
        return f"{old['repo']}/-/compare/{old['sha']}...{new['sha']}"
    if "github" in old["repo"]:
        return f"{old['repo']}/compare/{old['sha']}...{new['sha']}"
    return ""


def short_name(name: str) -> str:
    """`2744….amazonaws.com/creator:31dee35@sha256:5d1c…` -> `creator:31dee35`: the name
    people say. Registry and digest stay in the artifact's details."""
    without_digest = name.split("@", 1)[0] or name
    return without_digest.rsplit("/", 1)[-1] or without_digest


def service_of(name: str, flow: str) -> str:
    """The service an artifact belongs to: its flow, else its image name without registry,
    tag or digest."""
    if flow:
        return flow
    image = name.split("@", 1)[0].rsplit("/", 1)[-1]
    return image.split(":", 1)[0]


class Kind(StrEnum):
    """Change kinds in the order a reader needs them: trouble first."""

    ROGUE = "rogue"
    NON_COMPLIANT = "non-compliant"
    ROLLED_BACK = "rolled back"
    REPLACED = "replaced"
    STARTED = "started"
    STOPPED = "stopped"
    PROVENANCE = "provenance arrived"
    COMPLIANT = "compliant again"
    RESTARTED = "restarted"
    SCALED = "scaled"  # Kosli's env-diff `changed` (2022): information, never an alert


# What a channel that wants only trouble is told; a follow-up resolves one of these.
TROUBLE = (Kind.ROGUE, Kind.NON_COMPLIANT)
# Said under the alert they resolve (the rogue or non-compliant build), never alerts themselves.
FOLLOW_UPS = (Kind.PROVENANCE, Kind.COMPLIANT)
# What never makes an alert: the same build's instances replaced, and instance counts.
QUIET = (Kind.RESTARTED, Kind.SCALED)


@dataclass(frozen=True)
class Change:
    """One change: `artifact` is what runs now (for STOPPED, what stopped); `previous` is the
    version a replacement or rollback took over from."""

    kind: Kind
    artifact: SnapshotArtifact
    previous: SnapshotArtifact | None = None
    # The new version already ran beside the old one: this snapshot ends a rolling deploy.
    rollout_finished: bool = False
    instances_before: int = 0  # SCALED
    reasons: tuple[str, ...] = ()  # NON_COMPLIANT, ROGUE, and PROVENANCE still failing
    # COMPLIANT: it runs with no provenance, so only an allow-list entry (or a policy that
    # stopped asking for provenance) lets it pass; else the evidence it lacked arrived.
    allow_listed: bool = False
    # COMPLIANT: Kosli Actions said it was allow-listed here, so it is no inference.
    allow_list_told: bool = False

    @property
    def compare_url(self) -> str:
        """Kosli's own compare link when it compares these two builds, else one we build."""
        if self.previous is None:
            return ""
        old, new = self.previous, self.artifact
        diff = new.deployment_diff
        if diff and diff.diff_url and diff.previous_commit in ("", old.git_commit):
            return diff.diff_url
        return built_compare_url(old.commit_url, new.commit_url)


@dataclass(frozen=True)
class ChangeSet:
    """From snapshot `before` to `after` (each 'env#N'). `timeline` is two snapshots of one
    environment, older first: then 'started' and 'stopped' make sense, else 'only in'."""

    before: str
    after: str
    at: datetime | None  # when `after` began
    changes: tuple[Change, ...]
    compliance: tuple[bool, bool] | None = None  # (before, after) when the environment flipped
    timeline: bool = True

    @property
    def env(self) -> str:
        return self.after.rpartition("#")[0]

    @property
    def before_index(self) -> int:
        return _index(self.before)

    @property
    def after_index(self) -> int:
        return _index(self.after)

    def of(self, kind: Kind) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.kind == kind)

    @property
    def is_empty(self) -> bool:
        return not (self.changes or self.compliance)

    @property
    def alerting(self) -> ChangeSet:
        """What an alert says: everything but the quiet kinds (a restart, a count)."""
        return replace(self, changes=tuple(c for c in self.changes if c.kind not in QUIET))

    @property
    def follow_ups(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.kind in FOLLOW_UPS)

    @property
    def risky(self) -> bool:
        """Worth telling even a channel that only wants trouble."""
        return any(c.kind in TROUBLE for c in self.changes) or self.compliance == (True, False)


def _index(ref: str) -> int:
    index = ref.rpartition("#")[2]
    return int(index) if index.isascii() and index.isdigit() else 0


def by_start(artifact: SnapshotArtifact) -> tuple[float, str]:
    started = artifact.started_at.timestamp() if artifact.started_at else 0.0
    return started, artifact.name


def _older_build(new: SnapshotArtifact, old: SnapshotArtifact) -> bool:
    """Built from an older commit than the one it replaces (commit times from git)."""
    new_at = new.commit.timestamp if new.commit else None
    old_at = old.commit.timestamp if old.commit else None
    return new_at is not None and old_at is not None and new_at < old_at


def _takeover(old: SnapshotArtifact, new: SnapshotArtifact, finished: bool) -> Change:
    kind = Kind.ROLLED_BACK if _older_build(new, old) else Kind.REPLACED
    return Change(kind, new, previous=old, rollout_finished=finished)


def _replaced_build(artifact: SnapshotArtifact) -> str:
    """The fingerprint Kosli says this artifact replaced where it runs ('' when it says none)."""
    if not (artifact.flows or artifact.diff):
        return ""  # nothing to say it with; skips looking for the build flow, per artifact
    diff = artifact.deployment_diff
    return diff.previous_fingerprint if diff else ""


def pair_versions(
    gone: Iterable[SnapshotArtifact], new: Iterable[SnapshotArtifact]
) -> tuple[
    list[SnapshotArtifact], list[SnapshotArtifact], list[tuple[SnapshotArtifact, SnapshotArtifact]]
]:
    """Pair what went with what came: first as Kosli paired them (a newcomer's
    `deployment_diff.previous_fingerprint` naming one that went, whatever their names), then
    the rest when both belong to one service.

    Returns (removed, added, (old, new) pairs), each in start order."""
    arrived = sorted(new, key=by_start)
    left = sorted(gone, key=by_start)
    went: dict[str, SnapshotArtifact] = {}
    for artifact in left:
        went.setdefault(artifact.fingerprint, artifact)
    kosli: dict[int, SnapshotArtifact] = {}  # id(old) -> new, by identity
    for artifact in arrived:
        named = _replaced_build(artifact)
        replaced = went.get(named) if named else None
        if replaced is not None and id(replaced) not in kosli:
            kosli[id(replaced)] = artifact
    claimed = {id(a) for a in kosli.values()}
    waiting: dict[str, list[SnapshotArtifact]] = {}
    for artifact in arrived:
        if id(artifact) not in claimed:
            waiting.setdefault(service_of(artifact.name, artifact.flow), []).append(artifact)
    removed: list[SnapshotArtifact] = []
    pairs: list[tuple[SnapshotArtifact, SnapshotArtifact]] = []
    paired: set[int] = set()  # by identity: two entries may share a fingerprint
    for old in left:
        partner: SnapshotArtifact | None = kosli.get(id(old))
        if partner is None:
            partners = waiting.get(service_of(old.name, old.flow))
            partner = partners.pop(0) if partners else None
        if partner is None:
            removed.append(old)
        else:
            paired.add(id(partner))
            pairs.append((old, partner))
    unpaired = [a for a in arrived if id(a) not in paired]
    return removed, unpaired, pairs


def snapshot_changes(previous: Snapshot, current: Snapshot) -> ChangeSet:
    """What changed from `previous` to `current`, compared by fingerprint.

    Kosli's own annotations are not trusted for this: they describe the change from whatever
    snapshot came just before, and a catch-up or a diff may compare snapshots further apart
    (only a restart between adjacent snapshots is read from them: see _in_place). An
    instance count alone is no change: today's Kosli makes no snapshot for it.
    Its `deployment_diff.previous_fingerprint` (the build an artifact replaced) pairs versions
    only where it names an artifact of `previous` that is gone, or that stops while its
    successor runs; otherwise versions pair by service.
    """
    before = {a.fingerprint: a for a in previous.running}
    after = {a.fingerprint: a for a in current.running}
    gone = [a for f, a in before.items() if f not in after]
    # One pass over what runs now: what came, what fails its policies now, what scaled.
    came: list[SnapshotArtifact] = []
    failing: list[SnapshotArtifact] = []
    in_place: list[Change] = []  # the same build: provenance, compliance again, restarts
    adjacent = previous.env == current.env and previous.index + 1 == current.index
    for fingerprint, a in after.items():
        was = before.get(fingerprint)
        if was is None:
            came.append(a)
        elif (same := _in_place(was, a, adjacent)) is not None:
            in_place.append(same)
        if a.compliant is False and a.flow and (was is None or was.compliant is not False):
            failing.append(a)
    # A rogue artifact is its own alert, never "the new version" of a real service.
    rogue = [
        Change(Kind.ROGUE, a, reasons=reasons(a)) for a in sorted(came, key=by_start) if not a.flow
    ]
    removed, added, pairs = pair_versions(gone, [a for a in came if a.flow])
    takeovers = [_takeover(old, new, finished=False) for old, new in pairs]
    stopped: list[Change] = []
    gone_services = {service_of(old.name, old.flow) for old in removed}
    newest = _newest_by_service(after.values(), gone_services) if removed else {}
    successors = _successors(after.values(), {o.fingerprint for o in removed}) if removed else {}
    for old in removed:
        # A rolling deploy starts the new version in one snapshot and stops the old one in
        # the next: an old version stopping while its successor (Kosli's word, else the
        # newest of its service) still runs ends a replacement.
        successor = successors.get(old.fingerprint) or newest.get(service_of(old.name, old.flow))
        if successor is None:
            stopped.append(Change(Kind.STOPPED, old))
        else:
            takeovers.append(_takeover(old, successor, finished=True))
    non_compliant = [
        Change(Kind.NON_COMPLIANT, a, reasons=reasons(a)) for a in sorted(failing, key=by_start)
    ]
    in_place.sort(key=lambda c: by_start(c.artifact))
    changes = [
        *rogue,
        *non_compliant,
        *(c for c in takeovers if c.kind == Kind.ROLLED_BACK),
        *(c for c in takeovers if c.kind == Kind.REPLACED),
        *(Change(Kind.STARTED, a) for a in added),
        *stopped,
        *(c for kind in (Kind.PROVENANCE, Kind.COMPLIANT, Kind.RESTARTED) for c in in_place
          if c.kind == kind),
    ]  # fmt: skip
    was_compliant, now_compliant = previous.compliant, current.compliant
    return ChangeSet(
        before=f"{previous.env}#{previous.index}",
        after=f"{current.env}#{current.index}",
        at=current.timestamp,
        changes=tuple(changes),
        compliance=(
            (was_compliant, now_compliant)
            if was_compliant is not None
            and now_compliant is not None
            and was_compliant != now_compliant
            else None
        ),
        timeline=previous.env == current.env and previous.index < current.index,
    )


def _in_place(was: SnapshotArtifact, now: SnapshotArtifact, adjacent: bool) -> Change | None:
    """The same build (fingerprint) changed where it runs: it gained provenance, turned
    compliant again, or had its instances replaced. Turning non-compliant is an alert of
    its own (snapshot_changes); a count alone is nothing."""
    if not was.flow and now.flow:
        still = reasons(now) if now.compliant is False else ()
        return Change(Kind.PROVENANCE, now, previous=was, reasons=still)
    if was.compliant is False and now.compliant is True:
        return Change(Kind.COMPLIANT, now, previous=was, allow_listed=not now.flow)
    if was.compliant != now.compliant or now.instances != was.instances:
        return None
    # Kosli's `changed` with the count unchanged (3 -> 3) between adjacent snapshots, or new
    # start times: the instances were replaced by new ones of the same image.
    kosli_says = adjacent and now.change == "changed" and now.was == now.instances
    restarted = bool(was.starts and now.starts) and was.starts != now.starts
    return Change(Kind.RESTARTED, now, previous=was) if kosli_says or restarted else None


def _newest_by_service(
    running: Iterable[SnapshotArtifact], services: set[str]
) -> dict[str, SnapshotArtifact]:
    """The most recently started build (with provenance) of each of `services` that runs."""
    newest: dict[str, SnapshotArtifact] = {}
    for artifact in running:
        if not artifact.flow:
            continue
        service = service_of(artifact.name, artifact.flow)
        if service in services and (
            service not in newest or by_start(artifact) >= by_start(newest[service])
        ):
            newest[service] = artifact
    return newest


def _successors(
    running: Iterable[SnapshotArtifact], stopped: set[str]
) -> dict[str, SnapshotArtifact]:
    """For each fingerprint of `stopped`, the newest running build Kosli says replaced it."""
    successors: dict[str, SnapshotArtifact] = {}
    for artifact in running:
        replaced = _replaced_build(artifact) if artifact.flow else ""
        if (
            replaced
            and replaced in stopped
            and (replaced not in successors or by_start(artifact) >= by_start(successors[replaced]))
        ):
            successors[replaced] = artifact
    return successors


def _as_snapshot_artifact(artifact: DiffArtifact) -> SnapshotArtifact:
    return SnapshotArtifact(
        name=artifact.name,
        fingerprint=artifact.fingerprint,
        flow=artifact.flow,
        git_commit=commit_sha(artifact.commit_url),
        commit_url=artifact.commit_url,
        compliant=None,
        started_at=artifact.started_at,
        instances=artifact.instances,
        change="unchanged",
    )


def env_diff_changes(diff: SnapshotDiff) -> ChangeSet:
    """Kosli's env-diff (two environments): what is only in one, paired by service."""
    removed, added, pairs = pair_versions(
        map(_as_snapshot_artifact, diff.only_before), map(_as_snapshot_artifact, diff.only_after)
    )
    scaled = [
        Change(
            Kind.SCALED,
            replace(_as_snapshot_artifact(a), instances=a.instances_after),
            instances_before=a.instances_before,
        )
        for a in diff.scaled
    ]
    return ChangeSet(
        before=diff.before,
        after=diff.after,
        at=None,
        changes=(
            *(Change(Kind.REPLACED, new, previous=old) for old, new in pairs),
            *(Change(Kind.STARTED, a) for a in added),
            *(Change(Kind.STOPPED, a) for a in removed),
            *scaled,
        ),
        timeline=False,
    )


def reevaluated(snapshot: Snapshot, recorded: bool) -> ChangeSet:
    """Kosli now answers `snapshot`, read before with compliance `recorded`, with another:
    what fails in it now, with its reasons. Both sides are the one snapshot."""
    failing = sorted((a for a in snapshot.running if a.compliant is False), key=by_start)
    ref = f"{snapshot.env}#{snapshot.index}"
    return ChangeSet(
        before=ref,
        after=ref,
        at=snapshot.timestamp,
        changes=tuple(
            Change(Kind.NON_COMPLIANT if a.flow else Kind.ROGUE, a, reasons=reasons(a))
            for a in failing
        ),
        compliance=(recorded, not recorded),
    )


def told_allow_listed(changes: ChangeSet, fingerprints: Collection[str]) -> ChangeSet:
    """Kosli Actions said these builds were allow-listed: their return to compliance is
    that, not a guess."""
    if not fingerprints:
        return changes
    return replace(
        changes,
        changes=tuple(
            replace(c, allow_listed=True, allow_list_told=True)
            if c.kind == Kind.COMPLIANT and c.artifact.fingerprint in fingerprints
            else c
            for c in changes.changes
        ),
    )

"""What one new snapshot means for the people watching an environment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.changes import Replacement, by_start, pair_versions, service_of
from bot.kosli.models import Snapshot, SnapshotArtifact


@dataclass(frozen=True)
class Scaled:
    artifact: SnapshotArtifact
    instances_before: int


@dataclass(frozen=True)
class Transition:
    """From snapshot `before` to `after` of `env`: every change kind the watcher reports."""

    env: str
    before: int
    after: int
    at: datetime
    started: tuple[SnapshotArtifact, ...]
    stopped: tuple[SnapshotArtifact, ...]
    replaced: tuple[Replacement[SnapshotArtifact], ...]
    scaled: tuple[Scaled, ...]
    # Running now and a reason to look: newly non-compliant, no provenance, no deployment.
    non_compliant: tuple[SnapshotArtifact, ...]
    rogue: tuple[SnapshotArtifact, ...]
    undeployed: tuple[SnapshotArtifact, ...]
    # (before, after) when the environment's own compliance flipped.
    compliance: tuple[bool, bool] | None

    @property
    def risky(self) -> bool:
        """Worth telling even a channel that only wants trouble."""
        return bool(self.non_compliant or self.rogue or self.compliance == (True, False))

    @property
    def is_empty(self) -> bool:
        return not (
            self.started
            or self.stopped
            or self.replaced
            or self.scaled
            or self.non_compliant
            or self.rogue
            or self.undeployed
            or self.compliance
        )


def transition(previous: Snapshot, current: Snapshot) -> Transition:
    """Compare what ran in `previous` with what runs in `current`, by fingerprint.

    Kosli's own annotations are not trusted for this: they describe the change from whatever
    snapshot came just before, and a catch-up may compare snapshots further apart.
    """
    before = {a.fingerprint: a for a in previous.running}
    after = {a.fingerprint: a for a in current.running}
    gone = [a for f, a in before.items() if f not in after]
    came = [a for f, a in after.items() if f not in before]
    # A rogue artifact is its own alert, never "the new version" of a real service.
    rogue = tuple(sorted((a for a in came if not a.flow), key=by_start))
    removed, added, replaced = pair_versions(gone, [a for a in came if a.flow])
    removed, rolled = _rolled_out(removed, current)
    scaled = tuple(
        Scaled(a, before[f].instances)
        for f, a in sorted(after.items(), key=lambda item: by_start(item[1]))
        if f in before and before[f].instances != a.instances
    )
    non_compliant = tuple(
        a
        for a in sorted(after.values(), key=by_start)
        if a.compliant is False
        and a.flow
        and (a.fingerprint not in before or before[a.fingerprint].compliant is not False)
    )
    undeployed = tuple(a for a in sorted(came, key=by_start) if a.flow and not a.deployments)
    was, now = previous.compliant, current.compliant
    compliance = (was, now) if was is not None and now is not None and was != now else None
    return Transition(
        env=current.env,
        before=previous.index,
        after=current.index,
        at=current.timestamp,
        started=added,
        stopped=removed,
        replaced=(*replaced, *rolled),
        scaled=scaled,
        non_compliant=non_compliant,
        rogue=rogue,
        undeployed=undeployed,
        compliance=compliance,
    )


def _rolled_out(
    removed: tuple[SnapshotArtifact, ...], current: Snapshot
) -> tuple[tuple[SnapshotArtifact, ...], tuple[Replacement[SnapshotArtifact], ...]]:
    """A rolling deploy starts the new version in one snapshot and stops the old one in the
    next: an old version stopping while its service still runs is the end of a replacement."""
    stopped: list[SnapshotArtifact] = []
    rolled: list[Replacement[SnapshotArtifact]] = []
    for old in removed:
        service = service_of(old.name, old.flow)
        successor = next(
            (
                a
                for a in sorted(current.running, key=by_start, reverse=True)
                if a.flow and service_of(a.name, a.flow) == service
            ),
            None,
        )
        if successor is None:
            stopped.append(old)
        else:
            rolled.append(Replacement(old, successor))
    return tuple(stopped), tuple(rolled)


@dataclass(frozen=True)
class Baseline:
    """What a channel is told once, when it starts watching: what runs now and what is wrong."""

    snapshot: Snapshot

    @property
    def running(self) -> tuple[SnapshotArtifact, ...]:
        return tuple(sorted(self.snapshot.running, key=lambda a: a.name))

    @property
    def non_compliant(self) -> tuple[SnapshotArtifact, ...]:
        return tuple(a for a in self.running if a.compliant is False and a.flow)

    @property
    def rogue(self) -> tuple[SnapshotArtifact, ...]:
        return tuple(a for a in self.running if not a.flow)


@dataclass(frozen=True)
class Timeline:
    """An environment's changes over an incident's window, oldest first."""

    env: str
    start: Snapshot
    transitions: tuple[Transition, ...]
    skipped: int  # older transitions in the window left out of a thread (too many)
    latest: int
    builds: dict[str, str]  # fingerprint -> build URL

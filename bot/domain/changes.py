"""What changed between two snapshots, in the words an on-call engineer needs."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Protocol, TypeVar

from bot.kosli.models import DiffArtifact, SnapshotDiff

_COMMIT_URL = re.compile(
    r"(?P<repo>https?://[^\s]+?)/(?P<dash>-/)?commits?/(?P<sha>[0-9a-fA-F]{7,40})"
)


def commit_sha(commit_url: str) -> str:
    """The commit a URL points at ('' when the URL is not a commit link)."""
    match = _COMMIT_URL.fullmatch(commit_url.strip()) if commit_url else None
    return match["sha"] if match else ""


def compare_url(old_commit_url: str, new_commit_url: str) -> str | None:
    """A GitHub or GitLab compare view between two commits of the same repository."""
    old = _COMMIT_URL.fullmatch(old_commit_url.strip()) if old_commit_url else None
    new = _COMMIT_URL.fullmatch(new_commit_url.strip()) if new_commit_url else None
    if not old or not new or old["repo"] != new["repo"] or old["sha"] == new["sha"]:
        return None
    if "github" in old["repo"]:
        return f"{old['repo']}/compare/{old['sha']}...{new['sha']}"
    if old["dash"]:
        return f"{old['repo']}/-/compare/{old['sha']}...{new['sha']}"
    return None


def service_of(name: str, flow: str) -> str:
    """The service an artifact belongs to: its flow, else its image name without registry or tag."""
    if flow:
        return flow
    image = name.split("@", 1)[0].rsplit("/", 1)[-1]
    return image.split(":", 1)[0]


class Versioned(Protocol):
    """What pairing and rendering need of an artifact, from a diff or from a snapshot."""

    @property
    def name(self) -> str: ...
    @property
    def flow(self) -> str: ...
    @property
    def fingerprint(self) -> str: ...
    @property
    def commit_url(self) -> str: ...
    @property
    def started_at(self) -> datetime | None: ...


A = TypeVar("A", bound=Versioned)


@dataclass(frozen=True)
class Replacement(Generic[A]):
    old: A
    new: A

    @property
    def compare_url(self) -> str | None:
        return compare_url(self.old.commit_url, self.new.commit_url)


@dataclass(frozen=True)
class Changes:
    """A diff with old and new versions of one service paired up as a replacement."""

    before: str
    after: str
    removed: tuple[DiffArtifact, ...]
    added: tuple[DiffArtifact, ...]
    replaced: tuple[Replacement[DiffArtifact], ...]
    scaled: tuple[DiffArtifact, ...]

    @property
    def is_empty(self) -> bool:
        return not (self.removed or self.added or self.replaced or self.scaled)

    @property
    def is_timeline(self) -> bool:
        """Two snapshots of one environment, older first: 'started' and 'stopped' make sense."""
        env_before, _, index_before = self.before.rpartition("#")
        env_after, _, index_after = self.after.rpartition("#")
        if env_before != env_after or not (index_before.isdigit() and index_after.isdigit()):
            return False
        return int(index_before) < int(index_after)


def by_start(artifact: Versioned) -> tuple[float, str]:
    started = artifact.started_at.timestamp() if artifact.started_at else 0.0
    return started, artifact.name


def pair_versions(
    gone: Iterable[A], new: Iterable[A]
) -> tuple[tuple[A, ...], tuple[A, ...], tuple[Replacement[A], ...]]:
    """Pair what went with what came when both belong to one service.

    Returns (removed, added, replaced), each in start order.
    """
    unpaired_new = sorted(new, key=by_start)
    removed: list[A] = []
    replaced: list[Replacement[A]] = []
    for old in sorted(gone, key=by_start):
        service = service_of(old.name, old.flow)
        partner = next((a for a in unpaired_new if service_of(a.name, a.flow) == service), None)
        if partner is None:
            removed.append(old)
        else:
            unpaired_new.remove(partner)
            replaced.append(Replacement(old, partner))
    return tuple(removed), tuple(unpaired_new), tuple(replaced)


def changes_between(diff: SnapshotDiff) -> Changes:
    removed, added, replaced = pair_versions(diff.only_before, diff.only_after)
    return Changes(
        before=diff.before,
        after=diff.after,
        removed=removed,
        added=added,
        replaced=replaced,
        scaled=tuple(sorted(diff.scaled, key=by_start)),
    )

"""The commits window of a change: the commits between the build that ran and the one that
took over. The commits come from the git host; this module only says what to ask and holds
the answer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from bot.domain.changes import Change, ChangeSet, Kind, short_name
from bot.githost.models import Comparison

TAKEOVERS = (Kind.REPLACED, Kind.ROLLED_BACK)


@dataclass(frozen=True)
class CommitsWindow:
    """`comparison` is old...new, or new...old when the new build is behind the old one (a
    rollback: its commits are the ones taken out). `failure` says why there is none."""

    old: str  # commit sha of the build that ran before
    new: str  # commit sha of the build that runs now
    comparison: Comparison | None = None
    rolled_back: bool = False
    failure: str = ""
    compare_url: str = ""


@dataclass(frozen=True)
class WindowEnds:
    """What to ask the git host for one change."""

    commit_url: str  # the new build's commit URL: names the host and the repository
    old: str
    new: str


def window_ends(change: Change) -> WindowEnds | None:
    """A replaced or rolled-back build whose old and new commits are both known and differ."""
    old = change.previous
    if change.kind not in TAKEOVERS or old is None:
        return None
    new = change.artifact
    if not old.git_commit or not new.git_commit or old.git_commit == new.git_commit:
        return None
    return WindowEnds(new.commit_url or old.commit_url, old.git_commit, new.git_commit)


@dataclass(frozen=True)
class ReplacedBuild:
    """A build a change replaced, named as the reply under its alert names it, and the
    commits window to ask the git host for."""

    label: str  # 'creator:31dee35 → creator:b7a5908'
    ends: WindowEnds


def replaced_builds(changes: ChangeSet) -> tuple[ReplacedBuild, ...]:
    """Every replaced build of these changes whose commits window the git host can tell."""
    found = []
    for change in changes.changes:
        ends = window_ends(change)
        if ends is not None and change.previous is not None:
            label = f"{short_name(change.previous.name)} → {short_name(change.artifact.name)}"
            found.append(ReplacedBuild(label, ends))
    return tuple(found)


def all_ends(changesets: list[ChangeSet]) -> list[WindowEnds]:
    """Every distinct commits window in these changes, in order."""
    seen: dict[tuple[str, str], WindowEnds] = {}
    for changes in changesets:
        for change in changes.changes:
            ends = window_ends(change)
            if ends is not None:
                seen.setdefault((ends.old, ends.new), ends)
    return list(seen.values())


def by_ancestry(changes: ChangeSet, windows: Mapping[tuple[str, str], CommitsWindow]) -> ChangeSet:
    """Replaced or rolled back, decided by the git history where it could be read: a new
    build behind the old one is a rollback, one ahead of it a replacement. Elsewhere the
    commit timestamps (snapshot_changes) stand."""
    decided = []
    for change in changes.changes:
        ends = window_ends(change)
        window = windows.get((ends.old, ends.new)) if ends else None
        if window is not None and window.comparison is not None:
            if window.rolled_back:
                change = replace(change, kind=Kind.ROLLED_BACK)
            elif window.comparison.status == "ahead":
                change = replace(change, kind=Kind.REPLACED)
        decided.append(change)
    return replace(changes, changes=tuple(decided))

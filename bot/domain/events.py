"""Kosli's event log read for the bot: which snapshots of a window hold a change worth reading
in full, and what happened in each snapshot, in a few words (`log`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from itertools import groupby

from bot.domain.changes import Change, ChangeSet, Kind, by_start, short_name
from bot.kosli.events import EnvironmentEvent
from bot.kosli.models import Snapshot

NAMES_SHOWN = 6  # names in one phrase of a `log` row; the rest are counted


def needs_snapshots(base: Snapshot, events: Iterable[EnvironmentEvent], last: int) -> list[int]:
    """The snapshots after `base` up to `last` whose changes must be read from full snapshots:
    a build started or exited, provenance arrived, an artifact's or the environment's
    compliance changed, or Kosli said something this does not know. A snapshot holding only
    restarts (`changed` with the compliance unchanged) changes nothing the bot tells, and one
    Kosli logged no event for is read in full, in case.

    `events` must be every event of the window: compliance is followed from `base` on."""
    compliant = {a.fingerprint: a.compliant for a in base.running}
    environment = base.compliant
    by_index: dict[int, list[EnvironmentEvent]] = {}
    for event in events:
        by_index.setdefault(event.snapshot_index, []).append(event)
    needed = []
    for index in range(base.index + 1, last + 1):
        happened = by_index.get(index, [])
        now = next((e.snapshot_compliance for e in happened), None)
        changed = not happened or now is None or now != environment
        for event in happened:
            known = compliant.get(event.sha256, _UNKNOWN)
            if event.type == "exited":
                compliant.pop(event.sha256, None)
                changed = True
                continue
            compliant[event.sha256] = event.artifact_compliance
            restart = event.type == "changed" and known == event.artifact_compliance
            changed = changed or not restart
        environment = now
        if changed:
            needed.append(index)
    return needed


_UNKNOWN = object()  # an artifact the window has not seen running


def restarts(
    env: str, index: int, events: Iterable[EnvironmentEvent], before: Snapshot
) -> ChangeSet:
    """A snapshot that only restarted builds (needs_snapshots passed it over), told from its
    events: each build as it ran in `before`, the last snapshot read ahead of it (only
    restarts happened in between, so it is the same build with as many instances)."""
    running = {a.fingerprint: a for a in before.running}
    happened = list(events)
    same = sorted({running[e.sha256] for e in happened if e.sha256 in running}, key=by_start)
    changes = tuple(Change(Kind.RESTARTED, a, previous=a) for a in same)
    at = next((e.reported_at for e in happened if e.reported_at), None)
    return ChangeSet(f"{env}#{index - 1}", f"{env}#{index}", at, changes)


def what_happened(events: Iterable[EnvironmentEvent]) -> str:
    """One snapshot's events in a line: 'saver, creator: instances replaced · spooler:
    provenance updated'. Builds that start or stop keep their tag (which version)."""
    phrases: dict[str, tuple[int, list[str]]] = {}  # words -> (rank by kind, names)
    for event in events:
        kind = "started" if event.type.startswith("started") else event.type
        words, tagged = _PHRASES.get(kind, (kind, False))
        if kind == "started" and not event.pipeline:
            words = "started, no provenance"
        elif kind in ("started", "changed") and event.artifact_compliance is False:
            words = f"{kind}, non-compliant"
        name = short_name(event.artifact_name) or event.sha256[:7]
        name = name if tagged else name.split(":", 1)[0]
        rank = list(_PHRASES).index(kind) if kind in _PHRASES else len(_PHRASES)
        names = phrases.setdefault(words, (rank, []))[1]
        if name not in names:
            names.append(name)
    ranked = sorted(phrases.items(), key=lambda p: p[1][0])
    return " · ".join(f"{_names(names)}: {words}" for words, (_, names) in ranked)


# Kosli says `changed` for a restart and for a build's compliance flipping in place: our
# words for the flip, as the diff says it (compliance_followed).
TURNED_NON_COMPLIANT, COMPLIANT_AGAIN = "turned-non-compliant", "compliant-again"

# Kosli's event type -> (our words, whether the name keeps its tag)
_PHRASES = {
    "started": ("started", True),
    "exited": ("stopped", True),
    TURNED_NON_COMPLIANT: ("non-compliant", False),
    COMPLIANT_AGAIN: ("compliant again", False),
    "changed": ("instances replaced", False),
    "updated-provenance": ("provenance updated", False),
}


def compliance_followed(events: Iterable[EnvironmentEvent]) -> list[EnvironmentEvent]:
    """The events, each `changed` that flips its build's compliance (as the window's older
    events left it) named for the flip, so `log` never calls it a restart. A build the
    window saw no earlier event of keeps Kosli's word."""
    known: dict[str, bool | None] = {}
    followed = []
    for event in sorted(events, key=lambda e: e.snapshot_index):  # oldest first
        was, now = known.get(event.sha256), event.artifact_compliance
        if event.type == "changed" and was is not None and now is not None and was != now:
            event = replace(event, type=COMPLIANT_AGAIN if now else TURNED_NON_COMPLIANT)
        known[event.sha256] = now
        followed.append(event)
    return followed


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:NAMES_SHOWN])
    more = len(names) - NAMES_SHOWN
    return f"{shown} and {more} more" if more > 0 else shown


def by_snapshot(events: Iterable[EnvironmentEvent]) -> dict[int, tuple[EnvironmentEvent, ...]]:
    """Events grouped by snapshot index (Kosli sends them newest first, grouped)."""
    ordered = sorted(events, key=lambda e: -e.snapshot_index)
    return {i: tuple(group) for i, group in groupby(ordered, key=lambda e: e.snapshot_index)}

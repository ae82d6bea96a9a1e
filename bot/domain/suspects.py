"""Which change most likely broke it: the changes before an incident's start, ranked by the
evidence the bot read, each reason shown.

Pure. The facts that need I/O (where a build ran before, the commits it brings) are read by
the handler (bot/commands/suspects.py) and handed in here; a fact it could not read is None,
and the ranking names it instead of guessing. Recency is a lead, never a verdict: it weighs
no more than a new build does, and a restart or a day elsewhere outweighs it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from bot.domain.changes import Change, ChangeSet, Kind, service_of, short_name
from bot.domain.timeago import duration_words
from bot.kosli.models import HistoryEvent, SnapshotArtifact


class Fact(StrEnum):
    """Each kind of reason, named as its weight is."""

    NEAR = "near"  # began running at most 15 minutes before the start
    RECENT = "recent"  # at most an hour before
    SAME_DAY = "same day"  # at most six hours before
    NEW_BUILD = "new build"
    RESTART = "restart"  # the same build, instances replaced
    RETURN = "return"  # a build that ran here before
    COMPLIANCE = "compliance turned"
    PROVENANCE = "provenance arrived"
    GONE = "gone"  # no longer running at the start
    NEVER_ELSEWHERE = "never ran elsewhere"
    SOAKED = "soaked"  # a day or more elsewhere, not replaced there
    RAN_ELSEWHERE = "ran elsewhere"  # less than a day, or replaced there after a day
    PULLED_ELSEWHERE = "replaced elsewhere"  # replaced there within a day
    NON_COMPLIANT = "non-compliant"
    NO_PROVENANCE = "no provenance"
    FAST_TRACKED = "fast-tracked"  # commit to running here within an hour
    COMMITS = "commits"  # per commit, up to MAX_COUNTED
    MERGES = "merges"  # per merge commit, up to MAX_COUNTED
    REVERT_HOTFIX = "revert or hotfix"  # per such title, up to MAX_COUNTED


# The one table of weights: positive is more suspect.
WEIGHTS: dict[Fact, float] = {
    Fact.NEAR: 2.0,
    Fact.RECENT: 1.0,
    Fact.SAME_DAY: 0.5,
    Fact.NEW_BUILD: 2.0,
    Fact.RESTART: -2.0,
    Fact.RETURN: -1.0,
    Fact.COMPLIANCE: 0.5,
    Fact.PROVENANCE: -1.0,
    Fact.GONE: -4.0,
    Fact.NEVER_ELSEWHERE: 2.0,
    Fact.SOAKED: -3.0,
    Fact.RAN_ELSEWHERE: -1.0,
    Fact.PULLED_ELSEWHERE: 0.5,
    Fact.NON_COMPLIANT: 2.0,
    Fact.NO_PROVENANCE: 3.0,
    Fact.FAST_TRACKED: 1.5,
    Fact.COMMITS: 0.25,
    Fact.MERGES: 0.25,
    Fact.REVERT_HOTFIX: 1.0,
}
MAX_COUNTED = 8  # commits beyond this say no more about a change
SOAK = timedelta(days=1)
FAST = timedelta(hours=1)
HOW = (
    "Ranked by evidence: a new build above a restart, never run elsewhere, non-compliant or "
    "without provenance, fast from commit, many commits, near the start; a day elsewhere "
    "lowers it. Evidence, not proof."
)
# The kinds of change that can be a suspect (a stop or a compliance that came back cannot).
SUSPECT_KINDS = (
    Kind.ROGUE,
    Kind.NON_COMPLIANT,
    Kind.ROLLED_BACK,
    Kind.REPLACED,
    Kind.STARTED,
    Kind.PROVENANCE,
    Kind.RESTARTED,
)
ARRIVALS = (Kind.ROGUE, Kind.ROLLED_BACK, Kind.REPLACED, Kind.STARTED)
_FLAGGED = re.compile(r"\b(revert|hotfix|hot-fix)\b", re.IGNORECASE)
_SIGHTING = re.compile(
    r"^(?P<what>Started running in|No longer running in) (?P<env>\S+)#(?P<index>\d+) environment$"
)


@dataclass(frozen=True)
class Sighting:
    """Where a build ran, from Kosli's history of it: `until` None while it still runs."""

    env: str
    since: datetime
    until: datetime | None


@dataclass(frozen=True)
class Size:
    """What the git host says a replaced build brings."""

    commits: int
    merges: int
    flagged: int  # titles that say revert or hotfix


@dataclass(frozen=True)
class Candidate:
    """One change before (or after) an incident's start, with the facts read about it.
    `sightings` and `size` are None when they could not be read (or do not apply)."""

    env: str
    change: Change
    at: datetime  # when the build began running here, else when Kosli recorded the change
    snapshot: int  # the snapshot that recorded it
    gone: int = 0  # the snapshot where it stopped running, before the start
    sightings: tuple[Sighting, ...] | None = None
    size: Size | None = None

    @property
    def fingerprint(self) -> str:
        return self.change.artifact.fingerprint

    @property
    def service(self) -> str:
        artifact = self.change.artifact
        return service_of(artifact.name, artifact.flow)

    @property
    def image(self) -> str:
        """The name people say: the image without registry or tag ('payments')."""
        return service_of(self.change.artifact.name, "")

    @property
    def label(self) -> str:
        """'creator 31dee35 → b7a5908', 'ledger 81bd004 restarted'."""
        new = _version(self.change.artifact)
        previous = self.change.previous
        if self.change.kind in ARRIVALS and previous is not None:
            return f"{self.image} {_version(previous)} → {new}"
        words = {
            Kind.STARTED: "started",
            Kind.ROGUE: "started",
            Kind.RESTARTED: "restarted",
            Kind.NON_COMPLIANT: "turned non-compliant",
            Kind.PROVENANCE: "got its provenance",
        }
        return f"{self.image} {new} {words.get(self.change.kind, self.change.kind.value)}"


@dataclass(frozen=True)
class Reason:
    fact: Fact
    words: str  # '' for a fact the label already says (a new build)
    count: int = 1

    @property
    def points(self) -> float:
        return WEIGHTS[self.fact] * self.count


@dataclass(frozen=True)
class Suspect:
    candidate: Candidate
    reasons: tuple[Reason, ...]

    @property
    def score(self) -> float:
        return sum(r.points for r in self.reasons)

    @property
    def line(self) -> str:
        """'creator 31dee35 → b7a5908 · 3 min before · never ran in aws-beta · 5 commits'."""
        return " · ".join([self.candidate.label, *(r.words for r in self.reasons if r.words)])


@dataclass(frozen=True)
class Ranking:
    """Every candidate, most suspect first; changes after the start apart, in time order;
    `unread` names the facts that could not be read."""

    start: datetime
    suspects: tuple[Suspect, ...]
    after: tuple[Candidate, ...]
    unread: tuple[str, ...] = ()

    @property
    def top(self) -> tuple[Suspect, ...]:
        return self.suspects[:3]


def _version(artifact: SnapshotArtifact) -> str:
    """'creator:31dee35@sha256:…' -> '31dee35'; the commit or fingerprint where no tag says."""
    name = short_name(artifact.name)
    tag = name.rpartition(":")[2] if ":" in name else ""
    return tag or artifact.git_commit[:7] or artifact.fingerprint[:7]


def sightings(history: Iterable[HistoryEvent]) -> tuple[Sighting, ...]:
    """Where a build ran, from Kosli's history events ('Started running in aws-beta#84
    environment', 'No longer running in aws-beta#119 environment'), oldest first."""
    found: list[Sighting] = []
    dated = sorted((e.timestamp, e.event) for e in history if e.timestamp is not None)
    for when, text in dated:
        match = _SIGHTING.match(text.strip())
        if match is None:
            continue
        env = match["env"]
        if match["what"].startswith("Started"):
            found.append(Sighting(env, when, None))
            continue
        open_at = next(
            (
                i
                for i in range(len(found) - 1, -1, -1)
                if found[i].env == env and not found[i].until
            ),
            None,
        )
        if open_at is not None:
            found[open_at] = replace(found[open_at], until=when)
    return tuple(found)


def candidates(
    env: str, changesets: Sequence[ChangeSet], start: datetime
) -> tuple[list[Candidate], list[Candidate]]:
    """(before, after) the start, one candidate per change. A rolling deploy starts a build
    in one snapshot and finishes the takeover in the next: one candidate, the takeover, from
    when the build began running. A build that stops before the start is marked gone."""
    found: list[Candidate] = []
    running: dict[str, int] = {}  # fingerprint -> its latest arrival in `found`, while it runs
    for changes in changesets:
        if changes.at is None:
            continue
        # A build that arrives failing its policies is one suspect, its evidence a reason.
        arrived = {c.artifact.fingerprint for c in changes.changes if c.kind in ARRIVALS}
        for change in changes.changes:
            if change.kind == Kind.NON_COMPLIANT and change.artifact.fingerprint in arrived:
                continue
            stopped = change.artifact if change.kind == Kind.STOPPED else change.previous
            if change.kind in (Kind.STOPPED, Kind.REPLACED, Kind.ROLLED_BACK) and stopped:
                gone = running.pop(stopped.fingerprint, None)
                if gone is not None and changes.at < start:
                    found[gone] = replace(found[gone], gone=changes.after_index)
            if change.kind not in SUSPECT_KINDS:
                continue
            at = changes.at
            started = change.artifact.started_at
            arrival = change.kind in ARRIVALS
            if arrival and started is not None and started < at:
                at = started
            rollout = running.get(change.artifact.fingerprint)
            if (
                rollout is not None
                and change.rollout_finished
                and found[rollout].change.kind == Kind.STARTED
            ):
                found[rollout] = replace(
                    found[rollout], change=change, at=min(found[rollout].at, at)
                )
                continue
            found.append(Candidate(env, change, at, changes.after_index))
            if arrival:
                running[change.artifact.fingerprint] = len(found) - 1
    before = [c for c in found if c.at < start]
    after = sorted((c for c in found if c.at >= start), key=lambda c: c.at)
    return before, after


def rank(
    before: Iterable[Candidate],
    after: Iterable[Candidate],
    start: datetime,
    elsewhere: dict[str, tuple[str, ...]],
    unread: tuple[str, ...] = (),
) -> Ranking:
    """Most suspect first; ties go to the change nearer the start. `elsewhere`: for each
    environment, the other environments a build could have run in first."""
    suspects = [Suspect(c, tuple(_reasons(c, start, elsewhere.get(c.env, ())))) for c in before]
    suspects.sort(key=lambda s: (-s.score, start - s.candidate.at, s.candidate.label))
    return Ranking(start, tuple(suspects), tuple(after), unread)


def _reasons(c: Candidate, start: datetime, others: tuple[str, ...]) -> list[Reason]:
    reasons = [_recency(start - c.at)]
    reasons += _kind(c)
    reasons += _soak(c, others)
    reasons += _evidence(c.change.artifact, c.change.kind)
    reasons += _speed(c)
    reasons += _size(c.size)
    if c.gone:
        reasons.append(Reason(Fact.GONE, f"gone at #{c.gone}, before the start"))
    return [r for r in reasons if r.count or r.words]


def _ago(delta: timedelta) -> str:
    minutes = delta.total_seconds() / 60
    if minutes < 60:
        return f"{max(1, round(minutes))} min"
    if minutes < 48 * 60:
        return f"{round(minutes / 60)} h"
    return f"{round(minutes / 1440)} d"


def _recency(before: timedelta) -> Reason:
    words = f"{_ago(before)} before"
    if before <= timedelta(minutes=15):
        return Reason(Fact.NEAR, words)
    if before <= timedelta(hours=1):
        return Reason(Fact.RECENT, words)
    if before <= timedelta(hours=6):
        return Reason(Fact.SAME_DAY, words)
    return Reason(Fact.SAME_DAY, words, count=0)  # said, but weighs nothing


def _ran_here_before(c: Candidate) -> bool:
    return any(s.env == c.env and s.since < c.at - timedelta(minutes=1) for s in c.sightings or ())


def _kind(c: Candidate) -> list[Reason]:
    kind = c.change.kind
    if kind == Kind.RESTARTED:
        return [Reason(Fact.RESTART, "same build, instances replaced")]
    if kind == Kind.PROVENANCE:
        return [Reason(Fact.PROVENANCE, "same build, provenance reported late")]
    if kind == Kind.NON_COMPLIANT:
        return [Reason(Fact.COMPLIANCE, "same build, compliance turned")]
    if _ran_here_before(c):
        return [Reason(Fact.RETURN, f"back to a build that ran in {c.env} before")]
    if kind == Kind.ROLLED_BACK:
        return [Reason(Fact.NEW_BUILD, f"an older build, new to {c.env}")]
    return [Reason(Fact.NEW_BUILD, "")]


def _places(envs: Sequence[str]) -> str:
    return ", ".join(envs) if 0 < len(envs) <= 3 else "another environment"


def _soak(c: Candidate, others: tuple[str, ...]) -> list[Reason]:
    if c.change.kind not in ARRIVALS or c.sightings is None:
        return []
    before = [s for s in c.sightings if s.env != c.env and s.since < c.at]
    if not before:
        return [Reason(Fact.NEVER_ELSEWHERE, f"never ran in {_places(others)}")]

    # The longest run elsewhere before it arrived here tells the most.
    def ran(s: Sighting) -> timedelta:
        return min(s.until or c.at, c.at) - s.since

    best = max(before, key=ran)
    length = duration_words(ran(best).total_seconds())
    replaced = best.until is not None and best.until <= c.at
    if ran(best) >= SOAK and not replaced:
        return [Reason(Fact.SOAKED, f"ran {length} in {best.env} first")]
    if replaced and ran(best) < SOAK:
        return [Reason(Fact.PULLED_ELSEWHERE, f"replaced in {best.env} after {length}")]
    return [Reason(Fact.RAN_ELSEWHERE, f"ran {length} in {best.env} first")]


def evidence_words(artifact: SnapshotArtifact) -> str:
    """What it lacked, shortest first: 'no pull-request attestation', 'no provenance'."""
    for decision in artifact.decisions:
        for rule in decision.rules:
            if not rule.failed:
                continue
            if rule.type == "provenance":
                return "no provenance"
            missing = any(r.type == "missing_attestation" for r in rule.resolutions)
            if rule.name:
                return f"no {rule.name} attestation" if missing else f"{rule.name} failed"
    return artifact.reasons[0] if artifact.reasons else "non-compliant"


def _evidence(artifact: SnapshotArtifact, kind: Kind) -> list[Reason]:
    if not artifact.flow and kind != Kind.PROVENANCE:
        return [Reason(Fact.NO_PROVENANCE, "no provenance")]
    if artifact.compliant is False:
        return [Reason(Fact.NON_COMPLIANT, evidence_words(artifact))]
    return []


def _speed(c: Candidate) -> list[Reason]:
    lead = c.change.artifact.lead_time
    if c.change.kind not in ARRIVALS or lead is None or lead <= 0:
        return []  # Kosli's lead time is negative where a build's commit came after it ran
    words = f"commit to {c.env} in {_ago(timedelta(seconds=lead))}"
    return [Reason(Fact.FAST_TRACKED, words, count=int(lead <= FAST.total_seconds()))]


def _size(size: Size | None) -> list[Reason]:
    if size is None:
        return []
    plural = "s" if size.commits != 1 else ""
    reasons = [
        Reason(Fact.COMMITS, f"{size.commits} commit{plural}", min(size.commits, MAX_COUNTED))
    ]
    if size.merges:
        merges = f"{size.merges} merge{'s' if size.merges != 1 else ''}"
        reasons.append(Reason(Fact.MERGES, merges, min(size.merges, MAX_COUNTED)))
    if size.flagged:
        reasons.append(
            Reason(Fact.REVERT_HOTFIX, "a revert or hotfix", min(size.flagged, MAX_COUNTED))
        )
    return reasons


def flagged(title: str) -> bool:
    """A commit title that says revert or hotfix: a change made in a hurry."""
    return bool(_FLAGGED.search(title))


def proposed_fix(cause: Candidate, later: Iterable[Candidate]) -> Candidate | None:
    """The first later arrival of the cause's service where it ran: a rollback to the old
    build or a new build."""
    for c in sorted(later, key=lambda c: c.at):
        if (
            c.env == cause.env
            and c.service == cause.service
            and c.at > cause.at
            and c.change.kind in ARRIVALS
            and c.fingerprint != cause.fingerprint
        ):
            return c
    return None


@dataclass(frozen=True)
class Mark:
    """Someone in the channel said a suspect is the cause, or not it."""

    env: str
    fingerprint: str
    name: str  # the artifact as the button named it ('' when typed without)
    cause: bool
    by: str
    at: datetime


@dataclass(frozen=True)
class Verdict:
    """What the channel decided: each cause (the candidate where it is still in the window)
    with the fix proposed for it, and the suspects marked not it."""

    causes: tuple[tuple[Mark, Candidate | None, Candidate | None], ...]
    not_it: tuple[tuple[Mark, Candidate | None], ...]


def verdict(marks: Iterable[Mark], window: Sequence[Candidate]) -> Verdict:
    """The last mark on each suspect stands; a later change of a cause's service is its fix."""
    last: dict[tuple[str, str], Mark] = {}
    for mark in sorted(marks, key=lambda m: m.at):
        last[(mark.env, mark.fingerprint)] = mark

    def found(mark: Mark) -> Candidate | None:
        return next(
            (c for c in window if c.env == mark.env and c.fingerprint.startswith(mark.fingerprint)),
            None,
        )

    causes = []
    for mark in (m for m in last.values() if m.cause):
        cause = found(mark)
        causes.append((mark, cause, proposed_fix(cause, window) if cause else None))
    not_it = tuple((m, found(m)) for m in last.values() if not m.cause)
    return Verdict(tuple(causes), not_it)

"""The facts behind a suspects ranking that need I/O: where each build ran before (Kosli's
search), which environments there are, and the commits each replaced build brings (the
git host, read by the caller within its budget). Each is read within SUSPECT_BUDGET
seconds; what is not read by then is named in the ranking, never waited for."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

from bot.domain.commits_window import CommitsWindow, window_ends
from bot.domain.suspects import (
    ARRIVALS,
    Candidate,
    Ranking,
    Sighting,
    Size,
    candidates,
    flagged,
    rank,
    sightings,
)
from bot.domain.timeline import Timeline
from bot.kosli import KosliClient, KosliError
from bot.kosli.models import Environment

log = logging.getLogger(__name__)
T = TypeVar("T")

SUSPECT_BUDGET = 3.0  # seconds Kosli's search may take before the ranking goes without it
SEARCHES = 6  # at once
LOOKED_UP = 12  # builds Kosli's search is asked about, the highest ranked without it


@dataclass
class Lookups:
    """Kosli's answers a ranking needs, asked as soon as the window's changes are known (so
    they run while the git host is asked), each awaited within the budget."""

    searches: dict[str, asyncio.Future[tuple[Sighting, ...] | None]]
    listing: asyncio.Future[list[Environment]]
    skipped: int  # builds not looked up: lower in the ranking than LOOKED_UP others


def _candidates(
    timelines: Sequence[Timeline], start: datetime
) -> tuple[list[Candidate], list[Candidate]]:
    before: list[Candidate] = []
    after: list[Candidate] = []
    for timeline in timelines:
        found_before, found_after = candidates(timeline.env, timeline.changesets, start)
        before += found_before
        after += found_after
    return before, after


def look_up(kosli: KosliClient, timelines: Sequence[Timeline], start: datetime) -> Lookups:
    """Begin asking Kosli's search where each build ran before, for the builds that rank
    highest without it (a long window costs a bounded number of requests), and which
    environments there are."""
    before, _ = _candidates(timelines, start)
    first = rank(before, (), start, {}).suspects
    arrivals = list(
        dict.fromkeys(s.candidate.fingerprint for s in first if s.candidate.change.kind in ARRIVALS)
    )
    limit = asyncio.Semaphore(SEARCHES)

    async def runs(fingerprint: str) -> tuple[Sighting, ...] | None:
        async with limit:
            try:
                found = await kosli.search(fingerprint)
            except KosliError as error:
                log.info("search for %s failed: %s", fingerprint[:12], error)
                return None
        match = next((a for a in found if a.fingerprint == fingerprint), None)
        return sightings(match.history) if match else None

    return Lookups(
        {f: asyncio.ensure_future(runs(f)) for f in arrivals[:LOOKED_UP]},
        asyncio.ensure_future(kosli.environments()),
        len(arrivals[LOOKED_UP:]),
    )


async def rank_suspects(
    timelines: Sequence[Timeline],
    start: datetime,
    windows: Mapping[tuple[str, str], CommitsWindow],
    lookups: Lookups,
    budget: float | None = None,
) -> Ranking:
    """Rank the changes before `start`; what `lookups` has not answered within `budget`
    seconds (SUSPECT_BUDGET unless given) is named as not read."""
    before, after = _candidates(timelines, start)
    searches = lookups.searches
    pending: list[asyncio.Future[Any]] = [lookups.listing, *searches.values()]
    await asyncio.wait(pending, timeout=budget or SUSPECT_BUDGET)
    late = any(not task.done() for task in searches.values())
    read = {f: _result(task) for f, task in searches.items()}
    unread: list[str] = []
    if missing := sum(1 for found in read.values() if found is None):
        why = "did not answer in time" if late else "did not say"
        unread.append(f"where {missing} of {_builds(len(read))} ran before (Kosli's search {why})")
    if lookups.skipped:
        unread.append(
            f"where {_builds(lookups.skipped, 'lower-ranked ')} ran before (not looked up)"
        )
    sized = [_sized(c, windows) for c in before]
    if failed := [why for _, why in sized if why]:
        reasons = "; ".join(sorted(set(failed)))
        unread.append(f"the commits of {_builds(len(failed), 'replaced ')} ({reasons})")
    names = _result(lookups.listing)
    envs = (
        [e.name for e in names if e.type != "logical"]
        if names is not None
        else [t.env for t in timelines]
    )
    elsewhere = {t.env: tuple(sorted(e for e in envs if e != t.env)) for t in timelines}
    ranked = [
        replace(c, sightings=read.get(c.fingerprint), size=size)
        for c, (size, _) in zip(before, sized, strict=True)
    ]
    return rank(ranked, after, start, elsewhere, tuple(unread))


def _builds(count: int, which: str = "") -> str:
    return f"{count} {which}build{'s' if count != 1 else ''}"


def _result(task: asyncio.Future[T]) -> T | None:
    """A task's answer; None when it failed or has not answered yet (it is cancelled)."""
    if not task.done():
        task.cancel()
        return None
    if task.cancelled() or task.exception() is not None:
        return None
    return task.result()


def _sized(
    c: Candidate, windows: Mapping[tuple[str, str], CommitsWindow]
) -> tuple[Size | None, str]:
    """The commits a replaced build brings, or why they could not be read."""
    ends = window_ends(c.change)
    window = windows.get((ends.old, ends.new)) if ends else None
    if window is None:
        return None, ""
    if window.comparison is None:
        return None, window.failure
    commits = window.comparison.commits
    return (
        Size(
            window.comparison.total,
            sum(1 for commit in commits if commit.merge),
            sum(1 for commit in commits if flagged(commit.title)),
        ),
        "",
    )

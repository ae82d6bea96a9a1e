"""A window of snapshots read through Kosli's event log: the events first, then only the full
snapshots that hold a change (and the one before each). Where Kosli keeps no event log (404:
2022-era data), answers it with junk or fails, every snapshot of the window is read instead.

Used by catch-up after downtime (poller), incident timelines and `log`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from dataclasses import dataclass

from bot.domain.changes import ChangeSet, snapshot_changes
from bot.domain.events import needs_snapshots
from bot.kosli import KosliClient, KosliError
from bot.kosli.events import MAX_PER_PAGE, EnvironmentEvent, EventsPage
from bot.kosli.models import Snapshot

log = logging.getLogger(__name__)

EVENT_PAGES = 20  # pages of 100 events; a window with more is read snapshot by snapshot
# Full snapshots (~400 kB each on a busy environment) asked for ahead of the one compared:
# an incident thread's reader waits; a catch-up, one of many environments polled at once,
# holds fewer in memory.
FETCH_AHEAD = 12
CATCH_UP_AHEAD = 2

Fetch = Callable[[int], Awaitable[Snapshot]]


@dataclass(frozen=True)
class EventLog:
    """The events of snapshots `complete_from`..last, all of them (newest first)."""

    events: tuple[EnvironmentEvent, ...]
    complete_from: int


async def window_events(
    kosli: KosliClient,
    env: str,
    first: int | None,
    last: int | None,
    max_pages: int = EVENT_PAGES,
    start_ts: float | None = None,
) -> EventLog | None:
    """Every event of snapshots `first`..`last` (None: no bound; `start_ts`: those reported
    from then on), or as many pages as `max_pages` allow (then `complete_from` says from which
    snapshot on they are whole). None: no event log here."""
    if first is not None and last is not None and last < first:
        return EventLog((), first)

    async def page(number: int) -> EventsPage | None:
        return await kosli.events(
            env, page=number, per_page=MAX_PER_PAGE, start=first, end=last, start_ts=start_ts
        )

    try:
        first_page = await page(1)
        if first_page is None:
            return None
        pages = [first_page]
        if first_page.total_pages and _more(first_page, first):
            # Kosli says how many pages there are: ask for the rest at once.
            numbers = range(2, min(first_page.total_pages, max_pages) + 1)
            rest = await asyncio.gather(*map(page, numbers))
            if any(p is None for p in rest):
                return None
            pages += [p for p in rest if p is not None]
        while _more(pages[-1], first) and len(pages) < max_pages:
            following = await page(len(pages) + 1)
            if following is None:
                return None
            pages.append(following)
    except KosliError as error:  # the snapshots may still answer: they tell the same story
        log.warning("%s's event log failed, reading snapshots instead: %s", env, error)
        return None
    read = [e for p in pages for e in p.events]
    low = first or 0
    # Cut short: the oldest snapshot read may have more events on the next page.
    oldest = min((e.snapshot_index for e in read), default=low)
    complete_from = oldest + 1 if _more(pages[-1], first) else low
    high = last if last is not None else max((e.snapshot_index for e in read), default=low)
    kept = (e for e in read if complete_from <= e.snapshot_index <= high)
    return EventLog(tuple(kept), complete_from)


def _more(page: EventsPage, first: int | None) -> bool:
    """Older events of the window may follow this page."""
    return page.has_next and bool(page.events) and not _reaches(page, first)


def _reaches(page: EventsPage, first: int | None) -> bool:
    """The page goes back past the window (a Kosli that ignored `start`)."""
    return first is not None and any(e.snapshot_index < first for e in page.events)


def needed_after(found: EventLog | None, base: Snapshot, last: int) -> list[int] | None:
    """The snapshots after `base` up to `last` that hold a change the bot tells; None when
    the event log cannot say (none here, or cut short): then every one is needed."""
    if found is None or found.complete_from > base.index + 1:
        return None
    events = [e for e in found.events if base.index < e.snapshot_index <= last]
    return needs_snapshots(base, events, last)


async def changes_at(
    fetch: Fetch, base: Snapshot, indexes: Sequence[int], ahead: int = FETCH_AHEAD
) -> AsyncGenerator[tuple[int, Snapshot, ChangeSet], None]:
    """For each of `indexes` (ascending, after `base`): the snapshot, and what changed from
    the one just before it (its true predecessor, read too where it was not already)."""
    wanted: list[int] = []
    for index in indexes:
        if index - 1 != base.index and (not wanted or wanted[-1] != index - 1):
            wanted.append(index - 1)
        wanted.append(index)
    compared = set(indexes)
    previous = base
    async with contextlib.aclosing(_in_order(fetch, wanted, ahead)) as snapshots:
        async for index, current in snapshots:
            if index in compared:  # `wanted` put its predecessor just before it
                yield index, current, snapshot_changes(previous, current)
            previous = current


async def _in_order(
    fetch: Fetch, indexes: list[int], ahead: int
) -> AsyncGenerator[tuple[int, Snapshot], None]:
    """The snapshots in order, up to `ahead` of them asked for at once."""
    waiting = iter(indexes)
    pending: deque[tuple[int, asyncio.Task[Snapshot]]] = deque()

    def ask() -> None:
        index = next(waiting, None)
        if index is not None:
            pending.append((index, asyncio.ensure_future(fetch(index))))

    try:
        for _ in range(ahead):
            ask()
        while pending:
            index, task = pending.popleft()
            snapshot = await task
            ask()
            yield index, snapshot
    finally:
        for _, task in pending:
            task.cancel()
        await asyncio.gather(*(task for _, task in pending), return_exceptions=True)

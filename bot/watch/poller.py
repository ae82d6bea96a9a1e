"""Polling: ask Kosli what is new in each leased environment, turn every new snapshot into
outbox rows in the transaction that moves its high-water mark. No Slack here."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from bot.domain.changes import ChangeSet, reevaluated, told_allow_listed
from bot.kosli import KosliClient, KosliError, Snappish
from bot.kosli.models import Snapshot
from bot.logs import log_context
from bot.render.changes import render_reevaluated
from bot.render.watcher import render_outage, render_recovery
from bot.store.models import AlertKind
from bot.store.outbox import AlertsFor
from bot.store.records import EnvState
from bot.store.store import Store
from bot.watch.events import CATCH_UP_AHEAD, changes_at, needed_after, window_events
from bot.watch.last_seen import LastSeen
from bot.watch.router import Router, rendered
from bot.watch.settings import WatchSettings

log = logging.getLogger(__name__)

MAX_ALLOW_LISTED = 10_000


@dataclass
class Poller:
    store: Store
    kosli: KosliClient
    router: Router
    settings: WatchSettings
    # Told each time alerts are in the outbox, so they can be sent before the polls end.
    queued: Callable[[], None]
    # One poll of an environment at a time in this process (scheduled or pushed), and at
    # most one pushed poll waiting behind it: a burst of webhooks costs one more poll.
    _locks: defaultdict[str, asyncio.Lock] = field(
        default_factory=lambda: defaultdict(asyncio.Lock)
    )
    _queued: set[str] = field(default_factory=set)
    # The snapshot each environment was caught up to: the next change is diffed against it.
    _last_seen: LastSeen = field(default_factory=LastSeen)
    # Builds Kosli Actions said were allow-listed, by environment, until a snapshot shows it.
    _allow_listed: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    def heard_allow_listed(self, env: str, fingerprint: str) -> None:
        """Kosli Actions pushed an allow-listing: word that build's return to compliance so.
        Bounded, as pushes come from outside: past the bound it is only inferred."""
        if sum(map(len, self._allow_listed.values())) < MAX_ALLOW_LISTED:
            self._allow_listed[env].add(fingerprint)

    async def poll_now(self, env: str) -> bool:
        """Poll one environment at once (Kosli pushed a change); False when a poll of it is
        already waiting here, or another replica holds it (its poll sees the change)."""
        if env in self._queued:
            return False
        self._queued.add(env)
        async with self._locks[env]:
            self._queued.discard(env)
            owner, now = self.settings.owner, self.settings.now()
            leased = await self.store.environments.lease(
                owner, now, self.settings.lease_ttl, 1, env
            )
            if not leased:
                return False
            answered = await self._poll(leased[0])
            await self.store.environments.release(
                owner, [env] if answered else [], self.settings.now(), env
            )
            return True

    async def poll_all(self) -> None:
        """Poll every environment this process holds a lease on; an unchanged one costs one
        cheap Kosli call and no database write."""
        leased = await self.store.environments.lease(
            self.settings.owner, self.settings.now(), self.settings.lease_ttl
        )
        limit = asyncio.Semaphore(self.settings.concurrency)
        answered: list[str] = []

        async def bounded(state: EnvState) -> None:
            async with limit, self._locks[state.env]:
                if await self._poll(state):
                    answered.append(state.env)

        try:
            await asyncio.gather(*(bounded(state) for state in leased))
        finally:
            await self.store.environments.release(
                self.settings.owner, answered, self.settings.now()
            )

    async def _poll(self, state: EnvState) -> bool:
        """True when Kosli answered for this environment (whether or not anything changed)."""
        with log_context(env=state.env):
            return await self._poll_env(state)

    async def _poll_env(self, state: EnvState) -> bool:
        try:
            queued = await self._catch_up(state)
        except KosliError as error:
            log.warning("polling %s failed: %s", state.env, error)
            await self._failed(state.env)
            return False
        if queued:  # all of the environment's alerts at once: a channel found gone drops them
            self.queued()
        return True

    async def _catch_up(self, state: EnvState) -> int:
        """Returns how many alerts it queued."""
        env = state.env
        # One cheap call tells whether anything happened: the newest snapshot's number.
        newest = await self.kosli.snapshots(env, page=1, per_page=1)
        queued = 0
        if state.failures or state.outage_open:
            before = await self.store.environments.mark_polled(env, self.settings.now())
            if before is not None and before.outage_open:
                message = render_recovery(env, before.last_seen_index)
                queued += await self.router.to_subscribers(
                    env, AlertKind.RECOVERY, before.outages, message
                )
        if newest and newest[0].index == state.last_seen_index:
            return queued + await self._reevaluated(state, newest[0].compliant)
        if not newest or newest[0].index < state.last_seen_index:
            return queued
        last, seen = newest[0].index, state.last_seen_index

        read: dict[int, Snapshot] = {}  # read ahead of `changes_at`, which asks for them

        async def fetch(index: int) -> Snapshot:
            if index in read:
                return read.pop(index)
            return await self.kosli.snapshot(Snappish(env, "#", str(index)))

        async def last_seen() -> Snapshot:  # kept from the last poll where it can be
            return self._last_seen.get(env, seen) or await fetch(seen)

        # Kosli's event log names the snapshots that changed something; the others (restarts
        # only) move the mark with no alert and are never read in full.
        if last - seen > 1:
            previous, found = await asyncio.gather(
                last_seen(), window_events(self.kosli, env, seen + 1, last)
            )
        elif self._last_seen.get(env, seen) is None:
            # One new snapshot, the one before it not kept (the first change after start-up):
            # both read at once, one round trip to Kosli, not two in a row.
            previous, read[last] = await asyncio.gather(fetch(seen), fetch(last))
            found = None
        else:  # one new snapshot is read whatever the log says: no need to ask it
            previous, found = await last_seen(), None
        needed = needed_after(found, previous, last)
        indexes = range(previous.index + 1, last + 1) if needed is None else needed

        # Catch up in order; the high-water mark moves with each snapshot's alerts, atomically,
        # so a failure part-way resumes exactly where it stopped.
        mark = previous.index
        reading = changes_at(fetch, previous, indexes, CATCH_UP_AHEAD)
        async with contextlib.aclosing(reading) as changes:
            async for index, current, change in changes:
                now = self.settings.now()
                if index - 1 > mark:  # snapshots with nothing to tell, passed over at once
                    await self.store.outbox.advance(env, index - 1, None, now)
                alerting = self._worded(env, change.alerting)  # a restart alerts no one
                alerts_for = None if alerting.is_empty else self._alerts_for(alerting, now)
                queued += await self.store.outbox.advance(
                    env, index, alerts_for, now, current.compliant
                )
                self._last_seen.keep(current)
                mark = index
        if last > mark:
            await self.store.outbox.advance(
                env, last, None, self.settings.now(), newest[0].compliant
            )
        return queued

    def _worded(self, env: str, change: ChangeSet) -> ChangeSet:
        """Builds said allow-listed by Kosli Actions, worded so once a snapshot shows it."""
        told = self._allow_listed.get(env)
        if not told:
            return change
        worded = told_allow_listed(change, told)
        told.difference_update(c.artifact.fingerprint for c in worded.changes if c.allow_list_told)
        return worded

    async def _reevaluated(self, state: EnvState, compliant: bool | None) -> int:
        """The safety net for compliance: Kosli keeps a snapshot's compliance as recorded, but
        should the last snapshot read ever answer otherwise, read it and alert once. Costs
        nothing while it answers the same (the compliance comes with the cheap call)."""
        if compliant is None or compliant == state.last_seen_compliant:
            return 0
        env, index, now = state.env, state.last_seen_index, self.settings.now()
        self._last_seen.forget(env)  # the kept copy holds the compliance it was read with
        if state.last_seen_compliant is None:  # never read: nothing to compare with
            return await self.store.outbox.reevaluate(env, index, compliant, None, now)
        snapshot = await self.kosli.snapshot(Snappish(env, "#", str(index)))
        self._last_seen.keep(snapshot)
        if snapshot.index != index or snapshot.compliant != compliant:
            return 0  # Kosli's two answers disagree: ask again next poll
        change = reevaluated(snapshot, state.last_seen_compliant)
        message = render_reevaluated(change, self.settings.command)
        route = partial(self.router.reevaluated, change, message, now=now)
        return await self.store.outbox.reevaluate(env, index, compliant, route, now)

    def _alerts_for(self, change: ChangeSet, now: datetime) -> AlertsFor:
        """Rendered here, once, before the outbox's transaction; routed inside it, to whoever
        hears then."""
        return partial(self.router.change, rendered(change, self.settings.command), now=now)

    async def _failed(self, env: str) -> None:
        state = await self.store.environments.record_failure(env)
        if state is None or state.failures < self.settings.outage_after:
            return
        outage = await self.store.environments.open_outage(env)
        if outage is not None:
            message = render_outage(env, state.failures, state.last_polled_at)
            await self.router.to_subscribers(env, AlertKind.OUTAGE, outage, message)
            self.queued()

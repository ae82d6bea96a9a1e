"""Commits follow alerts: for each change alert of a replaced build, read the commits between
the old and the new build from the git host and queue them as a reply under the alert.

Runs after the sender, so an alert never waits for the git host; the reply is sent on the
next pass of the sender, and a host that keeps failing gets one line saying so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.history import GitHistory
from bot.render.commits import render_followup
from bot.store.outbox import Waiting
from bot.store.store import Store
from bot.watch.settings import WatchSettings

log = logging.getLogger(__name__)

TRIES = 3  # cycles a failing git host is asked before the reply says it could not be read


@dataclass
class CommitsReplies:
    store: Store
    history: GitHistory
    settings: WatchSettings

    async def fill_waiting(self) -> int:
        """Fill the replies whose alerts are posted; returns how many are ready to send."""
        # Most cycles have nothing waiting: one read, and no lease written.
        if not await self.store.outbox.waiting():
            return 0
        owner, now, ttl = self.settings.owner, self.settings.now(), self.settings.lease_ttl
        if not await self.store.leases.take("commits-replies", owner, now, ttl):
            return 0
        try:
            ready = 0
            for row in await self.store.outbox.waiting():
                ready += await self._fill(row)
            return ready
        finally:
            await self.store.leases.release("commits-replies", owner)

    async def _fill(self, row: Waiting) -> int:
        if row.parent_gone:
            await self.store.outbox.give_up(row.id)
            return 0
        # In an incident's thread, or under the channel's alert once it is posted.
        where = row.thread_ts if row.incident_id is not None else row.parent_ts
        if where is None:
            return 0  # its alert is not posted yet
        windows = await self.history.windows(build.ends for build in row.commits)
        failed = any(w.comparison is None for w in windows.values())
        if failed and row.attempts + 1 < TRIES:
            log.info("commits for %s#%s not read yet; asking again", row.env, row.snapshot_index)
            await self.store.outbox.wait_again(row.id)
            return 0
        labelled = [
            (build.label, windows.get((build.ends.old, build.ends.new))) for build in row.commits
        ]
        message = render_followup(row.env, row.snapshot_index, labelled)
        await self.store.outbox.fill(row.id, message.text, message.blocks, where)
        return 1

"""Git history behind Kosli's builds: compare answers read through the database cache, and
the commits windows of changes. A slow or failing git host yields a window that says so."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from bot.domain.commits_window import CommitsWindow, WindowEnds
from bot.githost import Comparison, GitHost, GitHostError, Repository
from bot.store import StoreError
from bot.store.store import Store

log = logging.getLogger(__name__)

FULL_SHA = 40
WINDOW_BUDGET = 5.0  # seconds the incident thread waits for the git host before saying so


@dataclass
class GitHistory:
    store: Store
    githost: GitHost
    clock: Callable[[], datetime]

    def repository(self, commit_url: str | None) -> Repository | None:
        return self.githost.repository(commit_url)

    async def compare(self, repo: Repository, base: str, head: str) -> Comparison:
        """The git host's answer, kept once both ends are full shas (it never changes then)."""
        key = f"{repo.web}/{repo.path}"
        lasting = len(base) == FULL_SHA and len(head) == FULL_SHA
        if lasting:
            try:
                kept = await self.store.compares.get(key, base, head)
            except StoreError as error:
                log.warning("compare cache unreadable: %s", type(error).__name__)
                kept = None
            if kept is not None:
                return Comparison.from_json(repo, base, head, kept)
        found = await self.githost.compare(repo, base, head)
        if lasting:
            try:
                await self.store.compares.put(key, base, head, found.to_json(), self.clock())
            except StoreError as error:
                log.warning("compare cache unwritable: %s", type(error).__name__)
        return found

    async def window(self, ends: WindowEnds) -> CommitsWindow | None:
        """None when the commit is on no git host the bot reads."""
        repo = self.repository(ends.commit_url)
        if repo is None:
            return None
        try:
            forward = await self.compare(repo, ends.old, ends.new)
            if forward.status == "behind":
                undone = await self.compare(repo, ends.new, ends.old)
                return CommitsWindow(ends.old, ends.new, undone, rolled_back=True)
            return CommitsWindow(ends.old, ends.new, forward)
        except GitHostError as error:
            url = repo.compare_url(ends.old, ends.new)
            return CommitsWindow(ends.old, ends.new, failure=str(error), compare_url=url)

    async def windows(
        self, wanted: Iterable[WindowEnds], budget: float = WINDOW_BUDGET
    ) -> dict[tuple[str, str], CommitsWindow]:
        """Windows of many changes at once, within `budget` seconds: those the host has not
        answered by then say so instead."""
        wanted = list(wanted)
        tasks = {(e.old, e.new): asyncio.ensure_future(self.window(e)) for e in wanted}
        if tasks:
            await asyncio.wait(tasks.values(), timeout=budget)
        found: dict[tuple[str, str], CommitsWindow] = {}
        for ends in wanted:
            task = tasks[(ends.old, ends.new)]
            if not task.done():
                task.cancel()
                found[(ends.old, ends.new)] = CommitsWindow(
                    ends.old, ends.new, failure="the git host did not answer in time"
                )
            elif (window := task.result()) is not None:
                found[(ends.old, ends.new)] = window
        return found

"""Incident threads: what changed in an environment over a window, change by change."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.commands.queries import QueryError, unknown_environment
from bot.domain.changes import ChangeSet, Kind, snapshot_changes
from bot.domain.commands import DEFAULT_BACK, Window
from bot.domain.timeline import IncidentWindow, Timeline
from bot.kosli import KosliClient, KosliError, KosliNotFound, Snappish
from bot.kosli.models import Snapshot, SnapshotArtifact
from bot.render.changes import render_alert
from bot.render.incidents import (
    render_close,
    render_parent,
    render_timeline_markdown,
)
from bot.store.records import IncidentRecord, NewIncident
from bot.store.store import Store
from bot.transport import ChannelGone, Transport, TransportError

log = logging.getLogger(__name__)

MAX_REPLIES = 40  # a thread of more transitions than this is unreadable; the file has them all
BUILD_LOOKUPS = 8


class IncidentError(QueryError):
    """An incident command that cannot go ahead; the words are for the user."""


@dataclass
class IncidentThreads:
    store: Store
    kosli: KosliClient
    transport: Transport
    command: str
    clock: Callable[[], datetime]

    async def open(self, envs: tuple[str, ...], window: Window, channel: str, user: str) -> str:
        # One open thread per environment and channel: live alerts go to exactly one thread,
        # and a replayed `incident` command cannot open a second one.
        for incident in await asyncio.to_thread(self.store.incidents.still_open, channel):
            if taken := [env for env in envs if env in incident.envs]:
                opened = incident.opened_at.strftime("%H:%M UTC")
                raise IncidentError(
                    f"An incident thread for {', '.join(taken)} is already open here "
                    f"(opened at {opened}): ask in that thread, or "
                    f"close it first with `{self.command} incident close`."
                )
        now = self.clock()
        timelines = [await self.timeline(env, window, now) for env in envs]
        parent = render_parent(timelines, user, self.command)
        try:
            thread_ts = await self.transport.post(channel, parent)
        except ChannelGone:
            raise IncidentError(
                "I can't post in this channel yet: invite me (`/invite` and my name), then retry."
            ) from None
        except TransportError as error:
            raise IncidentError(f"Slack refused the incident thread ({error.reason}).") from None
        await asyncio.to_thread(
            self.store.incidents.open,
            NewIncident(
                channel_id=channel,
                thread_ts=thread_ts,
                envs=list(envs),
                start_indexes={t.env: t.start.index for t in timelines},
                shown_indexes={t.env: t.latest for t in timelines},
                window_start=_window_start(timelines, now),
                opened_by=user,
                opened_at=now,
            ),
        )
        changes = sorted(
            ((c, timeline) for timeline in timelines for c in timeline.changesets),
            key=lambda pair: pair[0].at or now,
        )
        for change, timeline in changes:
            reply = render_alert(change, self.command, timeline.builds)
            await self.transport.post(channel, reply, thread_ts=thread_ts)
        count = f"{len(changes)} change{'s' if len(changes) != 1 else ''}"
        return f"Opened an incident thread for {', '.join(envs)} with {count}."

    async def close(self, channel: str, thread_ts: str | None, user: str) -> str:
        incident = await self._incident_to_close(channel, thread_ts)
        closed = await asyncio.to_thread(self.store.incidents.close, incident.id, self.clock())
        if closed is None:
            return "That incident is already closed."
        # Closed first, so a double click or a second replica does it once; the timeline is
        # attached before the summary says so, and a failure leaves the thread open.
        try:
            window, timelines = await self._closing(closed)
            await self.transport.upload(
                channel,
                closed.thread_ts,
                f"incident-{'-'.join(closed.envs)}-{closed.opened_at:%Y-%m-%d}.md",
                f"Timeline: {', '.join(closed.envs)} from {_utc(closed.window_start)}",
                render_timeline_markdown(window, timelines, self.command),
            )
        except (KosliError, TransportError) as error:
            await asyncio.to_thread(self.store.incidents.reopen, closed.id)
            why = error.reason if isinstance(error, TransportError) else str(error)
            raise IncidentError(
                f"I could not attach the timeline ({why}), so the incident stays open: "
                f"try `{self.command} incident close` again."
            ) from None
        closing = render_close(window, timelines, user)
        await self.transport.post(channel, closing, thread_ts=closed.thread_ts)
        return "Closed the incident; the timeline is attached in its thread."

    async def _closing(self, closed: IncidentRecord) -> tuple[IncidentWindow, list[Timeline]]:
        timelines = [
            await self.timeline(env, Window(since_index=index), self.clock(), limit=None)
            for env, index in closed.start_indexes.items()
        ]
        window = IncidentWindow(
            tuple(closed.envs),
            closed.window_start,
            closed.opened_by,
            closed.opened_at,
            closed.closed_at,
        )
        return window, timelines

    async def thread_envs(self, channel: str, thread_ts: str) -> tuple[str, ...]:
        """The environments an incident thread follows; () for any other thread."""
        incident = await asyncio.to_thread(self.store.incidents.find, channel, thread_ts)
        return tuple(incident.envs) if incident else ()

    async def _incident_to_close(self, channel: str, thread_ts: str | None) -> IncidentRecord:
        if thread_ts:
            found = await asyncio.to_thread(self.store.incidents.find, channel, thread_ts)
            if found is not None:
                return found
        open_here = await asyncio.to_thread(self.store.incidents.still_open, channel)
        if not open_here:
            raise IncidentError("There is no open incident in this channel.")
        return open_here[-1]

    async def timeline(
        self, env: str, window: Window, now: datetime, limit: int | None = MAX_REPLIES
    ) -> Timeline:
        start = await self._snapshot(env, _start_of(env, window, now))
        newest = await self.kosli.snapshots(env, page=1, per_page=1)
        latest = newest[0].index if newest else start.index
        indexes = list(range(start.index + 1, latest + 1))
        skipped = max(0, len(indexes) - limit) if limit else 0
        previous = start
        if skipped:
            indexes = indexes[skipped:]
            previous = await self._snapshot(env, Snappish(env, "#", str(indexes[0] - 1)))
        changesets = []
        for index in indexes:
            current = await self._snapshot(env, Snappish(env, "#", str(index)))
            changes = snapshot_changes(previous, current)
            if not changes.is_empty:
                changesets.append(changes)
            previous = current
        builds = await self._builds(changesets)
        return Timeline(env, start, tuple(changesets), skipped, latest, builds)

    async def _snapshot(self, env: str, snappish: Snappish) -> Snapshot:
        try:
            return await self.kosli.snapshot(snappish)
        except KosliNotFound:
            unknown = await unknown_environment(self.kosli, [env])
            raise IncidentError(
                unknown or f"Kosli has no snapshot `{snappish}`: try a later start for the window."
            ) from None

    async def _builds(self, changesets: list[ChangeSet]) -> dict[str, str]:
        """Build links for what changed; a lookup that fails just leaves the link out.

        Today's Kosli names the build flow's trail, whose `origin_url` is the CI job that
        built the artifact; older data is looked up by fingerprint in its flow."""
        wanted = {
            c.artifact
            for changes in changesets
            for c in changes.changes
            if c.artifact.flow and c.kind != Kind.SCALED
        }
        limit = asyncio.Semaphore(BUILD_LOOKUPS)

        async def lookup(artifact: SnapshotArtifact) -> tuple[str, str]:
            build = artifact.build_flow
            async with limit:
                try:
                    if build is not None and build.trail:
                        trail = await self.kosli.trail(build.name, build.trail)
                        return artifact.fingerprint, trail.build_url
                    found = await self.kosli.artifacts_by_fingerprint(
                        artifact.flow, artifact.fingerprint
                    )
                except KosliError:
                    return artifact.fingerprint, ""
            return artifact.fingerprint, next((a.build_url for a in found if a.build_url), "")

        ordered = sorted(wanted, key=lambda a: a.fingerprint)
        pairs = await asyncio.gather(*(lookup(artifact) for artifact in ordered))
        return {fingerprint: url for fingerprint, url in pairs if url}


def _start_of(env: str, window: Window, now: datetime) -> Snappish:
    if window.since_index is not None:
        return Snappish(env, "#", str(window.since_index))
    moment = window.since if window.since is not None else now - (window.back or DEFAULT_BACK)
    return Snappish(env, "@", moment.strftime("%Y-%m-%dT%H:%M:%S"))


def _window_start(timelines: list[Timeline], now: datetime) -> datetime:
    return min((t.start.timestamp for t in timelines), default=now)


def _utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")

"""Incident threads: what changed in an environment over a window, change by change."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.commands.queries import QueryError, unknown_environment, unknown_wording
from bot.commands.suspects import look_up, rank_suspects
from bot.domain.changes import QUIET, ChangeSet
from bot.domain.commands import DEFAULT_BACK, At, FindSuspects, MarkSuspect, Window
from bot.domain.commits_window import CommitsWindow, all_ends, by_ancestry
from bot.domain.events import by_snapshot, restarts
from bot.domain.logical import not_read, nothing_to, reading_included
from bot.domain.suspects import Mark, Ranking, Verdict, candidates, verdict
from bot.domain.timeline import IncidentWindow, Timeline
from bot.history import GitHistory
from bot.kosli import KosliClient, KosliError, KosliNotFound, Snappish
from bot.kosli.models import Environment, Snapshot, SnapshotArtifact
from bot.render.blockkit import Message
from bot.render.changes import render_alert
from bot.render.incidents import (
    render_close,
    render_parent,
    render_timeline_markdown,
)
from bot.render.suspects import render_mark
from bot.store import StoreError
from bot.store.records import IncidentRecord, NewIncident
from bot.store.store import Store
from bot.transport import ChannelGone, Transport, TransportError
from bot.watch.events import changes_at, needed_after, window_events
from bot.watch.router import thread_alert

log = logging.getLogger(__name__)

OPENING_TIMEOUT = timedelta(minutes=5)  # a row this old with no parent was left by a crash
CLOSE_LEASE = timedelta(minutes=5)
MAX_REPLIES = 40  # a thread of more transitions than this is unreadable; the file has them all
BUILD_LOOKUPS = 8
SUSPECT_GIT_BUDGET = 3.0  # seconds the suspects command waits for the git host


class IncidentError(QueryError):
    """An incident command that cannot go ahead; the words are for the user."""


class NoSnapshotYet(IncidentError):
    """The environment never reported: nothing to read in it."""


@dataclass
class IncidentThreads:
    store: Store
    kosli: KosliClient
    transport: Transport
    command: str
    clock: Callable[[], datetime]
    # Sends queued outbox rows now (the watcher's sender), so replies follow the parent at once.
    send_queued: Callable[[], Awaitable[None]]
    owner: str  # this process, for the lease on finishing a close
    history: GitHistory  # the commits between old and new builds

    async def open(
        self,
        asked: tuple[str, ...],
        window: Window,
        channel: str,
        user: str,
        at: At | None = None,
    ) -> str:
        now = self.clock()
        await self.store.incidents.forget_unposted(now - OPENING_TIMEOUT)
        envs, logical = await self._physical(asked)
        # One open thread per environment and channel: live alerts go to exactly one thread,
        # and a replayed `incident` command cannot open a second one.
        for incident in await self.store.incidents.still_open(channel):
            if taken := [env for env in envs if env in incident.envs]:
                opened = incident.opened_at.strftime("%H:%M UTC")
                raise IncidentError(
                    f"An incident thread for {', '.join(taken)} is already open here "
                    f"(opened at {opened}): ask in that thread, or "
                    f"close it first with `{self.command} incident close`."
                )
        start = await self._start(envs, at, now)
        timelines, empty = await self._timelines(envs, window, start)
        if not timelines:
            raise IncidentError(nothing_to("follow", logical, tuple(empty)))
        envs = tuple(t.env for t in timelines)
        # The commits behind each replaced build (within the git host's time budget) also
        # tell a rollback from a replacement by ancestry; the build links and Kosli's search
        # for the suspects are asked meanwhile.
        lookups = look_up(self.kosli, timelines, start)
        builds, windows = await asyncio.gather(
            asyncio.gather(*(self._builds(list(t.changesets)) for t in timelines)),
            self._windows(timelines),
        )
        timelines = [
            _by_ancestry(replace(timeline, builds=found), windows)
            for timeline, found in zip(timelines, builds, strict=True)
        ]
        ranking = await rank_suspects(timelines, start, windows, lookups)
        incident = await self.store.incidents.open(
            NewIncident(
                channel_id=channel,
                thread_ts=None,
                envs=list(envs),
                start_indexes={t.env: t.start.index for t in timelines},
                shown_indexes={t.env: t.latest for t in timelines},
                window_start=_window_start(timelines, now),
                opened_by=user,
                opened_at=now,
                incident_at=start if at is not None else None,
            )
        )
        parent = render_parent(timelines, user, self.command, ranking)
        thread_ts = await self._post_parent(incident, parent)
        changes = sorted(
            ((c, timeline) for timeline in timelines for c in timeline.changesets),
            key=lambda pair: pair[0].at or now,
        )
        replies = [
            thread_alert(
                incident.id,
                channel,
                thread_ts,
                change,
                render_alert(change, self.command, timeline.builds, windows),
            )
            for change, timeline in changes
        ]
        try:
            await self.store.incidents.posted(incident.id, thread_ts, replies, now)
        except StoreError:
            await self._withdraw(incident, thread_ts)
            raise
        # Replies go through the outbox, so a 429 or a restart delays them but never loses
        # them; sent now, or by the next watch cycle when another replica is sending.
        try:
            await self.send_queued()
        except StoreError as error:
            reason = type(error).__name__
            log.warning("incident %s's replies wait for the next cycle: %s", incident.id, reason)
        count = f"{len(changes)} change{'s' if len(changes) != 1 else ''}"
        notes = [reading_included(env, "following") for env in logical]
        if empty:
            notes.append(not_read(tuple(empty), "followed"))
        return " ".join([f"Opened an incident thread for {', '.join(envs)} with {count}.", *notes])

    async def _physical(
        self, asked: tuple[str, ...]
    ) -> tuple[tuple[str, ...], tuple[Environment, ...]]:
        """The environments to follow, a logical one standing for those it includes, and the
        logical ones asked for. When Kosli cannot list its environments, the names as asked."""
        try:
            known = {e.name: e for e in await self.kosli.environments()}
        except KosliError:
            return asked, ()
        envs: list[str] = []
        logical: list[Environment] = []
        for env in asked:
            found = known.get(env)
            if found is None:
                if known:
                    raise IncidentError(unknown_wording(env, list(known), self.kosli.org))
                envs.append(env)
            elif found.logical:
                logical.append(found)
                envs += found.included
            else:
                envs.append(env)
        return tuple(dict.fromkeys(envs)), tuple(logical)

    async def _post_parent(self, incident: IncidentRecord, parent: Message) -> str:
        try:
            return await self.transport.post(incident.channel_id, parent)
        except TransportError as error:
            await self.store.incidents.forget(incident.id)
            if isinstance(error, ChannelGone):
                raise IncidentError(
                    "I can't post in this channel yet: invite me (`/invite` and my name), "
                    "then retry."
                ) from None
            raise IncidentError(f"Slack refused the incident thread ({error.reason}).") from None

    async def _withdraw(self, incident: IncidentRecord, thread_ts: str) -> None:
        """The parent is posted but its record failed: take the parent back, so no thread
        with a Close button exists that the bot knows nothing of."""
        try:
            await self.transport.delete(incident.channel_id, thread_ts)
        except TransportError as error:
            log.warning("could not withdraw an unrecorded incident parent: %s", error.reason)
        with contextlib.suppress(StoreError):
            await self.store.incidents.forget(incident.id)

    async def close(self, channel: str, thread_ts: str | None, user: str) -> str:
        incident = await self._incident_to_close(channel, thread_ts)
        if incident.state == "closed":
            return "That incident is already closed."
        if incident.state == "open":
            # Closed once, so a double click or a second replica does it once.
            closing = await self.store.incidents.begin_close(incident.id, user, self.clock())
            if closing is None:
                return "That incident is already being closed."
            incident = closing
        trouble = await self.finish_close(incident)
        if trouble is None:
            return "Closed the incident; the timeline is attached in its thread."
        if trouble == "busy":
            return "That incident is being closed right now; the timeline follows in its thread."
        raise IncidentError(
            f"The incident is closed, but I could not attach the timeline yet ({trouble}). "
            f"I will keep trying, or try `{self.command} incident close` again."
        )

    async def finish_closing(self) -> None:
        """Attach the timelines of incidents closed earlier whose upload failed."""
        try:
            closing = await self.store.incidents.closing()
        except StoreError as error:
            log.warning("could not read closing incidents: %s", type(error).__name__)
            return
        for incident in closing:
            if trouble := await self.finish_close(incident):
                log.info("incident %s still closing: %s", incident.id, trouble)

    async def finish_close(self, incident: IncidentRecord) -> str | None:
        """Attach the timeline, then post the summary, then mark it closed. Returns None when
        done, 'busy' when another process is at it, or why it failed (to retry later)."""
        lease = f"incident-close/{incident.id}"
        taken = await self.store.leases.take(lease, self.owner, self.clock(), CLOSE_LEASE)
        if not taken:
            return "busy"
        try:
            window, timelines = await self._closing(incident)
            windows = await self._windows(timelines)
            timelines = [_by_ancestry(timeline, windows) for timeline in timelines]
            decided = await self._verdict(incident, timelines)
            await self.transport.upload(
                incident.channel_id,
                incident.thread_ts,
                f"incident-{'-'.join(incident.envs)}-{incident.opened_at:%Y-%m-%d}.md",
                f"Timeline: {', '.join(incident.envs)} from {_utc(incident.window_start)}",
                render_timeline_markdown(window, timelines, self.command, windows, decided),
            )
            summary = render_close(
                window, timelines, incident.closed_by or incident.opened_by, decided
            )
            await self.transport.post(incident.channel_id, summary, thread_ts=incident.thread_ts)
            await self.store.incidents.closed(incident.id)
        except TransportError as error:
            log.warning("attaching incident %s's timeline failed: %s", incident.id, error.reason)
            return error.reason
        except (KosliError, NoSnapshotYet) as error:
            log.warning("reading incident %s's timeline failed: %s", incident.id, error)
            return str(error)
        finally:
            await self.store.leases.release(lease, self.owner)
        return None

    async def _verdict(self, incident: IncidentRecord, timelines: list[Timeline]) -> Verdict:
        """The channel's marks, each cause with the later change of its service as the fix."""
        window = []
        for timeline in timelines:
            before, after = candidates(timeline.env, timeline.changesets, incident.start)
            window += before + after
        return verdict(await self.store.incidents.marks(incident.id), window)

    async def suspects(self, request: FindSuspects) -> Ranking:
        """The changes before the start, ranked; the same ranking an incident thread opens
        with."""
        envs, logical = await self._physical(request.envs)
        start = await self._start(envs, request.at, self.clock())
        timelines, empty = await self._timelines(envs, request.window, start)
        if not timelines:
            raise IncidentError(nothing_to("rank", logical, tuple(empty)))
        lookups = look_up(self.kosli, timelines, start)
        windows = await self.history.windows(
            all_ends([c for t in timelines for c in t.changesets]), budget=SUSPECT_GIT_BUDGET
        )
        timelines = [_by_ancestry(timeline, windows) for timeline in timelines]
        return await rank_suspects(timelines, start, windows, lookups)

    async def mark(
        self, request: MarkSuspect, channel: str, thread_ts: str | None, user: str
    ) -> Message:
        """Cause or Not it, on a suspect of the incident whose thread this is."""
        incident = await self.store.incidents.find(channel, thread_ts) if thread_ts else None
        if incident is None:
            raise IncidentError(
                "Mark a suspect inside its incident thread: the Cause and Not it buttons are "
                "on the thread's first message."
            )
        if request.env not in incident.envs:
            raise IncidentError(
                f"This incident follows {', '.join(incident.envs)}, not `{request.env}`."
            )
        mark = Mark(
            request.env, request.fingerprint, request.name, request.cause, user, self.clock()
        )
        await self.store.incidents.mark(incident.id, mark)
        return render_mark(mark)

    async def _timelines(
        self, envs: tuple[str, ...], window: Window, start: datetime
    ) -> tuple[list[Timeline], list[str]]:
        """Each environment's window before `start`, and those never reported (left out)."""
        timelines: list[Timeline] = []
        empty: list[str] = []
        for env in envs:
            try:
                timelines.append(await self.timeline(env, window, start, with_builds=False))
            except NoSnapshotYet:
                empty.append(env)  # never reported: the others still make the thread
        return timelines, empty

    async def _start(self, envs: tuple[str, ...], at: At | None, now: datetime) -> datetime:
        """When the trouble began: `at` a moment, or when snapshot N was taken; else now."""
        if at is None:
            return now
        if at.moment is not None:
            return at.moment
        env = envs[0]
        return (await self._snapshot(env, Snappish(env, "#", str(at.index)))).timestamp

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

    async def _windows(self, timelines: list[Timeline]) -> dict[tuple[str, str], CommitsWindow]:
        """The commits behind every replaced build, within the git host's time budget."""
        return await self.history.windows(
            all_ends([c for timeline in timelines for c in timeline.changesets])
        )

    async def thread_envs(self, channel: str, thread_ts: str) -> tuple[str, ...]:
        """The environments an incident thread follows; () for any other thread."""
        incident = await self.store.incidents.find(channel, thread_ts)
        return tuple(incident.envs) if incident else ()

    async def _incident_to_close(self, channel: str, thread_ts: str | None) -> IncidentRecord:
        if thread_ts:
            found = await self.store.incidents.find(channel, thread_ts)
            if found is not None:
                return found
        # A close whose upload failed is finished by closing again.
        open_here = await self.store.incidents.still_open(channel)
        closing = await self.store.incidents.closing(channel)
        candidates = [i for i in open_here if i.state == "open"] + closing
        if not candidates:
            raise IncidentError("There is no open incident in this channel.")
        return max(candidates, key=lambda incident: incident.id)

    async def timeline(
        self,
        env: str,
        window: Window,
        now: datetime,
        limit: int | None = MAX_REPLIES,
        with_builds: bool = True,
    ) -> Timeline:
        # The start, the newest and the window's events asked at once; events reported from
        # the start's moment on are those of the snapshots after it.
        since = window.since_index
        moment = None if since is not None else _moment_of(window, now).timestamp()
        first = since + 1 if since is not None else None
        asking = (
            asyncio.ensure_future(self.kosli.newest_row(env)),
            asyncio.ensure_future(window_events(self.kosli, env, first, None, start_ts=moment)),
        )
        try:
            start = await self._snapshot(env, _start_of(env, window, now))
        except BaseException as error:  # the start's failure is the one that explains
            asking[1].cancel()
            if not isinstance(error, Exception):  # cancelled: stop asking at once
                asking[0].cancel()
            # Whether it ever reported tells "no snapshot yet" from a bad window.
            settled = await asyncio.gather(*asking, return_exceptions=True)
            if settled[0] == []:
                raise NoSnapshotYet(f"Kosli has no snapshot of `{env}` yet.") from None
            raise
        newest, found = await asking[0], await asking[1]
        if not newest:
            raise NoSnapshotYet(f"Kosli has no snapshot of `{env}` yet.")
        latest = newest[0].index
        # Kosli's event log names the snapshots with a change; without one, read them all.
        needed = needed_after(found, start, latest)
        after_start = list(range(start.index + 1, latest + 1))
        indexes = after_start if needed is None else needed
        # The others only restarted builds: told from their events, no snapshot read.
        restarted = {} if found is None or needed is None else by_snapshot(found.events)
        told = sorted({*indexes, *(i for i in after_start if i in restarted)})
        skipped = max(0, len(told) - limit) if limit else 0
        told = told[skipped:]
        wanted = set(indexes)

        async def fetch(index: int) -> Snapshot:
            return await self._snapshot(env, Snappish(env, "#", str(index)))

        read = {start.index: start}  # the snapshots read, for the restarts between them
        changesets: list[ChangeSet] = []
        reading = changes_at(fetch, start, [i for i in told if i in wanted])
        async with contextlib.aclosing(reading) as changes:
            async for index, current, change in changes:
                read[index] = current
                changesets.append(change)
        for index in (i for i in told if i not in wanted):
            before = read[max(i for i in read if i < index)]
            changesets.append(restarts(env, index, restarted[index], before))
        changesets = sorted((c for c in changesets if not c.is_empty), key=lambda c: c.after_index)
        builds = await self._builds(changesets) if with_builds else {}
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
            if c.artifact.flow and c.kind not in QUIET
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


def _by_ancestry(timeline: Timeline, windows: dict[tuple[str, str], CommitsWindow]) -> Timeline:
    return replace(timeline, changesets=tuple(by_ancestry(c, windows) for c in timeline.changesets))


def _start_of(env: str, window: Window, now: datetime) -> Snappish:
    if window.since_index is not None:
        return Snappish(env, "#", str(window.since_index))
    return Snappish(env, "@", _moment_of(window, now).strftime("%Y-%m-%dT%H:%M:%S"))


def _moment_of(window: Window, now: datetime) -> datetime:
    """When a window given as a time begins, to the second, as `@{...}` names it."""
    moment = window.since if window.since is not None else now - (window.back or DEFAULT_BACK)
    return moment.replace(microsecond=0)


def _window_start(timelines: list[Timeline], now: datetime) -> datetime:
    return min((t.start.timestamp for t in timelines), default=now)


def _utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")

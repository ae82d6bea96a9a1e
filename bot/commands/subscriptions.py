"""watch, unwatch, watching, mute, unmute: a channel's subscriptions to environments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.commands.queries import QueryError, unknown_wording
from bot.domain.commands import ListWatching, Mute, Unmute, Unwatch, Watch, may_administer
from bot.domain.logical import nothing_to
from bot.domain.results import (
    EnvProgress,
    MuteResult,
    UnwatchResult,
    Watched,
    WatchingResult,
    WatchResult,
)
from bot.domain.timeline import Baseline
from bot.kosli import KosliClient, KosliError
from bot.kosli.models import Environment, Snapshot
from bot.store.records import EnvState, SubscriptionRecord
from bot.store.store import Store
from bot.watch.watcher import Watcher


@dataclass
class Subscriptions:
    store: Store
    kosli: KosliClient
    watcher: Watcher
    admins: frozenset[str] = frozenset()  # who may narrow what a channel gets; empty: everyone

    async def watch(self, request: Watch, channel: str, user: str) -> WatchResult:
        return await self._watch(
            request.envs, request.risky_only, channel, user, self.watcher.clock()
        )

    async def unwatch(self, request: Unwatch, channel: str, user: str) -> UnwatchResult:
        removed = await self.store.subscriptions.unsubscribe(channel, request.env)
        if removed:
            return UnwatchResult(request.env, removed, user)
        # `watch production` watched what it includes: `unwatch production` undoes it.
        if (logical := await self._logical(request.env)) is None:
            return UnwatchResult(request.env, removed, user)
        included = [
            env
            for env in logical.included
            if await self.store.subscriptions.unsubscribe(channel, env)
        ]
        return UnwatchResult(request.env, bool(included), user, logical, tuple(included))

    async def watching(self, _: ListWatching, channel: str, user: str) -> WatchingResult:
        subs = await self.store.subscriptions.find(channel=channel)
        states = [await self.store.environments.state(s.env) for s in subs]
        return WatchingResult(
            tuple((watched_of(s), progress_of(e)) for s, e in zip(subs, states, strict=True))
        )

    async def mute(self, request: Mute, channel: str, user: str) -> MuteResult:
        until = self.watcher.clock() + request.duration
        found = await self.store.subscriptions.set_mute(channel, request.env, until)
        if found or (logical := await self._logical(request.env)) is None:
            return MuteResult(request.env, until, found, user)
        muted = [
            e
            for e in logical.included
            if await self.store.subscriptions.set_mute(channel, e, until)
        ]
        return MuteResult(request.env, until, bool(muted), user, 0, logical, tuple(muted))

    async def unmute(self, request: Unmute, channel: str, user: str) -> MuteResult:
        env = request.env
        watched = {s.env for s in await self.store.subscriptions.find(channel=channel)}
        if env in watched or (logical := await self._logical(env)) is None:
            released = await self.watcher.end_mute(channel, env) if env in watched else 0
            return MuteResult(env, None, env in watched, user, released)
        unmuted = tuple(e for e in logical.included if e in watched)
        released = sum([await self.watcher.end_mute(channel, e) for e in unmuted])
        return MuteResult(env, None, bool(unmuted), user, released, logical, unmuted)

    async def _logical(self, env: str) -> Environment | None:
        """`env` when it is a logical environment: the channel watches what it includes."""
        found = (await self._environments()).get(env)
        return found if found is not None and found.logical else None

    async def _watch(
        self, envs: tuple[str, ...], risky_only: bool, channel: str, user: str, now: datetime
    ) -> WatchResult:
        latest, logical, empty = await self._targets(envs)
        if not latest:
            raise QueryError(nothing_to("watch", logical, empty))
        started: list[Baseline] = []
        already: list[Watched] = []
        switched: list[str] = []
        before: dict[str, list[SubscriptionRecord]] = {}
        for snapshot in latest:  # all allowed before any is watched
            before[snapshot.env] = await self.store.subscriptions.find(
                channel=channel, env=snapshot.env
            )
            was = before[snapshot.env]
            if was and risky_only and not was[0].risky_only:
                self._may_narrow(snapshot.env, user)
        for snapshot in latest:
            env = snapshot.env
            if await self.store.subscriptions.subscribe(
                channel, env, user, snapshot.index, now, risky_only, snapshot.compliant
            ):
                started.append(Baseline(snapshot))
            else:
                already += map(
                    watched_of,
                    await self.store.subscriptions.find(channel=channel, env=env),
                )
            if before[env] and before[env][0].risky_only != risky_only:
                switched.append(env)
        return WatchResult(
            tuple(started), tuple(already), risky_only, logical, empty, tuple(switched)
        )

    async def _targets(
        self, envs: tuple[str, ...]
    ) -> tuple[list[Snapshot], tuple[Environment, ...], tuple[str, ...]]:
        """The latest snapshot of each environment to watch (a logical one stands for those it
        includes), the logical ones asked for, and those with no snapshot to start from.
        Everything is read before anything is watched, so a typo leaves nothing half done."""
        latest: dict[str, Snapshot] = {}
        logical: list[Environment] = []
        empty: list[str] = []
        known: dict[str, Environment] | None = None
        for env in envs:
            if env in latest or env in empty:
                continue
            if (snapshot := await self.kosli.latest_snapshot(env)) is not None:
                latest[env] = snapshot
                continue
            # No snapshot: an unknown name, a logical environment, or one never reported.
            known = known if known is not None else await self._environments()
            found = known.get(env)
            if found is None:
                unknown = unknown_wording(env, list(known), self.kosli.org) if known else None
                raise QueryError(unknown or f"Kosli has no snapshot of `{env}` yet.")
            if not found.logical:
                empty.append(env)
                continue
            logical.append(found)
            for included in found.included:
                if included in latest or included in empty:
                    continue
                if (snapshot := await self.kosli.latest_snapshot(included)) is not None:
                    latest[included] = snapshot
                else:
                    empty.append(included)
        return list(latest.values()), tuple(logical), tuple(empty)

    async def _environments(self) -> dict[str, Environment]:
        try:
            return {e.name: e for e in await self.kosli.environments()}
        except KosliError:
            return {}  # cannot tell which: the plain "no snapshot" wording stands

    def _may_narrow(self, env: str, user: str) -> None:
        """`watch --risky` on a channel getting every change silences the compliant ones: like
        `unwatch` and `mute`, only for admins when there are any."""
        if not may_administer(self.admins, user):
            raise QueryError(
                f"Only the bot's admins may narrow `{env}` here to risky changes; "
                "this channel still gets every change."
            )


def watched_of(sub: SubscriptionRecord) -> Watched:
    return Watched(sub.env, sub.since_index, sub.risky_only, sub.muted_until, sub.paused_reason)


def progress_of(state: EnvState | None) -> EnvProgress | None:
    if state is None:
        return None
    return EnvProgress(state.last_seen_index, state.outage_open, state.last_seen_compliant)

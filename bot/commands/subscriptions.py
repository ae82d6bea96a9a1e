"""watch, unwatch, watching, mute, unmute: a channel's subscriptions to environments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.commands.queries import QueryError, unknown_environment
from bot.domain.commands import ListWatching, Mute, Unmute, Unwatch, Watch
from bot.domain.results import (
    EnvProgress,
    MuteResult,
    UnwatchResult,
    Watched,
    WatchingResult,
    WatchResult,
)
from bot.domain.timeline import Baseline
from bot.kosli import KosliClient, KosliNotFound, Snappish
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
        return UnwatchResult(request.env, removed, user)

    async def watching(self, _: ListWatching, channel: str, user: str) -> WatchingResult:
        subs = await self.store.subscriptions.find(channel=channel)
        states = [await self.store.environments.state(s.env) for s in subs]
        return WatchingResult(
            tuple((_watched(s), _progress(e)) for s, e in zip(subs, states, strict=True))
        )

    async def mute(self, request: Mute, channel: str, user: str) -> MuteResult:
        until = self.watcher.clock() + request.duration
        found = await self.store.subscriptions.set_mute(channel, request.env, until)
        return MuteResult(request.env, until, found, user)

    async def unmute(self, request: Unmute, channel: str, user: str) -> MuteResult:
        env = request.env
        found = any(s.env == env for s in await self.store.subscriptions.find(channel=channel))
        released = await self.watcher.end_mute(channel, env) if found else 0
        return MuteResult(env, None, found, user, released)

    async def _watch(
        self, envs: tuple[str, ...], risky_only: bool, channel: str, user: str, now: datetime
    ) -> WatchResult:
        started: list[Baseline] = []
        already: list[Watched] = []
        switched: list[str] = []
        for env in envs:
            try:
                snapshot = await self.kosli.snapshot(Snappish(env))
            except KosliNotFound:
                unknown = await unknown_environment(self.kosli, [env])
                raise QueryError(unknown or f"Kosli has no snapshot of `{env}` yet.") from None
            before = await self.store.subscriptions.find(channel=channel, env=env)
            if before and risky_only and not before[0].risky_only:
                self._may_narrow(env, user)
            if await self.store.subscriptions.subscribe(
                channel, env, user, snapshot.index, now, risky_only
            ):
                started.append(Baseline(snapshot))
            else:
                already += map(
                    _watched,
                    await self.store.subscriptions.find(channel=channel, env=env),
                )
            if before and before[0].risky_only != risky_only:
                switched.append(env)
        return WatchResult(tuple(started), tuple(already), risky_only, tuple(switched))

    def _may_narrow(self, env: str, user: str) -> None:
        """`watch --risky` on a channel getting every change silences the compliant ones: like
        `unwatch` and `mute`, only for admins when there are any."""
        if self.admins and user not in self.admins:
            raise QueryError(
                f"Only the bot's admins may narrow `{env}` here to risky changes; "
                "this channel still gets every change."
            )


def _watched(sub: SubscriptionRecord) -> Watched:
    return Watched(sub.env, sub.since_index, sub.risky_only, sub.muted_until, sub.paused_reason)


def _progress(state: EnvState | None) -> EnvProgress | None:
    return EnvProgress(state.last_seen_index, state.outage_open) if state else None

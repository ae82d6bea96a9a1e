"""One watcher cycle: poll environments, turn new snapshots into outbox rows, send the outbox."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.domain.changes import snapshot_changes
from bot.kosli import KosliClient, KosliError, Snappish
from bot.render.alerts import (
    render_mute_summary,
    render_outage,
    render_paused,
    render_recovery,
)
from bot.render.changes import render_alert
from bot.render.kit import Message
from bot.store.models import Subscription, WatchedEnv
from bot.store.outbox import NewAlert, Outgoing
from bot.store.store import Store
from bot.transport import ChannelGone, Transport, TransportError

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Watcher:
    store: Store
    kosli: KosliClient
    transport: Transport
    command: str = "/kosli"
    owner: str = ""
    concurrency: int = 32
    outage_after: int = 3
    lease_ttl: timedelta = timedelta(minutes=5)
    claim_ttl: timedelta = timedelta(minutes=2)
    clock: Callable[[], datetime] = utcnow

    def __post_init__(self) -> None:
        # Leases and claims name their holder, so two replicas never work on the same row.
        self.owner = self.owner or f"watcher-{uuid.uuid4().hex[:12]}"

    async def run_cycle(self) -> None:
        """Never raises: a scheduler job that dies silently would stop all alerts."""
        try:
            await self.poll_all()
            self.end_mutes()
            await self.send_pending()
        except Exception:
            log.exception("watcher cycle failed; the next cycle starts from the database")

    # ---- polling ------------------------------------------------------------------------

    async def poll_all(self) -> None:
        """Poll every environment this process holds a lease on; an unchanged one costs one
        cheap Kosli call and no database write."""
        leased = self.store.environments.lease(self.owner, self.clock(), self.lease_ttl)
        limit = asyncio.Semaphore(self.concurrency)
        answered: list[str] = []

        async def bounded(state: WatchedEnv) -> None:
            async with limit:
                if await self.poll(state):
                    answered.append(state.env)

        try:
            await asyncio.gather(*(bounded(state) for state in leased))
        finally:
            self.store.environments.release(self.owner, answered, self.clock())

    async def poll(self, state: WatchedEnv) -> bool:
        """True when Kosli answered for this environment (whether or not anything changed)."""
        try:
            await self._catch_up(state)
        except KosliError as error:
            log.warning("polling %s failed: %s", state.env, error)
            self._failed(state.env)
            return False
        return True

    async def _catch_up(self, state: WatchedEnv) -> None:
        env = state.env
        # One cheap call tells whether anything happened: the newest snapshot's number.
        newest = await self.kosli.snapshots(env, page=1, per_page=1)
        if state.failures or state.outage_open:
            before = self.store.environments.mark_polled(env, self.clock())
            if before is not None and before.outage_open:
                message = render_recovery(env, before.last_seen_index)
                self._to_subscribers(env, "recovery", before.outages, message)
        if not newest or newest[0].index <= state.last_seen_index:
            return
        previous = await self.kosli.snapshot(Snappish(env, "#", str(state.last_seen_index)))
        subscriptions = self.store.subscriptions.find(env=env)
        incidents = [i for i in self.store.incidents.still_open() if env in i.envs]
        # Catch up in order; the high-water mark moves with each snapshot's alerts, atomically,
        # so a failure part-way resumes exactly where it stopped.
        for index in range(state.last_seen_index + 1, newest[0].index + 1):
            current = await self.kosli.snapshot(Snappish(env, "#", str(index)))
            change = snapshot_changes(previous, current)
            now = self.clock()
            alerts: list[NewAlert] = []
            if not change.is_empty:
                message = render_alert(change, self.command)
                alerts = [
                    _alert(sub, "change", index, message, held=_muted(sub, now))
                    for sub in subscriptions
                    if sub.paused_reason is None
                    and sub.since_index < index
                    and (change.risky or not sub.risky_only)
                ]
                # Open incidents on this environment get the change in their thread too.
                alerts += [
                    NewAlert(
                        incident.channel_id,
                        env,
                        "thread",
                        index,
                        message.text,
                        message.blocks,
                        thread_ts=incident.thread_ts,
                    )
                    for incident in incidents
                    if index > incident.shown_indexes.get(env, 0)
                ]
            self.store.outbox.advance(env, index, alerts, now)
            previous = current

    def _failed(self, env: str) -> None:
        state = self.store.environments.record_failure(env)
        if state is None or state.failures < self.outage_after:
            return
        outage = self.store.environments.open_outage(env)
        if outage is not None:
            message = render_outage(env, state.failures, state.last_polled_at)
            self._to_subscribers(env, "outage", outage, message)

    def _to_subscribers(self, env: str, kind: str, index: int, message: Message) -> None:
        now = self.clock()
        alerts = [
            _alert(sub, kind, index, message, held=False)
            for sub in self.store.subscriptions.find(env=env)
            if sub.paused_reason is None
        ]
        self.store.outbox.add(alerts, now)

    # ---- mutes --------------------------------------------------------------------------

    def end_mutes(self) -> None:
        now = self.clock()
        for sub in self.store.subscriptions.find():
            if sub.muted_until is not None and sub.muted_until <= now:
                self.end_mute(sub.channel_id, sub.env)

    def end_mute(self, channel: str, env: str) -> int:
        """Clear the mute and queue one summary of what was held; returns how many."""
        self.store.subscriptions.set_mute(channel, env, None)
        held = self.store.outbox.release_held(channel, env)
        if held:
            message = render_mute_summary(env, [(a.snapshot_index, a.text) for a in held])
            summary = NewAlert(
                channel, env, "mute_summary", held[-1].snapshot_index, message.text, message.blocks
            )
            self.store.outbox.add([summary], self.clock())
        return len(held)

    # ---- sending ------------------------------------------------------------------------

    async def send_pending(self) -> None:
        """Channels are sent to side by side, so one rate-limited channel delays no other.

        One process sends at a time (a lease), so each channel gets its alerts in order even
        when several replicas share the database.
        """
        if not self.store.leases.take("sender", self.owner, self.clock(), self.claim_ttl):
            return
        by_channel: dict[str, list[Outgoing]] = defaultdict(list)
        for item in self.store.outbox.claim(self.owner, self.clock(), self.claim_ttl):
            by_channel[item.channel_id].append(item)
        limit = asyncio.Semaphore(self.concurrency)

        async def bounded(items: list[Outgoing]) -> None:
            async with limit:
                await self._send_channel(items)

        try:
            await asyncio.gather(*(bounded(items) for items in by_channel.values()))
        finally:
            self.store.leases.release("sender", self.owner)

    async def _send_channel(self, items: list[Outgoing]) -> None:
        for position, item in enumerate(items):
            try:
                ts = await self._post(item)
            except ChannelGone as gone:
                await self._channel_gone(item.channel_id, gone.reason)
                self._unclaim(items[position:])
                return
            except TransportError as error:
                log.warning("Slack refused an alert for %s: %s", item.channel_id, error.reason)
                self._unclaim(items[position:])  # keep order: the rest waits for the next cycle
                return
            except Exception:
                log.exception("sending an alert to %s failed", item.channel_id)
                self._unclaim(items[position:])
                return
            self.store.outbox.mark_sent(item.id, self.owner, ts, self.clock())

    async def _post(self, item: Outgoing) -> str:
        """Post every part of the alert not yet posted; return the first part's ts. A sender
        that died between posting and marking left parts behind: find them first."""
        already = (
            await self.transport.find_posted(
                item.channel_id,
                item.key,
                thread_ts=item.thread_ts,
                since=item.created_at - timedelta(minutes=1),
            )
            if item.uncertain
            else {}
        )
        message = Message(item.text, item.blocks)
        return await self.transport.post(
            item.channel_id, message, thread_ts=item.thread_ts, key=item.key, already=already
        )

    def _unclaim(self, items: list[Outgoing]) -> None:
        for item in items:
            self.store.outbox.unclaim(item.id, self.owner)

    async def _channel_gone(self, channel: str, reason: str) -> None:
        paused = self.store.subscriptions.pause_channel(channel, reason)
        self.store.outbox.drop_pending(channel)
        by_user: dict[str, list[str]] = defaultdict(list)
        for sub in paused:
            by_user[sub.created_by].append(sub.env)
        for user, envs in by_user.items():
            message = render_paused(channel, envs, reason, self.command)
            try:
                await self.transport.post(user, message)  # a direct message
            except TransportError as error:
                log.warning("could not tell %s about the paused channel: %s", user, error.reason)


def _muted(sub: Subscription, now: datetime) -> bool:
    return sub.muted_until is not None and sub.muted_until > now


def _alert(sub: Subscription, kind: str, index: int, message: Message, held: bool) -> NewAlert:
    return NewAlert(sub.channel_id, sub.env, kind, index, message.text, message.blocks, held)

"""Sending: claim outbox rows and post them through the transport, channel by channel, in
order; a channel that is gone is paused and its subscribers told."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.metrics import ALERTS_AS_TEXT, ALERTS_PARKED, ALERTS_POSTED
from bot.render.blockkit import Message
from bot.render.watcher import render_paused
from bot.store.models import AlertKind
from bot.store.outbox import Outgoing
from bot.store.store import Store
from bot.transport import ChannelGone, RateLimited, Rejected, Transport, TransportError
from bot.watch.settings import WatchSettings

log = logging.getLogger(__name__)


@dataclass
class Sender:
    store: Store
    transport: Transport
    settings: WatchSettings
    # Channels whose send failed this cycle wait for the next one, however many sends the
    # cycle makes: an alert's attempts count cycles, and its channel's order holds.
    resting: set[str] = field(default_factory=set)
    _turn_taken: datetime = datetime.min.replace(tzinfo=UTC)

    def new_cycle(self) -> None:
        self.resting.clear()

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[bool]:
        """This process's turn to send: True when it has it. One process sends at a time (a
        lease), so each channel gets its alerts in order even when several replicas share
        the database. Held across the rounds of a busy cycle, not taken for each."""
        owner = self.settings.owner
        if not await self.store.leases.take("sender", owner, self.now(), self.ttl):
            yield False
            return
        self._turn_taken = self.now()
        await self.store.outbox.take_back(owner)  # nothing of ours is being sent between turns
        try:
            yield True
        finally:
            await self.store.leases.release("sender", owner)

    async def send_pending(self) -> None:
        """Channels are sent to side by side, so one rate-limited channel delays no other.
        Only in this process's `turn`."""
        if not await self._still_my_turn():
            return
        by_channel: dict[str, list[Outgoing]] = defaultdict(list)
        for item in await self.store.outbox.claim(
            self.settings.owner, self.now(), self.ttl, skip=set(self.resting)
        ):
            by_channel[item.channel_id].append(item)
        limit = asyncio.Semaphore(self.settings.concurrency)

        async def bounded(items: list[Outgoing]) -> None:
            async with limit:
                await self._send_channel(items)

        await asyncio.gather(*(bounded(items) for items in by_channel.values()))

    async def _still_my_turn(self) -> bool:
        """A long turn renews its lease as the heartbeat would, in case none beats."""
        if self.now() - self._turn_taken <= self.ttl / 3:
            return True
        if not await self.store.leases.take("sender", self.settings.owner, self.now(), self.ttl):
            return False
        self._turn_taken = self.now()
        return True

    def now(self) -> datetime:
        return self.settings.now()

    @property
    def ttl(self) -> timedelta:
        return self.settings.lease_ttl

    async def _send_channel(self, items: list[Outgoing]) -> None:
        for position, item in enumerate(items):
            try:
                ts = await self._post(item)
            except ChannelGone as gone:
                await self._channel_gone(item.channel_id, gone.reason)
                await self._unclaim(items[position:])
                return
            except TransportError as error:
                # A rate limit says "later", never that the alert is at fault.
                worn = item.attempts >= self.settings.max_attempts
                poison = isinstance(error, Rejected) or (
                    worn and not isinstance(error, RateLimited)
                )
                if poison and await self._fall_back(item, error.reason):
                    continue  # posted as plain text, or parked: later alerts flow
                log.warning("Slack refused an alert for %s: %s", item.channel_id, error.reason)
                await self._rest(items[position:])
                return
            except Exception:
                log.exception("sending an alert to %s failed", item.channel_id)
                await self._rest(items[position:])
                return
            await self.store.outbox.mark_sent(item.id, self.settings.owner, ts, self.settings.now())
            ALERTS_POSTED.labels(item.kind.value).inc()

    async def _post(self, item: Outgoing) -> str:
        """Post every part of the alert not yet posted; return the first part's ts. A sender
        that died between posting and marking left parts behind: find them first."""
        already = await self._find_posted(item) if item.uncertain else {}
        message = Message(item.text, item.blocks)
        return await self.transport.post(
            item.channel_id, message, thread_ts=item.thread_ts, key=item.key, already=already
        )

    async def _find_posted(self, item: Outgoing) -> dict[str, str]:
        since = item.created_at - timedelta(minutes=1)
        found = await self.transport.find_posted(
            item.channel_id, item.key, thread_ts=item.thread_ts, since=since
        )
        old = item.key_before_0007
        if found or old is None:
            return found
        # A replica from before migration 0007 may have posted it under the old marker and died
        # before marking it sent: its parts count as this key's ('old/2' is 'key/2').
        before = await self.transport.find_posted(
            item.channel_id, old, thread_ts=item.thread_ts, since=since
        )
        return {item.key + part.removeprefix(old): ts for part, ts in before.items()}

    async def _fall_back(self, item: Outgoing, reason: str) -> bool:
        """Slack will not take this alert as it is: post its gist as plain text, or, if even
        that fails, park it and tell the channel once. False when the channel is gone, or Slack
        asks to wait (the alert then rests with its channel)."""
        owner, now = self.settings.owner, self.settings.now()
        gist = f"{item.text}. Slack refused the full alert ({reason})"
        if item.kind is AlertKind.CHANGE:
            gist += f": ask `{self.settings.command} diff {item.env}#{item.snapshot_index}`"
        try:
            ts = await self.transport.post(
                item.channel_id, Message(gist + "."), thread_ts=item.thread_ts, key=item.key
            )
        except ChannelGone as gone:
            await self._channel_gone(item.channel_id, gone.reason)
            return False
        except RateLimited:
            return False  # not refused: it rests with the channel, to be tried again
        except TransportError as error:
            await self.store.outbox.park(item.id, owner)
            ALERTS_PARKED.labels(error.reason).inc()
            log.warning("parked alert %s: Slack refused it even as text (%s)", item.key, error)
            note = Message(
                f":warning: An alert for {item.env}#{item.snapshot_index} could not be posted "
                f"(Slack said {error.reason}); it is set aside and later alerts follow."
            )
            try:
                await self.transport.post(item.channel_id, note, thread_ts=item.thread_ts)
            except TransportError as unsent:
                log.warning("could not tell %s about a parked alert: %s", item.channel_id, unsent)
            return True
        await self.store.outbox.mark_sent(item.id, owner, ts, now)
        ALERTS_AS_TEXT.labels(reason).inc()
        log.warning("alert %s went as plain text: Slack refused it (%s)", item.key, reason)
        return True

    async def _rest(self, items: list[Outgoing]) -> None:
        """Keep order: this alert and the channel's later ones wait for the next cycle."""
        self.resting.add(items[0].channel_id)
        await self._unclaim(items)

    async def _unclaim(self, items: list[Outgoing]) -> None:
        for item in items:
            await self.store.outbox.unclaim(item.id, self.settings.owner)

    async def _channel_gone(self, channel: str, reason: str) -> None:
        paused = await self.store.subscriptions.pause_channel(channel, reason)
        await self.store.outbox.drop_pending(channel)
        by_user: dict[str, list[str]] = defaultdict(list)
        for sub in paused:
            by_user[sub.created_by].append(sub.env)
        for user, envs in by_user.items():
            message = render_paused(channel, envs, reason, self.settings.command)
            try:
                await self.transport.post(user, message)  # a direct message
            except TransportError as error:
                log.warning("could not tell %s about the paused channel: %s", user, error.reason)

"""Who gets an alert: subscribed channels (unless paused, muted or only risky changes are
wanted) and open incident threads on the environment; mutes end in one summary."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from bot.domain.bisect import bisect_ends
from bot.domain.changes import ChangeSet, short_name
from bot.render.blockkit import Message
from bot.render.watcher import render_mute_summary
from bot.store.outbox import NewAlert
from bot.store.records import IncidentRecord, SubscriptionRecord
from bot.store.store import Store
from bot.watch.settings import WatchSettings


@dataclass
class Router:
    store: Store
    settings: WatchSettings

    def change(
        self,
        changes: ChangeSet,
        message: Message,
        subscriptions: list[SubscriptionRecord],
        incidents: list[IncidentRecord],
        now: datetime,
    ) -> list[NewAlert]:
        """The alerts one snapshot's changes make, for channels and open threads."""
        env, index = changes.env, changes.after_index
        told = [
            sub
            for sub in subscriptions
            if sub.paused_reason is None
            and sub.since_index < index
            and (changes.risky or not sub.risky_only)
        ]
        alerts = [_alert(sub, "change", index, message, held=_muted(sub, now)) for sub in told]
        # Open incidents on this environment get the change in their thread too.
        threads = [
            incident
            for incident in incidents
            if incident.thread_ts and index > incident.shown_indexes.get(env, 0)
        ]
        alerts += [
            thread_alert(incident.id, incident.channel_id, incident.thread_ts, changes, message)
            for incident in threads
        ]
        # The commits behind a replaced build follow its alert, once the git host answers:
        # the alert itself never waits for them.
        if asks := bisect_asks(changes):
            alerts += [
                NewAlert(sub.channel_id, env, "bisect", index, "", [], bisect=asks)
                for sub in told
                if not _muted(sub, now)
            ]
            alerts += [
                NewAlert(
                    i.channel_id,
                    env,
                    f"bisect/{i.id}",
                    index,
                    "",
                    [],
                    thread_ts=i.thread_ts,
                    bisect=asks,
                )
                for i in threads
            ]
        return alerts

    async def to_subscribers(self, env: str, kind: str, index: int, message: Message) -> int:
        now = self.settings.now()
        alerts = [
            _alert(sub, kind, index, message, held=False)
            for sub in await asyncio.to_thread(self.store.subscriptions.find, env=env)
            if sub.paused_reason is None
        ]
        return await asyncio.to_thread(self.store.outbox.add, alerts, now)

    async def end_mutes(self) -> None:
        now = self.settings.now()
        for sub in await asyncio.to_thread(self.store.subscriptions.find):
            if sub.muted_until is not None and sub.muted_until <= now:
                await self.end_mute(sub.channel_id, sub.env)

    async def end_mute(self, channel: str, env: str) -> int:
        """Clear the mute and queue one summary of what was held; returns how many."""
        await asyncio.to_thread(self.store.subscriptions.set_mute, channel, env, None)
        held = await asyncio.to_thread(self.store.outbox.release_held, channel, env)
        if held:
            message = render_mute_summary(env, [(a.snapshot_index, a.text) for a in held])
            summary = NewAlert(
                channel, env, "mute_summary", held[-1].snapshot_index, message.text, message.blocks
            )
            await asyncio.to_thread(self.store.outbox.add, [summary], self.settings.now())
        return len(held)


def _muted(sub: SubscriptionRecord, now: datetime) -> bool:
    return sub.muted_until is not None and sub.muted_until > now


def _alert(
    sub: SubscriptionRecord, kind: str, index: int, message: Message, held: bool
) -> NewAlert:
    return NewAlert(sub.channel_id, sub.env, kind, index, message.text, message.blocks, held)


def thread_alert(
    incident_id: int, channel: str, thread_ts: str, changes: ChangeSet, message: Message
) -> NewAlert:
    """One snapshot's changes as a reply in an incident's thread. The kind names the incident,
    so a later thread on the same environment shows the same change again."""
    return NewAlert(
        channel,
        changes.env,
        f"thread/{incident_id}",
        changes.after_index,
        message.text,
        message.blocks,
        thread_ts=thread_ts,
    )


def bisect_asks(changes: ChangeSet) -> list[dict[str, str]]:
    """What to ask the git host for each replaced build of these changes (kept in the row)."""
    asks = []
    for change in changes.changes:
        ends = bisect_ends(change)
        if ends is not None and change.previous is not None:
            label = f"{short_name(change.previous.name)} → {short_name(change.artifact.name)}"
            asks.append({"commit_url": ends.commit_url, "old": ends.old, "new": ends.new,
                         "label": label})  # fmt: skip
    return asks

"""Who gets an alert: subscribed channels (unless paused, muted or only risky changes are
wanted) and open incident threads on the environment; mutes end in one summary."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.changes import ChangeSet
from bot.domain.commits_window import ReplacedBuild, replaced_builds
from bot.render.blockkit import Message
from bot.render.watcher import render_mute_summary
from bot.store.models import AlertKind
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
        # The commits behind a replaced build follow its alert, once the git host answers:
        # the alert itself never waits for them. A held alert gets none.
        replaced = replaced_builds(changes)
        alerts = [
            _alert(sub, AlertKind.CHANGE, index, message, held=True)
            if _muted(sub, now)
            else _alert(sub, AlertKind.CHANGE, index, message, held=False, commits=replaced)
            for sub in told
        ]
        # Open incidents on this environment get the change in their thread too.
        alerts += [
            thread_alert(i.id, i.channel_id, thread, changes, message, replaced)
            for i in incidents
            if (thread := i.thread_ts) and index > i.shown_indexes.get(env, 0)
        ]
        return alerts

    def reevaluated(
        self,
        changes: ChangeSet,
        message: Message,
        subscriptions: list[SubscriptionRecord],
        incidents: list[IncidentRecord],
        now: datetime,
    ) -> list[NewAlert]:
        """The alerts for a snapshot Kosli now gives another compliance: for every channel
        and open thread that could have seen it (a channel that only wants trouble hears the
        good news too, having heard the bad). A muted channel holds it like a change."""
        index = changes.after_index
        kind = (
            AlertKind.NOW_COMPLIANT
            if changes.compliance and changes.compliance[1]
            else AlertKind.NOW_NON_COMPLIANT
        )
        alerts = [
            _alert(sub, kind, index, message, held=_muted(sub, now))
            for sub in subscriptions
            if sub.paused_reason is None and sub.since_index <= index
        ]
        alerts += [
            thread_alert(i.id, i.channel_id, thread, changes, message, kind=kind)
            for i in incidents
            if (thread := i.thread_ts)
        ]
        return alerts

    async def to_subscribers(self, env: str, kind: AlertKind, index: int, message: Message) -> int:
        now = self.settings.now()
        alerts = [
            _alert(sub, kind, index, message, held=False)
            for sub in await self.store.subscriptions.find(env=env)
            if sub.paused_reason is None
        ]
        return await self.store.outbox.add(alerts, now)

    async def end_mutes(self) -> None:
        now = self.settings.now()
        for sub in await self.store.subscriptions.find():
            if sub.muted_until is not None and sub.muted_until <= now:
                await self.end_mute(sub.channel_id, sub.env)

    async def end_mute(self, channel: str, env: str) -> int:
        """Clear the mute and queue one summary of what was held; returns how many."""
        await self.store.subscriptions.set_mute(channel, env, None)
        held = await self.store.outbox.release_held(channel, env)
        if held:
            message = render_mute_summary(env, [(a.snapshot_index, a.text) for a in held])
            summary = NewAlert(
                channel,
                env,
                AlertKind.MUTE_SUMMARY,
                held[-1].snapshot_index,
                message.text,
                message.blocks,
            )
            await self.store.outbox.add([summary], self.settings.now())
        return len(held)


def _muted(sub: SubscriptionRecord, now: datetime) -> bool:
    return sub.muted_until is not None and sub.muted_until > now


def _alert(
    sub: SubscriptionRecord,
    kind: AlertKind,
    index: int,
    message: Message,
    held: bool,
    commits: tuple[ReplacedBuild, ...] = (),
) -> NewAlert:
    return NewAlert(
        sub.channel_id, sub.env, kind, index, message.text, message.blocks, held, commits=commits
    )


def thread_alert(
    incident_id: int,
    channel: str,
    thread_ts: str,
    changes: ChangeSet,
    message: Message,
    commits: tuple[ReplacedBuild, ...] = (),
    kind: AlertKind = AlertKind.CHANGE,
) -> NewAlert:
    """One snapshot's changes as a reply in an incident's thread. The alert names the
    incident, so a later thread on the same environment shows the same change again."""
    return NewAlert(
        channel,
        changes.env,
        kind,
        changes.after_index,
        message.text,
        message.blocks,
        thread_ts=thread_ts,
        incident_id=incident_id,
        commits=commits,
    )

"""Who gets an alert: subscribed channels (unless paused, muted or only risky changes are
wanted) and open incident threads on the environment; mutes end in one summary."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from bot.domain.changes import FOLLOW_UPS, TROUBLE, ChangeSet
from bot.domain.commits_window import ReplacedBuild, replaced_builds
from bot.render.blockkit import Message
from bot.render.changes import render_alert, render_follow_up
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
        snapshot: Rendered,
        subscriptions: list[SubscriptionRecord],
        incidents: list[IncidentRecord],
        now: datetime,
    ) -> list[NewAlert]:
        """The alerts one snapshot's changes make, for channels and open threads.

        The whole message goes to threads, and to channels unless the snapshot has follow-ups:
        those go apart, each under the alert it resolves where the store knows it (a channel
        that heard of a trouble hears it resolved, even if it wants only trouble).
        """
        changes, news, follow_up = snapshot.changes, snapshot.news, snapshot.follow_up
        env, index = changes.env, changes.after_index
        hearing = [s for s in subscriptions if s.paused_reason is None and s.since_index < index]
        told = [s for s in hearing if news.risky or not s.risky_only] if not news.is_empty else []
        # The commits behind a replaced build follow its alert, once the git host answers:
        # the alert itself never waits for them. A held alert gets none.
        replaced = replaced_builds(changes)
        troubles = tuple(c.artifact.fingerprint for c in news.changes if c.kind in TROUBLE)
        alerts = [
            replace(
                _alert(sub, AlertKind.CHANGE, index, snapshot.channel, held=True)
                if _muted(sub, now)
                else _alert(
                    sub, AlertKind.CHANGE, index, snapshot.channel, held=False, commits=replaced
                ),
                troubles=troubles,
            )
            for sub in told
        ]
        if follow_up is not None:
            alerts += [
                replace(_alert(sub, AlertKind.FOLLOW_UP, index, follow_up.own, _muted(sub, now)),
                        follows=follow_up.follows, reply=follow_up.reply)
                for sub in hearing
            ]  # fmt: skip
        # Open incidents on this environment get the change in their thread too.
        alerts += [
            thread_alert(i.id, i.channel_id, thread, changes, snapshot.message, replaced)
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


@dataclass(frozen=True)
class _FollowUp:
    own: Message  # as its own message
    reply: tuple[str, list[dict[str, Any]]]  # as a reply under the alert it resolves
    follows: tuple[str, ...]  # the fingerprints it resolves


@dataclass(frozen=True)
class Rendered:
    """A snapshot's changes with their messages, rendered before the outbox's transaction so
    routing inside it only picks who hears what."""

    changes: ChangeSet
    message: Message  # all of the changes: for incident threads
    news: ChangeSet  # what channels are told as news (the follow-ups apart)
    channel: Message  # the news, as channels get it
    follow_up: _FollowUp | None


def rendered(changes: ChangeSet, command: str) -> Rendered:
    """The news of a snapshot, and its follow-ups apart (None when it has none). An
    environment turning compliant again goes with the follow-ups when nothing else changed."""
    message = render_alert(changes, command)
    follow_ups = changes.follow_ups
    if not follow_ups:
        return Rendered(changes, message, changes, message, None)
    rest = tuple(c for c in changes.changes if c.kind not in FOLLOW_UPS)
    news = replace(changes, changes=rest, compliance=changes.compliance if rest else None)
    only = replace(changes, changes=follow_ups, compliance=None if rest else changes.compliance)
    reply = render_follow_up(only, command)
    follows = tuple(c.artifact.fingerprint for c in follow_ups)
    follow_up = _FollowUp(render_alert(only, command), (reply.text, reply.blocks), follows)
    return Rendered(changes, message, news, render_alert(news, command), follow_up)


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

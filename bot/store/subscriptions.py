"""Which channels watch which environments: subscribe, pause, mute."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from bot.store.database import Database
from bot.store.door import off_loop
from bot.store.models import Subscription, WatchedEnv
from bot.store.records import SubscriptionRecord, record
from bot.store.watchers import subscriptions_in


class SubscriptionRepository:
    def __init__(self, db: Database, workspace: str) -> None:
        self.db = db
        self.workspace = workspace

    @off_loop
    def subscribe(
        self,
        channel: str,
        env: str,
        user: str,
        baseline: int,
        now: datetime,
        risky_only: bool = False,
        compliant: bool | None = None,
    ) -> bool:
        """Subscribe (or resume a paused subscription) from snapshot `baseline`, whose
        compliance was `compliant`. False when it already was active."""
        with self.db.begin() as session:
            existing = session.scalar(self._subscription(channel, env))
            if existing is not None:
                was_paused = existing.paused_reason is not None
                existing.paused_reason = None
                existing.since_index = max(existing.since_index, baseline)
                existing.risky_only = risky_only
                fresh = was_paused
            else:
                session.add(
                    Subscription(
                        workspace=self.workspace,
                        channel_id=channel,
                        env=env,
                        created_by=user,
                        created_at=now,
                        since_index=baseline,
                        risky_only=risky_only,
                    )
                )
                fresh = True
            watched = session.get(WatchedEnv, (self.workspace, env))
            others = session.scalar(
                select(Subscription.id).where(
                    Subscription.workspace == self.workspace,
                    Subscription.env == env,
                    Subscription.channel_id != channel,
                    Subscription.paused_reason.is_(None),
                )
            )
            if watched is None:
                session.add(
                    WatchedEnv(
                        workspace=self.workspace,
                        env=env,
                        last_seen_index=baseline,
                        last_seen_compliant=compliant,
                    )
                )
            elif others is None and baseline > watched.last_seen_index:
                # Nobody else watches it: start from now instead of replaying unwatched history.
                watched.last_seen_index = baseline
                watched.last_seen_compliant = compliant
        return fresh

    @off_loop
    def unsubscribe(self, channel: str, env: str) -> bool:
        with self.db.begin() as session:
            found = session.scalar(self._subscription(channel, env))
            if found is not None:
                session.delete(found)
            return found is not None

    @off_loop
    def unsubscribe_all(self) -> int:
        """Every watch of this workspace ends (the app was uninstalled from it)."""
        with self.db.begin() as session:
            found = session.scalars(
                select(Subscription).where(Subscription.workspace == self.workspace)
            ).all()
            for subscription in found:
                session.delete(subscription)
            return len(found)

    @off_loop
    def find(self, channel: str | None = None, env: str | None = None) -> list[SubscriptionRecord]:
        with self.db.session() as session:
            return subscriptions_in(session, self.workspace, channel, env)

    @off_loop
    def pause_channel(self, channel: str, reason: str) -> list[SubscriptionRecord]:
        """Pause every active subscription of a channel Slack says we cannot post to."""
        with self.db.begin() as session:
            paused = list(
                session.scalars(
                    select(Subscription).where(
                        Subscription.workspace == self.workspace,
                        Subscription.channel_id == channel,
                        Subscription.paused_reason.is_(None),
                    )
                )
            )
            for subscription in paused:
                subscription.paused_reason = reason
            return [record(SubscriptionRecord, row) for row in paused]

    @off_loop
    def set_mute(self, channel: str, env: str, until: datetime | None) -> bool:
        with self.db.begin() as session:
            found = session.scalar(self._subscription(channel, env))
            if found is not None:
                found.muted_until = until
            return found is not None

    def _subscription(self, channel: str, env: str) -> Any:
        return select(Subscription).where(
            Subscription.workspace == self.workspace,
            Subscription.channel_id == channel,
            Subscription.env == env,
        )

"""Who hears of an environment's change: the channels subscribed to it and the incident
threads following it. Read inside whichever session asks, so the outbox can read them in the
same transaction that records the change."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import fields

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.store.models import Incident, Subscription
from bot.store.records import IncidentRecord, SubscriptionRecord, record

# Open threads, and those being opened (so a replayed command sees them too).
STILL_OPEN = ("opening", "open")


def subscriptions_in(
    session: Session, channel: str | None = None, env: str | None = None
) -> list[SubscriptionRecord]:
    query = select(Subscription).order_by(Subscription.env, Subscription.channel_id)
    if channel is not None:
        query = query.where(Subscription.channel_id == channel)
    if env is not None:
        query = query.where(Subscription.env == env)
    return [record(SubscriptionRecord, row) for row in session.scalars(query)]


def subscriptions_of(
    session: Session, envs: Collection[str]
) -> dict[str, list[SubscriptionRecord]]:
    """The subscriptions to each of `envs`, read at once (a batch of changed environments),
    in `subscriptions_in`'s order. Plain rows, not ORM objects: only read, never changed."""
    found: dict[str, list[SubscriptionRecord]] = {env: [] for env in envs}
    query = (
        select(*(getattr(Subscription, name) for name in _SUBSCRIPTION_FIELDS))
        .where(Subscription.env.in_(found))
        .order_by(Subscription.env, Subscription.channel_id)
    )
    for row in session.execute(query):
        found[row.env].append(SubscriptionRecord(*row))
    return found


_SUBSCRIPTION_FIELDS = [f.name for f in fields(SubscriptionRecord)]


def incidents_in(
    session: Session, states: tuple[str, ...], channel: str | None = None
) -> list[IncidentRecord]:
    query = select(Incident).where(Incident.state.in_(states)).order_by(Incident.id)
    if channel is not None:
        query = query.where(Incident.channel_id == channel)
    return [record(IncidentRecord, row) for row in session.scalars(query)]

"""Who hears of an environment's change: the channels subscribed to it and the incident
threads following it. Read inside whichever session asks, so the outbox can read them in the
same transaction that records the change."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import fields
from typing import Any

from sqlalchemy import bindparam, select, union
from sqlalchemy.orm import Session

from bot.store.models import Alert, AlertState, Base, Incident, Subscription
from bot.store.records import IncidentRecord, SubscriptionRecord, record

# Open threads, and those being opened (so a replayed command sees them too).
STILL_OPEN = ("opening", "open")
# Alerts not sent yet, that still may be.
UNSENT = (AlertState.PENDING, AlertState.SENDING, AlertState.WAITING)


def subscriptions_in(
    session: Session, workspace: str, channel: str | None = None, env: str | None = None
) -> list[SubscriptionRecord]:
    query = (
        select(Subscription)
        .where(Subscription.workspace == workspace)
        .order_by(Subscription.env, Subscription.channel_id)
    )
    if channel is not None:
        query = query.where(Subscription.channel_id == channel)
    if env is not None:
        query = query.where(Subscription.env == env)
    return [record(SubscriptionRecord, row) for row in session.scalars(query)]


def who_hears(
    session: Session, workspace: str, envs: Collection[str]
) -> tuple[dict[str, list[SubscriptionRecord]], list[IncidentRecord]]:
    """The workspace's subscriptions to each of `envs` (in `subscriptions_in`'s order) and
    its threads still open, read at once for a batch of changed environments. Through
    prebuilt statements, as plain rows: a batch is often one environment, so this runs often."""
    connection = session.connection()
    found: dict[str, list[SubscriptionRecord]] = {env: [] for env in envs}
    values = {"workspace": workspace, "envs": list(found)}
    for row in connection.execute(_SUBSCRIPTIONS_OF, values):
        found[row.env].append(SubscriptionRecord(*row))
    still_open = [
        IncidentRecord(**row._mapping)
        for row in connection.execute(_STILL_OPEN, {"workspace": workspace})
    ]
    return found, still_open


def _columns(entity: type[Base], kind: type[Any]) -> list[Any]:
    return [getattr(entity, f.name) for f in fields(kind)]


_SUBSCRIPTIONS_OF = (
    select(*_columns(Subscription, SubscriptionRecord))
    .where(
        Subscription.workspace == bindparam("workspace"),
        Subscription.env.in_(bindparam("envs", expanding=True)),
    )
    .order_by(Subscription.env, Subscription.channel_id)
)
_STILL_OPEN = (
    select(*_columns(Incident, IncidentRecord))
    .where(Incident.workspace == bindparam("workspace"), Incident.state.in_(STILL_OPEN))
    .order_by(Incident.id)
)


def incidents_in(
    session: Session, workspace: str, states: tuple[str, ...], channel: str | None = None
) -> list[IncidentRecord]:
    query = (
        select(Incident)
        .where(Incident.workspace == workspace, Incident.state.in_(states))
        .order_by(Incident.id)
    )
    if channel is not None:
        query = query.where(Incident.channel_id == channel)
    return [record(IncidentRecord, row) for row in session.scalars(query)]


def workspaces_at_work(session: Session) -> list[str]:
    """Workspaces watching an environment (an active subscription or an open incident
    thread), with an incident still closing, or with alerts still to send."""
    subscribed = select(Subscription.workspace).where(Subscription.paused_reason.is_(None))
    following = select(Incident.workspace).where(Incident.state != "closed")
    sending = select(Alert.workspace).where(Alert.state.in_(UNSENT))
    return sorted(set(session.scalars(union(subscribed, following, sending))))


def workspaces_watching(session: Session, env: str) -> list[str]:
    """Workspaces watching `env` (an active subscription or an open incident thread on it):
    the ones a push about it concerns."""
    subscribed = select(Subscription.workspace).where(
        Subscription.env == env, Subscription.paused_reason.is_(None)
    )
    found = set(session.scalars(subscribed))
    threads = select(Incident.workspace, Incident.envs).where(Incident.closed_at.is_(None))
    found.update(workspace for workspace, envs in session.execute(threads) if env in envs)
    return sorted(found)

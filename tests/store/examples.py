"""Values the store tests share: a fixed clock, a short lease, and alerts and incidents to
write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.store.models import AlertKind
from bot.store.outbox import AlertsFor, NewAlert
from bot.store.records import NewIncident
from bot.store.store import Store
from tests.db import outbox_rows

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
TTL = timedelta(seconds=60)


def alert(index: int, channel: str = "C1", env: str = "prod", **fields: Any) -> NewAlert:
    values: dict[str, Any] = {
        "kind": AlertKind.CHANGE,
        "text": f"#{index}",
        "blocks": [{"n": index}],
    }
    values.update(fields)
    return NewAlert(channel_id=channel, env=env, snapshot_index=index, **values)


def states(store: Store) -> dict[int, str]:
    return {a.snapshot_index: a.state for a in outbox_rows(store)}


async def leased(store: Store, owner: str, at: datetime) -> list[str]:
    return [state.env for state in await store.environments.lease(owner, at, TTL)]


def new_incident(opened_at: datetime = NOW) -> NewIncident:
    return NewIncident(
        channel_id="C1",
        thread_ts=None,
        envs=["prod"],
        start_indexes={"prod": 3},
        shown_indexes={"prod": 7},
        window_start=opened_at - timedelta(hours=2),
        opened_by="U1",
        opened_at=opened_at,
    )


def made(*alerts: NewAlert) -> AlertsFor:
    """A snapshot that makes these alerts, whoever hears of it."""
    return lambda _subscriptions, _incidents: list(alerts)

"""Subscriptions on SQLite and PostgreSQL: subscribe, pause, resume, mute."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.store.store import Store
from tests.store.examples import NOW, TTL, leased

# The store is awaited: these tests run on an event loop (anyio's plugin, asyncio).
pytestmark = pytest.mark.anyio


async def test_subscribe_is_new_once(store: Store) -> None:
    assert await store.subscriptions.subscribe("C1", "prod", "U1", 5, NOW) is True
    assert await store.subscriptions.subscribe("C1", "prod", "U2", 5, NOW + TTL) is False

    [subscription] = await store.subscriptions.find()
    assert (subscription.channel_id, subscription.env) == ("C1", "prod")
    assert (subscription.created_by, subscription.created_at) == ("U1", NOW)
    assert subscription.since_index == 5
    assert subscription.paused_reason is None


async def test_subscribe_starts_watching_the_env_at_the_baseline(store: Store) -> None:
    await store.subscriptions.subscribe("C1", "prod", "U1", 42, NOW)

    watched = await store.environments.state("prod")
    assert watched is not None
    assert watched.last_seen_index == 42
    assert (watched.failures, watched.outages, watched.outage_open) == (0, 0, False)
    assert watched.lease_owner is None
    assert await leased(store, "probe", NOW) == ["prod"]


async def test_a_later_channel_keeps_the_envs_progress(store: Store) -> None:
    await store.subscriptions.subscribe("C1", "prod", "U1", 10, NOW)
    await store.outbox.advance("prod", 15, None, NOW)

    assert await store.subscriptions.subscribe("C2", "prod", "U2", 20, NOW) is True

    assert (await store.environments.state("prod")).last_seen_index == 15
    assert [s.since_index for s in await store.subscriptions.find(env="prod")] == [10, 20]


async def test_unsubscribe(store: Store) -> None:
    await store.subscriptions.subscribe("C1", "prod", "U1", 1, NOW)
    await store.subscriptions.subscribe("C2", "prod", "U1", 1, NOW)

    assert await store.subscriptions.unsubscribe("C1", "prod") is True
    assert await store.subscriptions.unsubscribe("C1", "prod") is False
    assert [s.channel_id for s in await store.subscriptions.find()] == ["C2"]


async def test_subscriptions_filter_by_channel_and_env(store: Store) -> None:
    for channel, env in [("C2", "prod"), ("C1", "staging"), ("C1", "prod")]:
        await store.subscriptions.subscribe(channel, env, "U1", 1, NOW)

    async def pairs(**filters: str) -> list[tuple[str, str]]:
        return [(s.channel_id, s.env) for s in await store.subscriptions.find(**filters)]

    assert await pairs() == [("C1", "prod"), ("C2", "prod"), ("C1", "staging")]
    assert await pairs(channel="C1") == [("C1", "prod"), ("C1", "staging")]
    assert await pairs(env="prod") == [("C1", "prod"), ("C2", "prod")]
    assert await pairs(channel="C2", env="staging") == []


async def test_pause_channel_pauses_only_its_active_subscriptions(store: Store) -> None:
    await store.subscriptions.subscribe("C1", "prod", "U1", 1, NOW)
    await store.subscriptions.subscribe("C1", "staging", "U1", 1, NOW)
    await store.subscriptions.subscribe("C2", "prod", "U1", 1, NOW)
    await store.subscriptions.pause_channel("C1", "earlier")
    await store.subscriptions.subscribe("C1", "prod", "U1", 1, NOW)  # resumed; staging stays paused

    paused = await store.subscriptions.pause_channel("C1", "channel_not_found")

    assert [(s.channel_id, s.env) for s in paused] == [("C1", "prod")]
    reasons = {(s.channel_id, s.env): s.paused_reason for s in await store.subscriptions.find()}
    assert reasons == {
        ("C1", "prod"): "channel_not_found",
        ("C1", "staging"): "earlier",
        ("C2", "prod"): None,
    }
    assert await store.subscriptions.pause_channel("C1", "again") == []


async def test_watched_envs_leave_out_envs_with_only_paused_subscriptions(store: Store) -> None:
    await store.subscriptions.subscribe("C1", "prod", "U1", 1, NOW)
    await store.subscriptions.subscribe("C1", "staging", "U1", 1, NOW)
    await store.subscriptions.subscribe("C2", "prod", "U1", 1, NOW)

    await store.subscriptions.pause_channel("C1", "channel_not_found")

    assert await leased(store, "probe", NOW) == ["prod"]


async def test_subscribing_again_resumes_a_paused_subscription(store: Store) -> None:
    await store.subscriptions.subscribe("C1", "prod", "U1", 10, NOW)
    await store.subscriptions.pause_channel("C1", "channel_not_found")
    assert await leased(store, "probe", NOW) == []

    assert await store.subscriptions.subscribe("C1", "prod", "U1", 7, NOW) is True

    [subscription] = await store.subscriptions.find()
    assert subscription.paused_reason is None
    assert subscription.since_index == 10  # never moves back
    assert await leased(store, "probe", NOW) == ["prod"]


async def test_set_mute(store: Store) -> None:
    await store.subscriptions.subscribe("C1", "prod", "U1", 1, NOW)
    two_hours_east = timezone(timedelta(hours=2))
    until = datetime(2024, 5, 1, 16, 0, tzinfo=two_hours_east)

    assert await store.subscriptions.set_mute("C1", "prod", until) is True
    [muted] = await store.subscriptions.find()
    assert muted.muted_until == until
    assert muted.muted_until.tzinfo == UTC

    assert await store.subscriptions.set_mute("C1", "prod", None) is True
    assert (await store.subscriptions.find())[0].muted_until is None
    assert await store.subscriptions.set_mute("C9", "prod", until) is False


async def test_watched_can_ask_for_one_environment(store: Store) -> None:
    await store.subscriptions.subscribe("C1", "prod", "U1", 1, NOW)
    await store.subscriptions.subscribe("C1", "staging", "U1", 1, NOW)
    assert await store.environments.watched() == ["prod", "staging"]
    assert await store.environments.watched("prod") == ["prod"]
    assert await store.environments.watched("beta") == []

"""Leases on SQLite and PostgreSQL: environments and named jobs held by one replica at a
time, a heartbeat that keeps them, failures and outages of polled environments."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from bot.store.store import Store
from tests.store.examples import NOW, TTL, alert, leased

# The store is awaited: these tests run on an event loop (anyio's plugin, asyncio).
pytestmark = pytest.mark.anyio


async def test_a_lease_is_exclusive_between_replicas(
    store: Store, open_replica: Callable[[], Store]
) -> None:
    other = open_replica()
    await store.subscriptions.subscribe("C1", "prod", "U1", 1, NOW)

    assert await leased(store, "a", NOW) == ["prod"]
    assert await leased(other, "b", NOW + timedelta(seconds=30)) == []
    assert await leased(store, "a", NOW + timedelta(seconds=30)) == ["prod"]  # renewed
    assert await leased(other, "b", NOW + timedelta(seconds=61)) == []
    assert await leased(other, "b", NOW + timedelta(seconds=91)) == ["prod"]  # expired
    assert await leased(store, "a", NOW + timedelta(seconds=92)) == []

    state = await store.environments.state("prod")
    assert (state.lease_owner, state.lease_until) == ("b", NOW + timedelta(seconds=151))


async def test_replicas_share_environments_least_recently_polled_first(
    store: Store, open_replica: Callable[[], Store]
) -> None:
    other = open_replica()
    for env in ("dev", "prod", "beta"):
        await store.subscriptions.subscribe("C1", env, "U1", 1, NOW)
    await store.environments.release(
        "nobody", ["dev"], NOW
    )  # dev was polled; the others never were

    first = [s.env for s in await store.environments.lease("a", NOW, TTL, limit=2)]
    assert first == ["beta", "prod"]
    assert [s.env for s in await other.environments.lease("b", NOW, TTL, limit=2)] == ["dev"]


async def test_release_frees_only_the_owners_leases_and_notes_the_poll(
    store: Store, open_replica: Callable[[], Store]
) -> None:

    other = open_replica()
    await store.subscriptions.subscribe("C1", "prod", "U1", 1, NOW)
    await leased(store, "a", NOW)

    await other.environments.release("b", [], NOW)
    assert await leased(other, "b", NOW) == []

    await store.environments.release("a", ["prod"], NOW + TTL)
    state = await store.environments.state("prod")
    assert (state.lease_owner, state.last_polled_at) == (None, NOW + TTL)
    assert await leased(other, "b", NOW) == ["prod"]


async def test_a_named_lease_has_one_holder_until_it_expires(
    store: Store, open_replica: Callable[[], Store]
) -> None:
    other = open_replica()
    assert await store.leases.take("sender", "a", NOW, TTL) is True
    assert await other.leases.take("sender", "b", NOW + timedelta(seconds=30), TTL) is False
    assert (
        await store.leases.take("sender", "a", NOW + timedelta(seconds=30), TTL) is True
    )  # renewed
    assert (
        await other.leases.take("sender", "b", NOW + timedelta(seconds=91), TTL) is True
    )  # expired
    assert await store.leases.take("sender", "a", NOW + timedelta(seconds=92), TTL) is False
    await store.leases.release("sender", "a")  # not its holder: no effect
    assert await store.leases.take("sender", "a", NOW + timedelta(seconds=93), TTL) is False
    await other.leases.release("sender", "b")
    assert await store.leases.take("sender", "a", NOW + timedelta(seconds=93), TTL) is True


async def test_no_lease_on_an_unwatched_env(store: Store) -> None:
    await store.subscriptions.subscribe("C1", "prod", "U1", 1, NOW)
    await store.subscriptions.unsubscribe("C1", "prod")
    assert await leased(store, "a", NOW) == []


async def test_a_heartbeat_keeps_what_a_live_process_holds_and_a_dead_one_loses_it(
    store: Store,
) -> None:
    await store.subscriptions.subscribe("C1", "prod", "U1", 5, NOW)
    await store.outbox.add([alert(6)], NOW)
    assert await store.leases.take("sender", "alive", NOW, TTL)
    assert [s.env for s in await store.environments.lease("alive", NOW, TTL)] == ["prod"]
    assert [a.snapshot_index for a in await store.outbox.claim("alive", NOW, TTL)] == [6]

    later = NOW + TTL * 0.9
    await store.leases.renew_all("alive", later, TTL)
    after_ttl = NOW + TTL * 1.5  # past the first expiry, within the renewed one
    assert not await store.leases.take("sender", "other", after_ttl, TTL)
    assert await store.environments.lease("other", after_ttl, TTL) == []
    assert await store.outbox.claim("other", after_ttl, TTL) == []

    dead = later + TTL * 1.1  # no heartbeat since: everything can be taken over
    assert await store.leases.take("sender", "other", dead, TTL)
    assert [s.env for s in await store.environments.lease("other", dead, TTL)] == ["prod"]
    assert [a.snapshot_index for a in await store.outbox.claim("other", dead, TTL)] == [6]


async def test_failures_open_one_outage_until_a_poll_succeeds(store: Store) -> None:
    await store.subscriptions.subscribe("C1", "prod", "U1", 1, NOW)

    assert (await store.environments.record_failure("prod")).failures == 1
    assert (await store.environments.record_failure("prod")).failures == 2
    assert await store.environments.open_outage("prod") == 1
    assert await store.environments.open_outage("prod") is None

    before = await store.environments.mark_polled("prod", NOW)
    assert (before.failures, before.outage_open, before.outages) == (2, True, 1)
    after = await store.environments.state("prod")
    assert (after.failures, after.outage_open, after.last_polled_at) == (0, False, NOW)

    await store.environments.record_failure("prod")
    assert await store.environments.open_outage("prod") == 2


async def test_failures_on_an_unwatched_env(store: Store) -> None:
    assert await store.environments.record_failure("nowhere") is None
    assert await store.environments.open_outage("nowhere") is None
    assert await store.environments.mark_polled("nowhere", NOW) is None

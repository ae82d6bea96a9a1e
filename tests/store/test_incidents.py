"""Incident threads on SQLite and PostgreSQL: the state machine and the replies it queues."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.store.store import Store
from tests.db import outbox_rows
from tests.store.examples import NOW, TTL, alert, new_incident

# The store is awaited: these tests run on an event loop (anyio's plugin, asyncio).
pytestmark = pytest.mark.anyio


async def test_an_incident_goes_opening_open_closing_closed(store: Store) -> None:
    incident = await store.incidents.open(new_incident())
    assert (incident.state, incident.thread_ts) == ("opening", None)
    assert [i.id for i in await store.incidents.still_open("C1")] == [
        incident.id
    ]  # seen by replays
    replies = [alert(5, incident_id=incident.id, thread_ts="9.9")]
    await store.incidents.posted(incident.id, "9.9", replies, NOW)
    assert (await store.incidents.find("C1", "9.9")).state == "open"  # type: ignore[union-attr]
    assert [(a.incident_id, a.thread_ts) for a in outbox_rows(store)] == [(incident.id, "9.9")]

    closing = await store.incidents.begin_close(incident.id, "U2", NOW + TTL)
    assert closing is not None and (closing.state, closing.closed_by) == ("closing", "U2")
    assert await store.incidents.begin_close(incident.id, "U3", NOW + TTL) is None  # a double click
    assert await store.incidents.still_open() == []
    assert [i.id for i in await store.incidents.closing()] == [incident.id]
    await store.incidents.closed(incident.id)
    assert await store.incidents.closing() == []
    assert (await store.incidents.find("C1", "9.9")).state == "closed"  # type: ignore[union-attr]


async def test_a_second_thread_on_an_environment_gets_its_own_replies(store: Store) -> None:
    """The outbox's once-only key names the incident: an older thread's reply of the same
    change does not swallow the new thread's."""
    first = await store.incidents.open(new_incident())
    await store.incidents.posted(first.id, "1.1", [alert(5, incident_id=first.id)], NOW)
    second = await store.incidents.open(new_incident())
    await store.incidents.posted(second.id, "2.2", [alert(5, incident_id=second.id)], NOW)
    assert len(outbox_rows(store)) == 2


async def test_rows_left_by_a_crash_before_the_parent_was_posted_are_forgotten(
    store: Store,
) -> None:
    crashed = await store.incidents.open(new_incident(NOW - timedelta(minutes=10)))
    opening = await store.incidents.open(new_incident(NOW))
    assert await store.incidents.forget_unposted(NOW - timedelta(minutes=5)) == 1
    assert [i.id for i in await store.incidents.still_open()] == [opening.id]
    assert crashed.id != opening.id

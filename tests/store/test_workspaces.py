"""Every workspace's state apart in one database: a scoped store reads and writes only its own
workspace's rows, and what single-workspace mode wrote before 0012 is workspace ""'s."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest
from sqlalchemy import text

from bot.domain.suspects import Mark
from bot.store.database import make_engine
from bot.store.migrate import migrate
from bot.store.models import AlertKind
from bot.store.store import Store
from tests.db import outbox_rows
from tests.store.examples import NOW, TTL, alert, leased, made, new_incident

pytestmark = pytest.mark.anyio


def naive(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None)  # as the database keeps it


A, B = "T0AAAAAAA", "T0BBBBBBB"


async def write_everything(store: Store, channel: str) -> int:
    """A subscription (muted), a watched environment, alerts, an open incident with a mark,
    and a lease: everything a workspace keeps."""
    await store.subscriptions.subscribe(channel, "prod", "U1", 5, NOW)
    await store.subscriptions.set_mute(channel, "prod", NOW + TTL)
    await store.outbox.advance("prod", 6, made(alert(6, channel, held=True)), NOW)
    incident = await store.incidents.open(replace(new_incident(), channel_id=channel))
    await store.incidents.posted(
        incident.id, "1.1", [alert(6, channel, incident_id=incident.id)], NOW
    )
    await store.incidents.mark(incident.id, Mark("prod", "f" * 64, "web", True, "U1", NOW))
    assert await store.leases.take("sender", "owner-" + store.workspace, NOW, TTL)
    return incident.id


async def test_two_workspaces_see_none_of_each_others_rows(store: Store) -> None:
    a, b = store.scoped(A), store.scoped(B)
    incident_of_a = await write_everything(a, "C1")

    assert await b.subscriptions.find() == []
    assert await b.environments.watched() == []
    assert await b.environments.state("prod") is None
    assert await leased(b, "probe", NOW) == []
    assert await b.outbox.claim("probe", NOW, TTL) == []
    assert await b.outbox.backlog() == (0, None)
    assert await b.outbox.release_held("C1", "prod") == []
    assert await b.incidents.still_open() == []
    assert await b.incidents.find("C1", "1.1") is None
    assert await b.incidents.marks(incident_of_a) == []
    assert await b.incidents.begin_close(incident_of_a, "U2", NOW) is None
    assert not await b.subscriptions.set_mute("C1", "prod", None)  # A's mute stays
    assert not await b.subscriptions.unsubscribe("C1", "prod")
    assert await b.subscriptions.pause_channel("C1", "gone") == []
    assert await b.outbox.drop_pending("C1") == 0
    assert await b.leases.take("sender", "owner-" + B, NOW, TTL)  # A's sender blocks nobody else

    # The same channel and environment in B (a Slack Connect channel is in both): its own.
    incident_of_b = await write_everything(b, "C1")
    assert incident_of_b != incident_of_a
    for mine, own, other in ((a, incident_of_a, incident_of_b), (b, incident_of_b, incident_of_a)):
        [subscription] = await mine.subscriptions.find()
        assert subscription.muted_until == NOW + TTL
        assert [i.thread_ts for i in await mine.incidents.still_open()] == ["1.1"]
        assert await mine.incidents.marks(other) == []
        assert await mine.outbox.backlog() == (1, NOW)  # the channel's alert is held: muted
        [reply] = await mine.outbox.claim("sender", NOW, TTL)
        assert reply.incident_id == own  # the thread's reply
    assert [(r.workspace, r.channel_id, r.snapshot_index) for r in outbox_rows(store)] == [
        (A, "C1", 6), (A, "C1", 6), (B, "C1", 6), (B, "C1", 6),
    ]  # fmt: skip
    assert await store.subscriptions.find() == []  # nothing of single-workspace mode's
    assert await store.workspaces_at_work() == [A, B]


async def test_a_push_concerns_only_the_workspaces_watching_its_environment(store: Store) -> None:
    a, b, c = store.scoped(A), store.scoped(B), store.scoped("T0CCCCCCC")
    await a.subscriptions.subscribe("C1", "prod", "U1", 5, NOW)
    await b.subscriptions.subscribe("C1", "staging", "U1", 5, NOW)
    await b.incidents.open(new_incident())  # B follows prod in an open incident thread
    await c.subscriptions.subscribe("C1", "prod", "U1", 5, NOW)
    await c.subscriptions.pause_channel("C1", "channel_not_found")  # C no longer watches it

    assert await store.workspaces_watching("prod") == [A, B]
    assert await store.workspaces_watching("staging") == [B]
    assert await store.workspaces_watching("nowhere") == []


async def test_one_workspaces_heartbeat_renews_only_its_own(store: Store) -> None:
    a, b = store.scoped(A), store.scoped(B)
    for scoped in (a, b):
        await scoped.subscriptions.subscribe("C1", "prod", "U1", 5, NOW)
        assert await scoped.leases.take("sender", "same-process", NOW, TTL)
        assert await leased(scoped, "same-process", NOW) == ["prod"]

    later = NOW + TTL / 2
    await a.leases.renew_all("same-process", later, TTL)

    after_expiry = NOW + TTL + TTL / 4  # B's leases ran out; A's were renewed
    assert await leased(b, "other", after_expiry) == ["prod"]
    assert await leased(a, "other", after_expiry) == []
    assert await b.leases.take("sender", "other", after_expiry, TTL)
    assert not await a.leases.take("sender", "other", after_expiry, TTL)


async def test_rows_written_at_0011_are_the_single_workspaces(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate(engine, "0011_suspect_marks")
        with engine.begin() as connection:
            for statement in ROWS_AT_0011:
                connection.execute(text(statement), {"now": naive(NOW), "later": naive(NOW + TTL)})
        migrate(engine)

        single = Store(engine)
        [subscription] = await single.subscriptions.find()
        assert (subscription.channel_id, subscription.env) == ("C1", "prod")
        assert subscription.muted_until == NOW + TTL
        state = await single.environments.state("prod")
        assert state is not None and state.last_seen_index == 7
        [incident] = await single.incidents.still_open()
        assert (incident.channel_id, incident.thread_ts, incident.envs) == ("C1", "1.1", ["prod"])
        assert [m.name for m in await single.incidents.marks(incident.id)] == ["web"]
        assert not await single.leases.take("sender", "another", NOW, TTL)  # still held
        assert not await single.events.take("Ev1", NOW)  # handled before: still is
        assert await single.compares.get("https://github.com/acme/web", "a" * 40, "b" * 40)
        [waiting] = await single.outbox.claim("sender", NOW, TTL)
        assert (waiting.kind, waiting.snapshot_index) == (AlertKind.CHANGE, 7)
        # The once-only key, remade with the workspace, still holds for the old rows.
        assert await single.outbox.add([alert(7)], NOW) == 0

        other = single.scoped(A)
        assert await other.subscriptions.find() == []
        assert await other.incidents.still_open() == []
        assert await other.outbox.add([alert(7)], NOW) == 1  # another workspace's, its own
        assert await single.workspaces_at_work() == ["", A]
    finally:
        engine.dispose()


# One row in every table, as single-workspace mode wrote them at revision 0011.
ROWS_AT_0011 = (
    "INSERT INTO subscriptions (channel_id, env, created_by, created_at, since_index,"
    " risky_only, muted_until) VALUES ('C1', 'prod', 'U1', :now, 5, false, :later)",
    "INSERT INTO watched_envs (env, last_seen_index, failures, outages, outage_open)"
    " VALUES ('prod', 7, 0, 0, false)",
    "INSERT INTO incidents (id, channel_id, thread_ts, envs, start_indexes, shown_indexes,"
    " window_start, opened_by, opened_at, state) VALUES (1, 'C1', '1.1', '[\"prod\"]',"
    " '{\"prod\": 3}', '{\"prod\": 7}', :now, 'U1', :now, 'open')",
    "INSERT INTO suspect_marks (incident_id, env, fingerprint, name, cause, marked_by,"
    " marked_at) VALUES (1, 'prod', 'ff', 'web', true, 'U1', :now)",
    "INSERT INTO alerts (id, channel_id, env, kind, snapshot_index, text, blocks, created_at,"
    " state, held, attempts) VALUES (1, 'C1', 'prod', 'change', 7, '#7', '[]', :now,"
    " 'pending', false, 0)",
    "INSERT INTO alert_troubles (alert_id, fingerprint) VALUES (1, 'ff')",
    "INSERT INTO leases (name, owner, until) VALUES ('sender', 'old', :later)",
    "INSERT INTO handled_events (event_id, handled_at) VALUES ('Ev1', :now)",
    "INSERT INTO git_compares (repository, base, head, answer, fetched_at) VALUES"
    " ('https://github.com/acme/web', '" + "a" * 40 + "', '" + "b" * 40 + "',"
    " '{\"commits\": []}', :now)",
)

"""The store on real databases: every test runs on a SQLite file and on PostgreSQL."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from setuptools import find_packages
from sqlalchemy import inspect, text

from bot.store import StoreError, database
from bot.store.database import engine_url, make_engine
from bot.store.migrate import migrate, open_store
from bot.store.models import Base
from bot.store.outbox import NewAlert
from bot.store.records import NewIncident
from bot.store.store import SCHEMA_REVISION, SchemaNotReady, Store
from tests import db
from tests.db import outbox_rows

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
TTL = timedelta(seconds=60)
ROOT = Path(__file__).parents[2]


def alert(index: int, channel: str = "C1", env: str = "prod", **fields: Any) -> NewAlert:
    values: dict[str, Any] = {"kind": "change", "text": f"#{index}", "blocks": [{"n": index}]}
    values.update(fields)
    return NewAlert(channel_id=channel, env=env, snapshot_index=index, **values)


def states(store: Store) -> dict[int, str]:
    return {a.snapshot_index: a.state for a in outbox_rows(store)}


# ---- migrations ---------------------------------------------------------------------------


def test_migrated_schema_matches_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "compare_server_default": True}
            )
            assert compare_metadata(context, Base.metadata) == []
            schema = inspect(connection)
            assert set(schema.get_table_names()) == {
                "alembic_version",
                "subscriptions",
                "watched_envs",
                "alerts",
                "incidents",
                "leases",
                "handled_events",
                "git_compares",
            }
            unique = {
                table: {c["name"] for c in schema.get_unique_constraints(table)}
                for table in ("subscriptions", "watched_envs", "alerts", "incidents")
            }
            assert unique == {
                "subscriptions": {"uq_subscription"},
                "watched_envs": set(),
                "alerts": {"uq_alert_once"},
                "incidents": {"uq_incident_thread"},
            }
    finally:
        engine.dispose()


def test_an_event_is_taken_once_and_a_failed_one_can_be_taken_again(store: Store) -> None:
    assert store.events.take("Ev1", NOW) is True
    assert store.events.take("Ev1", NOW) is False  # Slack's retry of an answered event
    store.events.release("Ev1")  # answering it failed
    assert store.events.take("Ev1", NOW + timedelta(minutes=1)) is True
    # Old ids are forgotten, so the table stays small.
    assert store.events.take("Ev2", NOW) is True
    assert store.events.take("Ev3", NOW + timedelta(hours=3)) is True
    assert store.events.take("Ev2", NOW + timedelta(hours=3)) is True


def test_migrating_again_keeps_data_and_version(store: Store) -> None:
    store.subscriptions.subscribe("C1", "prod", "U1", 5, NOW)

    migrate(store.engine)
    migrate(store.engine)

    assert [s.env for s in store.subscriptions.find()] == ["prod"]
    with store.engine.connect() as connection:
        versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    assert versions == [(SCHEMA_REVISION,)]  # what /readyz wants


def test_incidents_from_before_the_state_machine_keep_their_state(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate(engine, "0003_handled_events")
        columns = "channel_id, thread_ts, envs, start_indexes, shown_indexes, window_start, "
        with engine.begin() as connection:
            for ts, closed in (("1.1", None), ("2.2", "2024-05-01 13:00:00")):
                connection.execute(
                    text(
                        f"INSERT INTO incidents ({columns} opened_by, opened_at, closed_at) "
                        "VALUES ('C1', :ts, '[\"prod\"]', '{}', '{}', '2024-05-01 11:00:00', "
                        "'U1', '2024-05-01 12:00:00', :closed)"
                    ),
                    {"ts": ts, "closed": closed},
                )
        migrate(engine)
        store = Store(engine)
        assert [i.thread_ts for i in store.incidents.still_open()] == ["1.1"]
        assert store.incidents.find("C1", "2.2").state == "closed"  # type: ignore[union-attr]
    finally:
        engine.dispose()


def test_replicas_starting_together_all_migrate(database_url: str) -> None:
    if database_url.startswith("sqlite"):
        # make_engine switches a new file to WAL on connect, which itself races (reported
        # separately); do it once here so only the migrations race.
        engine = make_engine(database_url)
        engine.connect().close()
        engine.dispose()
    # Separate processes, as replicas are: Alembic's context is global to one process.
    spawn = multiprocessing.get_context("spawn")
    start, results = spawn.Barrier(3), spawn.Queue()
    children = [
        spawn.Process(target=db.migrate_in_child, args=(database_url, start, results))
        for _ in range(3)
    ]
    for child in children:
        child.start()
    outcomes = [results.get(timeout=120) for _ in children]
    for child in children:
        child.join(timeout=60)

    assert outcomes == ["ok", "ok", "ok"]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgres_url_with_search_path_keeps_tables_in_that_schema(database_url: str) -> None:
    schema = database_url.split("csearch_path%3D")[1].split("&")[0]
    # The Heroku spelling must keep its query string when engine_url swaps in the driver.
    heroku = database_url.replace("postgresql+psycopg://", "postgres://")
    assert engine_url(heroku) == database_url

    opened = open_store(heroku)
    try:
        with opened.engine.connect() as connection:
            tables = connection.execute(
                text(
                    "SELECT table_schema FROM information_schema.tables WHERE table_name = 'alerts'"
                )
            ).scalars()
            assert list(tables) == [schema]
    finally:
        opened.engine.dispose()


def test_wheel_packages_include_the_migrations() -> None:
    # Without __init__.py these directories would be left out of a non-editable install.
    packages = find_packages(str(ROOT), include=["bot*"])
    assert {"bot.store.migrations", "bot.store.migrations.versions"} <= set(packages)


# ---- subscriptions ------------------------------------------------------------------------


def test_subscribe_is_new_once(store: Store) -> None:
    assert store.subscriptions.subscribe("C1", "prod", "U1", 5, NOW) is True
    assert store.subscriptions.subscribe("C1", "prod", "U2", 5, NOW + TTL) is False

    [subscription] = store.subscriptions.find()
    assert (subscription.channel_id, subscription.env) == ("C1", "prod")
    assert (subscription.created_by, subscription.created_at) == ("U1", NOW)
    assert subscription.since_index == 5
    assert subscription.paused_reason is None


def test_subscribe_starts_watching_the_env_at_the_baseline(store: Store) -> None:
    store.subscriptions.subscribe("C1", "prod", "U1", 42, NOW)

    watched = store.environments.state("prod")
    assert watched is not None
    assert watched.last_seen_index == 42
    assert (watched.failures, watched.outages, watched.outage_open) == (0, 0, False)
    assert watched.lease_owner is None
    assert leased(store, "probe", NOW) == ["prod"]


def test_a_later_channel_keeps_the_envs_progress(store: Store) -> None:
    store.subscriptions.subscribe("C1", "prod", "U1", 10, NOW)
    store.outbox.advance("prod", 15, [], NOW)

    assert store.subscriptions.subscribe("C2", "prod", "U2", 20, NOW) is True

    assert store.environments.state("prod").last_seen_index == 15
    assert [s.since_index for s in store.subscriptions.find(env="prod")] == [10, 20]


def test_unsubscribe(store: Store) -> None:
    store.subscriptions.subscribe("C1", "prod", "U1", 1, NOW)
    store.subscriptions.subscribe("C2", "prod", "U1", 1, NOW)

    assert store.subscriptions.unsubscribe("C1", "prod") is True
    assert store.subscriptions.unsubscribe("C1", "prod") is False
    assert [s.channel_id for s in store.subscriptions.find()] == ["C2"]


def test_subscriptions_filter_by_channel_and_env(store: Store) -> None:
    for channel, env in [("C2", "prod"), ("C1", "staging"), ("C1", "prod")]:
        store.subscriptions.subscribe(channel, env, "U1", 1, NOW)

    def pairs(**filters: str) -> list[tuple[str, str]]:
        return [(s.channel_id, s.env) for s in store.subscriptions.find(**filters)]

    assert pairs() == [("C1", "prod"), ("C2", "prod"), ("C1", "staging")]
    assert pairs(channel="C1") == [("C1", "prod"), ("C1", "staging")]
    assert pairs(env="prod") == [("C1", "prod"), ("C2", "prod")]
    assert pairs(channel="C2", env="staging") == []


def test_pause_channel_pauses_only_its_active_subscriptions(store: Store) -> None:
    store.subscriptions.subscribe("C1", "prod", "U1", 1, NOW)
    store.subscriptions.subscribe("C1", "staging", "U1", 1, NOW)
    store.subscriptions.subscribe("C2", "prod", "U1", 1, NOW)
    store.subscriptions.pause_channel("C1", "earlier")
    store.subscriptions.subscribe("C1", "prod", "U1", 1, NOW)  # resumed; staging stays paused

    paused = store.subscriptions.pause_channel("C1", "channel_not_found")

    assert [(s.channel_id, s.env) for s in paused] == [("C1", "prod")]
    reasons = {(s.channel_id, s.env): s.paused_reason for s in store.subscriptions.find()}
    assert reasons == {
        ("C1", "prod"): "channel_not_found",
        ("C1", "staging"): "earlier",
        ("C2", "prod"): None,
    }
    assert store.subscriptions.pause_channel("C1", "again") == []


def test_watched_envs_leave_out_envs_with_only_paused_subscriptions(store: Store) -> None:
    store.subscriptions.subscribe("C1", "prod", "U1", 1, NOW)
    store.subscriptions.subscribe("C1", "staging", "U1", 1, NOW)
    store.subscriptions.subscribe("C2", "prod", "U1", 1, NOW)

    store.subscriptions.pause_channel("C1", "channel_not_found")

    assert leased(store, "probe", NOW) == ["prod"]


def test_subscribing_again_resumes_a_paused_subscription(store: Store) -> None:
    store.subscriptions.subscribe("C1", "prod", "U1", 10, NOW)
    store.subscriptions.pause_channel("C1", "channel_not_found")
    assert leased(store, "probe", NOW) == []

    assert store.subscriptions.subscribe("C1", "prod", "U1", 7, NOW) is True

    [subscription] = store.subscriptions.find()
    assert subscription.paused_reason is None
    assert subscription.since_index == 10  # never moves back
    assert leased(store, "probe", NOW) == ["prod"]


def test_set_mute(store: Store) -> None:
    store.subscriptions.subscribe("C1", "prod", "U1", 1, NOW)
    two_hours_east = timezone(timedelta(hours=2))
    until = datetime(2024, 5, 1, 16, 0, tzinfo=two_hours_east)

    assert store.subscriptions.set_mute("C1", "prod", until) is True
    [muted] = store.subscriptions.find()
    assert muted.muted_until == until
    assert muted.muted_until.tzinfo == UTC

    assert store.subscriptions.set_mute("C1", "prod", None) is True
    assert store.subscriptions.find()[0].muted_until is None
    assert store.subscriptions.set_mute("C9", "prod", until) is False


# ---- leases -------------------------------------------------------------------------------


def leased(store: Store, owner: str, at: datetime) -> list[str]:
    return [state.env for state in store.environments.lease(owner, at, TTL)]


def test_a_lease_is_exclusive_between_replicas(
    store: Store, open_replica: Callable[[], Store]
) -> None:
    other = open_replica()
    store.subscriptions.subscribe("C1", "prod", "U1", 1, NOW)

    assert leased(store, "a", NOW) == ["prod"]
    assert leased(other, "b", NOW + timedelta(seconds=30)) == []
    assert leased(store, "a", NOW + timedelta(seconds=30)) == ["prod"]  # renewed
    assert leased(other, "b", NOW + timedelta(seconds=61)) == []
    assert leased(other, "b", NOW + timedelta(seconds=91)) == ["prod"]  # expired
    assert leased(store, "a", NOW + timedelta(seconds=92)) == []

    state = store.environments.state("prod")
    assert (state.lease_owner, state.lease_until) == ("b", NOW + timedelta(seconds=151))


def test_replicas_share_environments_least_recently_polled_first(
    store: Store, open_replica: Callable[[], Store]
) -> None:
    other = open_replica()
    for env in ("dev", "prod", "beta"):
        store.subscriptions.subscribe("C1", env, "U1", 1, NOW)
    store.environments.release("nobody", ["dev"], NOW)  # dev was polled; the others never were

    first = [s.env for s in store.environments.lease("a", NOW, TTL, limit=2)]
    assert first == ["beta", "prod"]
    assert [s.env for s in other.environments.lease("b", NOW, TTL, limit=2)] == ["dev"]


def test_release_frees_only_the_owners_leases_and_notes_the_poll(
    store: Store, open_replica: Callable[[], Store]
) -> None:
    other = open_replica()
    store.subscriptions.subscribe("C1", "prod", "U1", 1, NOW)
    leased(store, "a", NOW)

    other.environments.release("b", [], NOW)
    assert leased(other, "b", NOW) == []

    store.environments.release("a", ["prod"], NOW + TTL)
    state = store.environments.state("prod")
    assert (state.lease_owner, state.last_polled_at) == (None, NOW + TTL)
    assert leased(other, "b", NOW) == ["prod"]


def test_a_named_lease_has_one_holder_until_it_expires(
    store: Store, open_replica: Callable[[], Store]
) -> None:
    other = open_replica()
    assert store.leases.take("sender", "a", NOW, TTL) is True
    assert other.leases.take("sender", "b", NOW + timedelta(seconds=30), TTL) is False
    assert store.leases.take("sender", "a", NOW + timedelta(seconds=30), TTL) is True  # renewed
    assert other.leases.take("sender", "b", NOW + timedelta(seconds=91), TTL) is True  # expired
    assert store.leases.take("sender", "a", NOW + timedelta(seconds=92), TTL) is False
    store.leases.release("sender", "a")  # not its holder: no effect
    assert store.leases.take("sender", "a", NOW + timedelta(seconds=93), TTL) is False
    other.leases.release("sender", "b")
    assert store.leases.take("sender", "a", NOW + timedelta(seconds=93), TTL) is True


def test_no_lease_on_an_unwatched_env(store: Store) -> None:
    store.subscriptions.subscribe("C1", "prod", "U1", 1, NOW)
    store.subscriptions.unsubscribe("C1", "prod")
    assert leased(store, "a", NOW) == []


# ---- advance ------------------------------------------------------------------------------


def test_advance_records_alerts_and_moves_the_mark(store: Store) -> None:
    store.subscriptions.subscribe("C1", "prod", "U1", 10, NOW)

    inserted = store.outbox.advance("prod", 12, [alert(11), alert(12, held=True)], NOW + TTL)

    assert inserted == 2
    recorded = outbox_rows(store)
    assert [(a.snapshot_index, a.held, a.state) for a in recorded] == [
        (11, False, "pending"),
        (12, True, "pending"),
    ]
    assert recorded[0].blocks == [{"n": 11}]
    assert recorded[0].created_at == NOW + TTL
    state = store.environments.state("prod")
    assert (state.last_seen_index, state.last_polled_at) == (12, NOW + TTL)


def test_advance_skips_an_alert_already_recorded(store: Store) -> None:
    store.subscriptions.subscribe("C1", "prod", "U1", 10, NOW)
    store.outbox.add([alert(11, text="first")], NOW)

    inserted = store.outbox.advance("prod", 12, [alert(11, text="second"), alert(12)], NOW)

    assert inserted == 1
    assert [(a.snapshot_index, a.text) for a in outbox_rows(store)] == [(11, "first"), (12, "#12")]
    assert store.environments.state("prod").last_seen_index == 12


def test_advance_never_goes_backwards(store: Store) -> None:
    store.subscriptions.subscribe("C1", "prod", "U1", 10, NOW)

    assert store.outbox.advance("prod", 10, [alert(10)], NOW) == 0
    assert store.outbox.advance("prod", 9, [alert(9)], NOW) == 0

    assert outbox_rows(store) == []
    state = store.environments.state("prod")
    assert (state.last_seen_index, state.last_polled_at) == (10, None)
    assert store.outbox.advance("nowhere", 1, [alert(1, env="nowhere")], NOW) == 0


def test_advance_is_all_or_nothing(store: Store) -> None:
    store.subscriptions.subscribe("C1", "prod", "U1", 10, NOW)
    unstorable = alert(12, blocks=[{"n": object()}])  # fails mid-way, like a lost connection

    with pytest.raises(Exception, match="JSON serializable"):
        store.outbox.advance("prod", 12, [alert(11), unstorable], NOW)

    assert store.environments.state("prod").last_seen_index == 10
    assert outbox_rows(store) == []


# ---- the outbox ---------------------------------------------------------------------------


def test_claim_takes_the_oldest_sendable_alerts_first(store: Store) -> None:
    store.outbox.add([alert(3), alert(1), alert(2, held=True), alert(4)], NOW)

    first = store.outbox.claim("a", NOW, TTL, limit=2)
    rest = store.outbox.claim("a", NOW, TTL)

    assert [o.snapshot_index for o in first] == [3, 1]
    assert [o.snapshot_index for o in rest] == [4]
    assert first[0].key == "C1/prod/change/3"
    assert (first[0].text, first[0].blocks, first[0].created_at) == ("#3", [{"n": 3}], NOW)
    assert (first[0].claimed_at, first[0].uncertain) == (NOW, False)
    assert states(store) == {1: "sending", 2: "pending", 3: "sending", 4: "sending"}


def test_a_claim_is_exclusive_across_replicas(
    store: Store, open_replica: Callable[[], Store]
) -> None:
    """Three replicas claim at once: every alert is claimed by exactly one of them, once."""
    replicas = {"a": store, "b": open_replica(), "c": open_replica()}
    store.outbox.add([alert(number) for number in range(1, 31)], NOW)
    claims: dict[str, list[int]] = {}
    together = threading.Barrier(len(replicas))

    def claim(owner: str) -> None:
        together.wait(timeout=10)
        got = replicas[owner].outbox.claim(owner, NOW, TTL)
        claims[owner] = [item.snapshot_index for item in got]

    threads = [threading.Thread(target=claim, args=(owner,)) for owner in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(n for got in claims.values() for n in got) == list(range(1, 31))
    rows = outbox_rows(store)
    assert {a.attempts for a in rows} == {1}
    assert {a.claimed_by for a in rows} <= set(replicas)


def test_an_expired_claim_is_reclaimed_as_uncertain(
    store: Store, open_replica: Callable[[], Store]
) -> None:
    other = open_replica()
    store.outbox.add([alert(1)], NOW)
    [claimed] = store.outbox.claim("a", NOW, TTL)

    assert other.outbox.claim("b", NOW + timedelta(seconds=59), TTL) == []
    [reclaimed] = other.outbox.claim("b", NOW + timedelta(seconds=61), TTL)

    assert reclaimed.id == claimed.id
    assert reclaimed.uncertain is True
    [row] = outbox_rows(store)
    assert (row.claimed_by, row.attempts) == ("b", 2)
    assert row.claimed_until == NOW + timedelta(seconds=121)


def test_mark_sent_only_by_the_current_claimant(
    store: Store, open_replica: Callable[[], Store]
) -> None:
    other = open_replica()
    store.outbox.add([alert(1)], NOW)
    [mine] = store.outbox.claim("a", NOW, TTL)
    other.outbox.claim("b", NOW + 2 * TTL, TTL)

    store.outbox.mark_sent(mine.id, "a", "111.1", NOW + 2 * TTL)  # too late: "b" owns it now
    assert states(store) == {1: "sending"}

    other.outbox.mark_sent(mine.id, "b", "222.2", NOW + 3 * TTL)
    [sent] = outbox_rows(store)
    assert (sent.state, sent.slack_ts, sent.sent_at) == ("sent", "222.2", NOW + 3 * TTL)
    assert sent.claimed_until is None
    assert store.outbox.claim("a", NOW + timedelta(days=1), TTL) == []


def test_unclaim_puts_the_alert_back(store: Store) -> None:
    store.outbox.add([alert(1)], NOW)
    [claimed] = store.outbox.claim("a", NOW, TTL)

    store.outbox.unclaim(claimed.id, "b")
    assert store.outbox.claim("b", NOW, TTL) == []

    store.outbox.unclaim(claimed.id, "a")
    [row] = outbox_rows(store)
    assert (row.state, row.claimed_by, row.claimed_until) == ("pending", None, None)
    assert claimed.uncertain is False  # never tried before
    [again] = store.outbox.claim("b", NOW, TTL)
    # A failed attempt may have posted part of a long alert: the next one checks first.
    assert (again.id, again.uncertain) == (claimed.id, True)
    assert outbox_rows(store)[0].attempts == 2


def test_claim_leaves_the_channels_told_to_skip_untouched(store: Store) -> None:
    store.outbox.add([alert(1), alert(2, channel="C2"), alert(3)], NOW)

    claimed = store.outbox.claim("a", NOW, TTL, skip={"C1"})

    assert [o.snapshot_index for o in claimed] == [2]
    assert states(store) == {1: "pending", 2: "sending", 3: "pending"}
    assert [row.attempts for row in outbox_rows(store)] == [0, 1, 0]


def test_drop_pending_drops_a_channels_unsent_alerts(store: Store) -> None:
    store.outbox.add([alert(1), alert(2), alert(3), alert(4, held=True)], NOW)
    store.outbox.add([alert(9, channel="C2")], NOW)
    first, second, _ = store.outbox.claim("a", NOW, TTL, limit=3)
    store.outbox.mark_sent(first.id, "a", "1.1", NOW)
    store.outbox.unclaim(second.id, "a")  # 1 sent, 2 pending, 3 sending, 4 held

    assert store.outbox.drop_pending("C1") == 3

    assert states(store) == {1: "sent", 2: "dropped", 3: "dropped", 4: "dropped", 9: "pending"}
    assert [o.channel_id for o in store.outbox.claim("a", NOW + timedelta(days=1), TTL)] == ["C2"]


def test_release_held_hands_back_held_alerts_in_snapshot_order(store: Store) -> None:
    store.outbox.add([alert(7, held=True), alert(5, held=True), alert(6, held=True)], NOW)
    store.outbox.add([alert(8), alert(4, held=True, env="staging")], NOW)

    [unheld] = store.outbox.claim("a", NOW, TTL)
    store.outbox.mark_sent(unheld.id, "a", "8.8", NOW)
    released = store.outbox.release_held("C1", "prod")

    assert [a.snapshot_index for a in released] == [5, 6, 7]
    assert states(store) == {
        4: "pending",
        5: "summarised",
        6: "summarised",
        7: "summarised",
        8: "sent",
    }
    assert store.outbox.release_held("C1", "prod") == []
    assert store.outbox.claim("a", NOW + timedelta(days=1), TTL) == []


# ---- failures and outages -----------------------------------------------------------------


def test_failures_open_one_outage_until_a_poll_succeeds(store: Store) -> None:
    store.subscriptions.subscribe("C1", "prod", "U1", 1, NOW)

    assert store.environments.record_failure("prod").failures == 1
    assert store.environments.record_failure("prod").failures == 2
    assert store.environments.open_outage("prod") == 1
    assert store.environments.open_outage("prod") is None

    before = store.environments.mark_polled("prod", NOW)
    assert (before.failures, before.outage_open, before.outages) == (2, True, 1)
    after = store.environments.state("prod")
    assert (after.failures, after.outage_open, after.last_polled_at) == (0, False, NOW)

    store.environments.record_failure("prod")
    assert store.environments.open_outage("prod") == 2


def test_failures_on_an_unwatched_env(store: Store) -> None:
    assert store.environments.record_failure("nowhere") is None
    assert store.environments.open_outage("nowhere") is None
    assert store.environments.mark_polled("nowhere", NOW) is None


# ---- incidents ----------------------------------------------------------------------------


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


def test_an_incident_goes_opening_open_closing_closed(store: Store) -> None:
    incident = store.incidents.open(new_incident())
    assert (incident.state, incident.thread_ts) == ("opening", None)
    assert [i.id for i in store.incidents.still_open("C1")] == [incident.id]  # seen by replays
    replies = [alert(5, kind=f"thread/{incident.id}", thread_ts="9.9")]
    store.incidents.posted(incident.id, "9.9", replies, NOW)
    assert store.incidents.find("C1", "9.9").state == "open"  # type: ignore[union-attr]
    assert [(a.kind, a.thread_ts) for a in outbox_rows(store)] == [(f"thread/{incident.id}", "9.9")]

    closing = store.incidents.begin_close(incident.id, "U2", NOW + TTL)
    assert closing is not None and (closing.state, closing.closed_by) == ("closing", "U2")
    assert store.incidents.begin_close(incident.id, "U3", NOW + TTL) is None  # a double click
    assert store.incidents.still_open() == []
    assert [i.id for i in store.incidents.closing()] == [incident.id]
    store.incidents.closed(incident.id)
    assert store.incidents.closing() == []
    assert store.incidents.find("C1", "9.9").state == "closed"  # type: ignore[union-attr]


def test_a_second_thread_on_an_environment_gets_its_own_replies(store: Store) -> None:
    """The outbox's once-only key names the incident: an older thread's reply of the same
    change does not swallow the new thread's."""
    first = store.incidents.open(new_incident())
    store.incidents.posted(first.id, "1.1", [alert(5, kind=f"thread/{first.id}")], NOW)
    second = store.incidents.open(new_incident())
    store.incidents.posted(second.id, "2.2", [alert(5, kind=f"thread/{second.id}")], NOW)
    assert len(outbox_rows(store)) == 2


def test_rows_left_by_a_crash_before_the_parent_was_posted_are_forgotten(store: Store) -> None:
    crashed = store.incidents.open(new_incident(NOW - timedelta(minutes=10)))
    opening = store.incidents.open(new_incident(NOW))
    assert store.incidents.forget_unposted(NOW - timedelta(minutes=5)) == 1
    assert [i.id for i in store.incidents.still_open()] == [opening.id]
    assert crashed.id != opening.id


def test_a_heartbeat_keeps_what_a_live_process_holds_and_a_dead_one_loses_it(
    store: Store,
) -> None:
    store.subscriptions.subscribe("C1", "prod", "U1", 5, NOW)
    store.outbox.add([alert(6)], NOW)
    assert store.leases.take("sender", "alive", NOW, TTL)
    assert [s.env for s in store.environments.lease("alive", NOW, TTL)] == ["prod"]
    assert [a.snapshot_index for a in store.outbox.claim("alive", NOW, TTL)] == [6]

    later = NOW + TTL * 0.9
    store.leases.renew_all("alive", later, TTL)
    after_ttl = NOW + TTL * 1.5  # past the first expiry, within the renewed one
    assert not store.leases.take("sender", "other", after_ttl, TTL)
    assert store.environments.lease("other", after_ttl, TTL) == []
    assert store.outbox.claim("other", after_ttl, TTL) == []

    dead = later + TTL * 1.1  # no heartbeat since: everything can be taken over
    assert store.leases.take("sender", "other", dead, TTL)
    assert [s.env for s in store.environments.lease("other", dead, TTL)] == ["prod"]
    assert [a.snapshot_index for a in store.outbox.claim("other", dead, TTL)] == [6]


def test_readiness_wants_the_newest_schema(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate(engine, "0005_git_compares")  # another replica is still migrating, say
        with pytest.raises(SchemaNotReady):
            Store(engine).ping()
        migrate(engine)
        Store(engine).ping()
    finally:
        engine.dispose()


def test_watched_can_ask_for_one_environment(store: Store) -> None:
    store.subscriptions.subscribe("C1", "prod", "U1", 1, NOW)
    store.subscriptions.subscribe("C1", "staging", "U1", 1, NOW)
    assert store.environments.watched() == ["prod", "staging"]
    assert store.environments.watched("prod") == ["prod"]
    assert store.environments.watched("beta") == []


def test_sqlite_reads_do_not_wait_for_a_writer(tmp_path: Path) -> None:
    """Reads begin deferred (WAL gives them a snapshot); only writes take the write lock."""
    path = tmp_path / "reads.db"
    store = open_store(f"sqlite:///{path}")
    store.subscriptions.subscribe("C1", "prod", "U1", 1, NOW)
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        assert store.environments.watched() == ["prod"]
        assert time.monotonic() - started < 1.0  # not SQLite's 5 s busy timeout
    finally:
        writer.execute("ROLLBACK")
        writer.close()
        store.engine.dispose()


def test_a_writer_that_gets_no_turn_is_a_store_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """This process's SQLite writers queue on one lock; one kept waiting past WRITER_WAIT fails
    like a busy database (the bot then says the database is not answering)."""
    monkeypatch.setattr(database, "WRITER_WAIT", 0.2)
    store = open_store(f"sqlite:///{tmp_path / 'turns.db'}")
    holding, release = threading.Event(), threading.Event()

    def hold_a_write() -> None:
        with store.subscriptions.db.begin():
            holding.set()
            release.wait(5)

    holder = threading.Thread(target=hold_a_write)
    holder.start()
    try:
        assert holding.wait(5)
        with pytest.raises(StoreError):
            store.subscriptions.subscribe("C1", "prod", "U1", 1, NOW)
    finally:
        release.set()
        holder.join()
    assert store.subscriptions.subscribe("C1", "prod", "U1", 1, NOW)  # its turn came
    store.engine.dispose()

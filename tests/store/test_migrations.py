"""Migrations on real databases: the schema the models describe, every replica migrating at
once, and data written by older revisions read back by this one."""

from __future__ import annotations

import multiprocessing
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from setuptools import find_packages
from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Integer,
    String,
    Text,
    column,
    insert,
    inspect,
    table,
    text,
)

from bot.domain.commits_window import ReplacedBuild, WindowEnds
from bot.store.database import engine_url, make_engine
from bot.store.migrate import migrate, open_store
from bot.store.models import AlertKind, Base
from bot.store.outbox import NewAlert
from bot.store.store import SCHEMA_REVISION, SchemaNotReady, Store
from tests import db
from tests.db import outbox_rows
from tests.store.examples import NOW, TTL

# The store is awaited: these tests run on an event loop (anyio's plugin, asyncio).
pytestmark = pytest.mark.anyio

ROOT = Path(__file__).parents[2]


@pytest.mark.filterwarnings("ignore:.*expression-based index")
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
                "alert_troubles",
                "suspect_marks",
                "slack_installations",
                "slack_bots",
                "slack_oauth_states",
                "kosli_connections",
            }
            unique = {
                table: {c["name"] for c in schema.get_unique_constraints(table)}
                for table in ("subscriptions", "watched_envs", "alerts", "incidents")
            }
            # The outbox's once-only key is an index over an expression (see test_outbox).
            assert unique == {
                "subscriptions": {"uq_subscription"},
                "watched_envs": set(),
                "alerts": set(),
                "incidents": {"uq_incident_thread"},
            }
            foreign = {(k["name"], k["referred_table"]) for k in schema.get_foreign_keys("alerts")}
            assert foreign == {("fk_alert_parent", "alerts"), ("fk_alert_incident", "incidents")}
            checks = {c["name"] for c in schema.get_check_constraints("alerts")}
            assert checks == {"alert_kind", "alert_state"}
    finally:
        engine.dispose()


async def test_migrating_again_keeps_data_and_version(store: Store) -> None:
    await store.subscriptions.subscribe("C1", "prod", "U1", 5, NOW)

    migrate(store.engine)
    migrate(store.engine)

    assert [s.env for s in await store.subscriptions.find()] == ["prod"]
    with store.engine.connect() as connection:
        versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    assert versions == [(SCHEMA_REVISION,)]  # what /readyz wants


async def test_incidents_from_before_the_state_machine_keep_their_state(database_url: str) -> None:
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
        assert [i.thread_ts for i in await store.incidents.still_open()] == ["1.1"]
        assert (await store.incidents.find("C1", "2.2")).state == "closed"  # type: ignore[union-attr]
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
            # Other tests' schemas may hold an 'alerts' too, at the same moment: ask about ours
            # and the default one.
            tables = connection.execute(
                text(
                    "SELECT table_schema FROM information_schema.tables WHERE table_name = 'alerts'"
                    " AND table_schema IN (:schema, 'public')"
                ),
                {"schema": schema},
            ).scalars()
            assert list(tables) == [schema]
    finally:
        opened.engine.dispose()


def test_wheel_packages_include_the_migrations() -> None:
    # Without __init__.py these directories would be left out of a non-editable install.
    packages = find_packages(str(ROOT), include=["bot*"])
    assert {"bot.store.migrations", "bot.store.migrations.versions"} <= set(packages)


async def test_readiness_wants_the_newest_schema(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate(engine, "0005_git_compares")  # another replica is still migrating, say
        with pytest.raises(SchemaNotReady):
            await Store(engine).ping()
        migrate(engine)
        await Store(engine).ping()
    finally:
        engine.dispose()


# The outbox as revision 0006 wrote it: the incident inside the kind, the commits as 'bisect'.
OLD_ALERTS = table(
    "alerts",
    column("id", Integer),
    column("channel_id", String),
    column("env", String),
    column("kind", String),
    column("snapshot_index", Integer),
    column("text", Text),
    column("blocks", JSON),
    column("created_at", DateTime),
    column("state", String),
    column("held", Boolean),
    column("attempts", Integer),
    column("claimed_by", String),
    column("claimed_until", DateTime),
    column("slack_ts", String),
    column("thread_ts", String),
    column("bisect", JSON),
)
OLD_INCIDENTS = table(
    "incidents",
    *(column(name, String) for name in ("channel_id", "thread_ts", "opened_by", "state")),
    *(column(name, JSON) for name in ("envs", "start_indexes", "shown_indexes")),
    *(column(name, DateTime) for name in ("window_start", "opened_at")),
)
REPLACED = (
    ReplacedBuild(
        "creator:31de → creator:b7a5",
        WindowEnds("https://github.com/acme/creator/commit/b7a5", "31de", "b7a5"),
    ),
)
ASK = {"commit_url": "https://github.com/acme/creator/commit/b7a5", "old": "31de", "new": "b7a5"}


def old_alert(kind: str, index: int, state: str, **values: Any) -> dict[str, Any]:
    row = {"channel_id": "C1", "env": "prod", "kind": kind, "snapshot_index": index}
    row |= {"text": f"{kind} #{index}", "blocks": [{"n": index}], "created_at": NOW}
    row |= {"state": state, "held": False, "attempts": 0, "slack_ts": None}
    row |= {"thread_ts": None, "bisect": None, "claimed_by": None, "claimed_until": None}
    return row | values


async def test_the_typed_outbox_reads_back_what_the_string_outbox_wrote(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate(engine, "0006_alert_bisect")
        incidents = [
            {"channel_id": "C1", "thread_ts": ts, "opened_by": "U1", "state": "open",
             "envs": ["prod"], "start_indexes": {"prod": 3}, "shown_indexes": {"prod": 9},
             "window_start": NOW, "opened_at": NOW}
            for ts in ("7.7", "8.8")
        ]  # fmt: skip
        creator = [ASK | {"label": "creator:31de → creator:b7a5"}]
        with engine.begin() as connection:
            seven, eight = (
                connection.execute(insert(OLD_INCIDENTS).returning(text("id")), [incident]).scalar()
                for incident in incidents
            )
            rows = [
                old_alert("change", 11, "sent", slack_ts="11.1"),
                old_alert(f"thread/{seven}", 11, "sent", thread_ts="7.7", slack_ts="7.8"),
                old_alert(f"thread/{eight}", 11, "pending", thread_ts="8.8"),
                old_alert("bisect", 11, "waiting", text="", blocks=[], bisect=creator),
                old_alert(f"bisect/{seven}", 11, "waiting", thread_ts="7.7", bisect=creator),
                old_alert(f"bisect/{eight}", 11, "pending", thread_ts="8.8", bisect=creator),
                old_alert("change", 12, "parked", channel_id="C2", attempts=3),
                old_alert("bisect", 12, "waiting", channel_id="C2", bisect=creator),
                old_alert("change", 13, "summarised", held=True),
                old_alert("mute_summary", 13, "pending"),
                old_alert("outage", 1, "sending", attempts=1),
                old_alert("recovery", 1, "dropped"),
            ]
            connection.execute(insert(OLD_ALERTS), rows)

        migrate(engine)

        store = Store(engine)
        alerts = outbox_rows(store, commits=True)
        index = {alert.id: position for position, alert in enumerate(alerts)}
        assert [
            (a.channel_id, a.kind, a.snapshot_index, a.state, a.incident_id, a.thread_ts)
            + (a.text, index.get(a.parent_id or 0), a.commits)
            for a in alerts
        ] == [
            ("C1", "change", 11, "sent", None, None, "change #11", None, None),
            ("C1", "change", 11, "sent", seven, "7.7", f"thread/{seven} #11", None, None),
            ("C1", "change", 11, "pending", eight, "8.8", f"thread/{eight} #11", None, None),
            ("C1", "commits", 11, "waiting", None, None, "", 0, REPLACED),
            ("C1", "commits", 11, "waiting", seven, "7.7", f"bisect/{seven} #11", 1, REPLACED),
            ("C1", "commits", 11, "pending", eight, "8.8", f"bisect/{eight} #11", 2, REPLACED),
            ("C2", "change", 12, "parked", None, None, "change #12", None, None),
            ("C2", "commits", 12, "waiting", None, None, "bisect #12", 6, REPLACED),
            ("C1", "change", 13, "summarised", None, None, "change #13", None, None),
            ("C1", "mute_summary", 13, "pending", None, None, "mute_summary #13", None, None),
            ("C1", "outage", 1, "sending", None, None, "outage #1", None, None),
            ("C1", "recovery", 1, "dropped", None, None, "recovery #1", None, None),
        ]
        assert all(isinstance(a.kind, AlertKind) for a in alerts)
        assert [a.blocks for a in alerts[:3]] == [[{"n": 11}]] * 3

        # The commits rows find their alerts' fate, the threads their incidents.
        waiting = [
            (w.incident_id, w.parent_ts, w.parent_gone) for w in await store.outbox.waiting()
        ]
        assert waiting == [(None, "11.1", False), (seven, "7.8", False), (None, None, True)]
        assert [i.thread_ts for i in await store.incidents.still_open("C1")] == ["7.7", "8.8"]
        claimed = await store.outbox.claim("a", NOW, TTL)
        assert [c.key for c in claimed] == [
            f"C1/prod/change/{eight}/11",
            f"C1/prod/commits/{eight}/11",
            "C1/prod/mute_summary/13",
        ]
    finally:
        engine.dispose()


async def test_0009_and_0010_keep_the_outbox_and_its_once_only_key(database_url: str) -> None:
    """SQLite rebuilds the table to change the kinds it checks: the once-only key, an
    index over an expression, must survive that, and the new kinds are ones it takes."""
    engine = make_engine(database_url)
    try:
        migrate(engine, "0008_lookup_indexes")
        store = Store(engine)
        told = NewAlert("C1", "prod", AlertKind.CHANGE, 5, "#5", [])
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO alerts (channel_id, env, kind, snapshot_index, text, blocks,"
                    " created_at, state, held, attempts)"
                    " VALUES ('C1', 'prod', 'change', 5, '#5', '[]', :now, 'sent', false, 1)"
                ),
                {"now": NOW},
            )
        migrate(engine)
        assert await store.outbox.add([told], NOW) == 0  # already there: the key holds
        follow_up = replace(told, kind=AlertKind.FOLLOW_UP, text="resolved")
        judged = replace(told, kind=AlertKind.NOW_NON_COMPLIANT, text="judged")
        assert await store.outbox.add([follow_up, judged], NOW) == 2
        assert await store.outbox.add([judged], NOW) == 0
        assert [(a.kind, a.text) for a in outbox_rows(store)] == [
            (AlertKind.CHANGE, "#5"),
            (AlertKind.FOLLOW_UP, "resolved"),
            (AlertKind.NOW_NON_COMPLIANT, "judged"),
        ]
    finally:
        engine.dispose()

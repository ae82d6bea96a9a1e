"""Real databases for tests: a SQLite file, or a throwaway schema on the local PostgreSQL."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from typing import Any

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.store.database import make_engine
from bot.store.migrate import migrate
from bot.store.models import Alert, AlertKind
from bot.store.store import Store

PG_HOST = "127.0.0.1:5432"
PG_SERVER = f"postgresql://postgres@{PG_HOST}/test"


@functools.cache
def postgres_unreachable() -> str | None:
    """Why PostgreSQL cannot be used, or None; asked once per test session."""
    try:
        psycopg.connect(PG_SERVER, connect_timeout=3).close()
    except psycopg.Error as error:
        return f"PostgreSQL not reachable at {PG_HOST}: {error}".strip()
    return None


@contextmanager
def postgres_schema() -> Iterator[str]:
    """Yield a URL whose connections see only a fresh, uniquely named schema; drop it after.

    libpq's `options` sets search_path per connection, so the tables the test creates land in
    the schema. `application_name` lets teardown end connections a failed test left open,
    which would otherwise block DROP SCHEMA.
    """
    reason = postgres_unreachable()
    if reason:
        pytest.skip(reason)
    schema = f"test_{uuid.uuid4().hex}"
    _admin(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield (
            f"postgresql+psycopg://postgres@{PG_HOST}/test"
            f"?options=-csearch_path%3D{schema}&application_name={schema}"
        )
    finally:
        _admin(
            sql.SQL("SELECT pg_terminate_backend(pid) FROM pg_stat_activity")
            + sql.SQL(" WHERE application_name = {}").format(sql.Literal(schema))
        )
        _admin(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def _admin(statement: sql.Composable) -> None:
    with psycopg.connect(PG_SERVER, autocommit=True) as connection:
        connection.execute(statement)


def migrate_in_child(database_url: str, start: Barrier, results: Queue[Any]) -> None:
    """A replica starting up in its own process: migrate once everyone is ready."""
    engine = make_engine(database_url)
    try:
        start.wait(timeout=60)
        migrate(engine)
        results.put("ok")
    except Exception as error:  # reported to the test, which shows it
        results.put(repr(error))
    finally:
        engine.dispose()


def outbox_rows(store: Store, commits: bool = False) -> list[Alert]:
    """Every alert in the outbox, in order: what the tests inspect (the bot never needs it).
    The commits replied under alerts are left out unless `commits`."""
    query = select(Alert).order_by(Alert.id)
    if not commits:
        query = query.where(Alert.kind != AlertKind.COMMITS)
    with store.engine.connect() as connection, Session(bind=connection) as session:
        return list(session.scalars(query))

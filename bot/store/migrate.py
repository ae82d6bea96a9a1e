"""Bring the database schema up to date at start-up; every replica may do so at once."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, make_url, text
from sqlalchemy.exc import SQLAlchemyError

from bot.store.database import engine_url, make_engine
from bot.store.store import Store

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
# Any fixed number: replicas starting together queue on this PostgreSQL advisory lock.
_PG_LOCK_KEY = 0x6B6F736C69


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade to the newest revision (or `revision`); a no-op when already there."""
    config = Config()
    # ConfigParser interpolates '%', so a path containing one must be escaped.
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    with (
        engine.connect() as connection,
        _foreign_keys_unchecked(connection),
        connection.begin(),
    ):
        _serialise(connection)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


@contextlib.contextmanager
def _foreign_keys_unchecked(connection: Connection) -> Iterator[None]:
    """SQLite alters a table by copying it and dropping the old one, which its foreign key
    checks would refuse (Alembic's batch mode advice). Set outside any transaction."""
    if connection.dialect.name != "sqlite":
        yield
        return
    sqlite: Any = connection.connection.driver_connection
    sqlite.execute("PRAGMA foreign_keys = OFF")
    try:
        yield
    finally:
        sqlite.execute("PRAGMA foreign_keys = ON")


class DatabaseUnreachable(Exception):
    """The database did not answer at start-up; the message is one line for the operator."""


def wait_for_database(database_url: str, wait_seconds: float) -> None:
    """Return once the database answers; retry with backoff for up to `wait_seconds`, one log
    line per try, then raise DatabaseUnreachable. Never hangs: connects time out."""
    where = make_url(engine_url(database_url)).render_as_string(hide_password=True)
    engine = make_engine(database_url)
    deadline = time.monotonic() + wait_seconds
    delay = 1.0
    try:
        while True:
            try:
                with engine.connect() as connection:
                    connection.execute(text("SELECT 1"))
                return
            except SQLAlchemyError as error:
                reason = _one_line(error)
                if time.monotonic() + delay > deadline:
                    raise DatabaseUnreachable(
                        f"cannot reach the database at {where}: {reason}"
                    ) from None
                log.warning(
                    "database at %s not answering (%s); retrying in %gs", where, reason, delay
                )
                time.sleep(delay)
                delay = min(delay * 2, 10.0)
    finally:
        engine.dispose()


def _one_line(error: SQLAlchemyError) -> str:
    cause = getattr(error, "orig", None) or error
    lines = str(cause).strip().splitlines()
    return (lines[0] if lines else type(cause).__name__)[:200]


def open_store(database_url: str) -> Store:
    engine = make_engine(database_url)
    migrate(engine)
    return Store(engine)


def _serialise(connection: Connection) -> None:
    """Hold a database-wide lock until commit, so concurrent starts migrate one after another."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    elif connection.dialect.name == "sqlite" and not connection.connection.in_transaction:
        # pysqlite would start its transaction only at the first write, after the version check;
        # IMMEDIATE takes the write lock now, so a second replica waits (busy_timeout) instead.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

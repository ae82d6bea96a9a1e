"""Bring the database schema up to date at start-up; every replica may do so at once."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, text

from bot.store.database import make_engine
from bot.store.store import Store

MIGRATIONS = Path(__file__).parent / "migrations"
# Any fixed number: replicas starting together queue on this PostgreSQL advisory lock.
_PG_LOCK_KEY = 0x6B6F736C69


def migrate(engine: Engine) -> None:
    """Upgrade to the newest revision; a no-op when already there."""
    config = Config()
    # ConfigParser interpolates '%', so a path containing one must be escaped.
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    with engine.begin() as connection:
        _serialise(connection)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


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

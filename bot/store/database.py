"""The database: an engine with real transactions on SQLite and PostgreSQL alike, and the
short sessions every repository uses."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from typing import Any, cast

import orjson
from sqlalchemy import CursorResult, Engine, Result, create_engine, event
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

READS_ONLY = "kosli_bot_reads_only"  # an execution option: this transaction only reads
WRITER_WAIT = 5.0  # seconds, as SQLite's busy timeout: then "the database is not answering"


def engine_url(database_url: str) -> str:
    """Accept the usual spellings (Heroku's postgres://) and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if database_url.startswith(prefix):
            return "postgresql+psycopg://" + database_url[len(prefix) :]
    return database_url


def make_engine(database_url: str) -> Engine:
    url = engine_url(database_url)
    # A database that accepts connections but never answers must not hold a worker forever.
    postgres = url.startswith("postgresql")
    engine = create_engine(
        url,
        # A server may have dropped a pooled connection; a SQLite file cannot.
        pool_pre_ping=postgres,
        pool_timeout=10,
        connect_args={"connect_timeout": 5} if postgres else {},
        # Every alert's blocks go through the JSON columns: orjson writes and reads them in a
        # fraction of json's time. Text is stored, as before, so rows read back the same.
        json_serializer=_json_text,
        json_deserializer=orjson.loads,
    )
    if postgres:
        _statement_timeout(engine)
    if engine.dialect.name == "sqlite":
        _sqlite_transactions(engine)
    return engine


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


def _statement_timeout(engine: Engine) -> None:
    """Set per connection, so a URL's own `options` (e.g. a search_path) stay as given."""

    @event.listens_for(engine, "connect")
    def _connect(connection: Any, _: Any) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = 5000")
        connection.commit()


def _sqlite_transactions(engine: Engine) -> None:
    """Real, serialised transactions on SQLite, as PostgreSQL's row locks give elsewhere.

    pysqlite would start a transaction only at the first write, so a savepoint's release
    committed on its own and read-check-write steps of two processes could interleave.
    """

    @event.listens_for(engine, "connect")
    def _connect(connection: Any, _: Any) -> None:
        connection.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = connection.cursor()
        # Several writers (two schedulers, the web process) wait for each other instead of
        # failing, but a file locked for longer is reported as "not answering" within seconds.
        cursor.execute("PRAGMA busy_timeout = 5000")
        # Another process may be switching a new file to WAL right now; the mode persists.
        with contextlib.suppress(sqlite3.OperationalError):
            cursor.execute("PRAGMA journal_mode = WAL")
        # WAL with NORMAL survives a crashed process; only an OS crash may lose the last commit.
        cursor.execute("PRAGMA synchronous = NORMAL")
        # SQLite checks foreign keys only when asked, connection by connection.
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        # Writes (and migrations) take the write lock at once; reads (WAL) read a snapshot
        # and wait for nobody.
        reads = connection.get_execution_options().get(READS_ONLY, False)
        connection.exec_driver_sql("BEGIN" if reads else "BEGIN IMMEDIATE")


class Database:
    """Each repository call is its own short transaction (`begin`) or read (`session`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._reads = sessionmaker(
            engine.execution_options(**{READS_ONLY: True}), expire_on_commit=False
        )
        # SQLite has one writer at a time. This process's writers queue here, each woken the
        # moment the one before is done, rather than in SQLite's busy handler, which sleeps up
        # to 100 ms between looks (other processes still meet that).
        self._writing = threading.RLock() if engine.dialect.name == "sqlite" else None

    @contextlib.contextmanager
    def begin(self) -> Iterator[Session]:
        """A transaction that writes (committed at the end)."""
        with self._turn_to_write(), self._sessions.begin() as session:
            yield session

    def session(self) -> Session:
        """A read."""
        return self._reads()

    @contextlib.contextmanager
    def _turn_to_write(self) -> Iterator[None]:
        if self._writing is None:
            yield
            return
        if not self._writing.acquire(timeout=WRITER_WAIT):
            raise PoolTimeout(f"no turn to write within {WRITER_WAIT:g} s")
        try:
            yield
        finally:
            self._writing.release()


def rows_affected(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE touched: its result is a CursorResult, which
    Session.execute's declared type does not say."""
    return cast(CursorResult[Any], result).rowcount

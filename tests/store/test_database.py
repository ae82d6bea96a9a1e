"""The database underneath the repositories: SQLite's reads and writers, and the Slack
events taken once."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from bot.store import StoreError, database
from bot.store.migrate import open_store
from bot.store.store import Store
from tests.store.examples import NOW

# The store is awaited: these tests run on an event loop (anyio's plugin, asyncio).
pytestmark = pytest.mark.anyio


async def test_an_event_is_taken_once_and_a_failed_one_can_be_taken_again(store: Store) -> None:
    assert await store.events.take("Ev1", NOW) is True
    assert await store.events.take("Ev1", NOW) is False  # Slack's retry of an answered event
    await store.events.release("Ev1")  # answering it failed
    assert await store.events.take("Ev1", NOW + timedelta(minutes=1)) is True
    # Old ids are forgotten, so the table stays small.
    assert await store.events.take("Ev2", NOW) is True
    assert await store.events.take("Ev3", NOW + timedelta(hours=3)) is True
    assert await store.events.take("Ev2", NOW + timedelta(hours=3)) is True


async def test_sqlite_reads_do_not_wait_for_a_writer(tmp_path: Path) -> None:
    """Reads begin deferred (WAL gives them a snapshot); only writes take the write lock."""
    path = tmp_path / "reads.db"
    store = open_store(f"sqlite:///{path}")
    await store.subscriptions.subscribe("C1", "prod", "U1", 1, NOW)
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        assert await store.environments.watched() == ["prod"]
        assert time.monotonic() - started < 1.0  # not SQLite's 5 s busy timeout
    finally:
        writer.execute("ROLLBACK")
        writer.close()
        store.engine.dispose()


async def test_a_writer_that_gets_no_turn_is_a_store_error(
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
            await store.subscriptions.subscribe("C1", "prod", "U1", 1, NOW)
    finally:
        release.set()
        holder.join()
    assert await store.subscriptions.subscribe("C1", "prod", "U1", 1, NOW)  # its turn came
    store.engine.dispose()

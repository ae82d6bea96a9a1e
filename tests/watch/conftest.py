"""The sandbox Kosli on a clock the test moves, and a SQLite file, for the watcher's tests."""

from __future__ import annotations

import pytest

from bot.sandbox import KosliSandbox
from testkit.seed import SANDBOX_TOKEN
from tests.watch.helpers import PROD_170, Clock


@pytest.fixture
def clock() -> Clock:
    return Clock(PROD_170)


@pytest.fixture
def kosli(clock: Clock):
    sandbox = KosliSandbox(token=SANDBOX_TOKEN, now=clock)
    sandbox.start()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path}/watcher.db"

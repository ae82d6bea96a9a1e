from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bot.runtime import Runtime
from bot.sandbox import KosliSandbox
from bot.web.app import build_web_app
from testkit.fakes.slack import FakeSlack
from testkit.seed import SANDBOX_TOKEN, SEED_NOW, settings_for
from testkit.servers import serve
from testkit.signing import sign, slash_command_body


@pytest.fixture
def kosli() -> Iterator[KosliSandbox]:
    sandbox = KosliSandbox(token=SANDBOX_TOKEN, now=lambda: SEED_NOW)
    sandbox.start()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    fake = FakeSlack().start()
    yield fake
    fake.stop()


@dataclass
class Bot:
    url: str
    slack: FakeSlack
    command: str = "/kosli"
    runtime: Runtime | None = None

    def post(self, body: str, headers: dict[str, str]) -> httpx.Response:
        return httpx.post(f"{self.url}/slack/events", content=body, headers=headers, timeout=10)

    def command_request(self, text: str, response: str = "1") -> httpx.Response:
        body = slash_command_body(text, self.slack.response_url(response), self.command)
        return self.post(body, sign(body))

    def ask(self, text: str, response: str = "1") -> dict:
        """Send a signed slash command and return what arrives on its response_url."""
        assert self.command_request(text, response).status_code == 200
        return self.slack.wait_for(f"/response/{response}")[0].body


@pytest.fixture
def start_bot(
    kosli: KosliSandbox, slack: FakeSlack, tmp_path: Path
) -> Iterator[Callable[..., Bot]]:
    running = []

    def start(**overrides: object) -> Bot:
        database = overrides.pop("database_url", f"sqlite:///{tmp_path}/bot.db")
        settings = settings_for(kosli, slack, str(database), **overrides)
        web = build_web_app(settings)
        context = serve(web)
        running.append(context)
        return Bot(context.__enter__(), slack, settings.slack_command, web.state.runtime)

    yield start
    for context in running:
        context.__exit__(None, None, None)


@pytest.fixture
def bot(start_bot: Callable[..., Bot]) -> Bot:
    return start_bot()


# ---- databases: every store test runs on SQLite and on PostgreSQL (see tests/db.py) ----------

from bot.store.migrate import open_store  # noqa: E402
from bot.store.store import Store  # noqa: E402
from tests import db  # noqa: E402


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """An empty database private to the test; the PostgreSQL case skips when it is down."""
    if request.param == "sqlite":
        yield f"sqlite:///{request.getfixturevalue('tmp_path')}/bot.db"
    else:
        with db.postgres_schema() as url:
            yield url


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    opened = open_store(database_url)
    yield opened
    opened.engine.dispose()


@pytest.fixture
def open_replica(database_url: str) -> Iterator[Callable[[], Store]]:
    """Open another Store on the test's database, with its own engine, as a second replica."""
    opened: list[Store] = []

    def open_another() -> Store:
        opened.append(open_store(database_url))
        return opened[-1]

    yield open_another
    for replica in opened:
        replica.engine.dispose()

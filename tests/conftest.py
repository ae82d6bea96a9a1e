from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest

from bot.config import Settings
from bot.sandbox import KosliSandbox
from bot.slack.app import build_web_app
from tests.fakes.slack import FakeSlack
from tests.servers import serve
from tests.signing import SIGNING_SECRET, sign, slash_command_body

SANDBOX_TOKEN = "sandbox-kosli-token"
# Three minutes after aws-prod#177 began, as in the seed's `kosli env log aws-prod`.
SEED_NOW = 1662476188.0


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


def settings_for(kosli: KosliSandbox, slack: FakeSlack, **overrides: object) -> Settings:
    env = {
        "SLACK_BOT_TOKEN": "xoxb-test-bot-token",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "KOSLI_API_TOKEN": SANDBOX_TOKEN,
        "KOSLI_ORG": "cyber-dojo",
        "KOSLI_HOST": kosli.base_url,
    }
    env.update({k.upper(): str(v) for k, v in overrides.items()})
    return Settings.from_env(env)


@dataclass
class Bot:
    url: str
    slack: FakeSlack
    command: str = "/kosli"

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
def start_bot(kosli: KosliSandbox, slack: FakeSlack) -> Iterator[Callable[..., Bot]]:
    running = []

    def start(**overrides: object) -> Bot:
        settings = settings_for(kosli, slack, **overrides)
        context = serve(build_web_app(settings))
        running.append(context)
        return Bot(context.__enter__(), slack, settings.slack_command)

    yield start
    for context in running:
        context.__exit__(None, None, None)


@pytest.fixture
def bot(start_bot: Callable[..., Bot]) -> Bot:
    return start_bot()

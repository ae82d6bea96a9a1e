"""OAuth mode over real HTTP: installs through Bolt's pages against the fake Slack, each
workspace connected to its Kosli org (the sandbox) through signed requests, uninstalls that
touch no other workspace, and no token resting in the database file in the clear."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy import text
from starlette.applications import Starlette

from bot.commands.connect import DATABASE_DOWN
from bot.config import Settings
from bot.installs import Installs
from bot.render.connect import admins_only_view, connect_modal, connected_view
from bot.sandbox import KosliSandbox
from bot.slack.app import BOT_SCOPES
from bot.store.connections import KosliConnection
from bot.web.app import build_web_app
from testkit.fakes.slack import FakeSlack
from testkit.seed import SANDBOX_TOKEN, oauth_env
from testkit.servers import serve
from testkit.signing import sign, signed_action, signed_json, slash_command_body
from tests.golden import assert_golden

MANIFEST = yaml.safe_load((Path(__file__).parents[2] / "app_manifest.yml").read_text())
COOKIE = "slack-app-oauth-state"

# The store is awaited: these tests run on an event loop (anyio's plugin, asyncio).
pytestmark = pytest.mark.anyio


@dataclass
class OAuthBot:
    url: str
    slack: FakeSlack
    kosli: KosliSandbox
    web: Starlette
    database: Path
    changed: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)

    @property
    def installs(self) -> Installs:
        installs: Installs = self.web.state.installs
        return installs

    def install(self, code: str, team: str, bot_token: str) -> httpx.Response:
        """Through Bolt's pages: "Add to Slack", then Slack's redirect back with a code."""
        self.slack.grant(code, team, bot_token)
        page = httpx.get(f"{self.url}/slack/install", timeout=10)
        assert page.status_code == 200 and "Add to Slack" in page.text
        state = re.search(r"state=([\w-]+)", page.text)
        assert state is not None and page.cookies.get(COOKIE) == state[1]
        return httpx.get(
            f"{self.url}/slack/oauth_redirect",
            params={"code": code, "state": state[1]},
            headers={"Cookie": f"{COOKIE}={state[1]}"},
            timeout=10,
        )

    def command(self, text: str, team: str = "T1", user: str = "U0ONCALL") -> httpx.Response:
        body = slash_command_body(text, self.slack.response_url(f"{team}-{text}"))
        body = body.replace("team_id=T1", f"team_id={team}").replace(
            "user_id=U0ONCALL", f"user_id={user}"
        )
        return httpx.post(f"{self.url}/slack/events", content=body, headers=sign(body), timeout=10)

    def submit(self, team: str, org: str, host: str, token: str, user: str = "U0ONCALL") -> dict:
        """The connect form sent, as Slack sends a view submission; what the bot answers."""
        values = {
            name: {"value": {"type": "plain_text_input", "value": value}}
            for name, value in (("org", org), ("host", host), ("token", token))
        }
        body, headers = signed_action(
            {
                "type": "view_submission",
                "team": {"id": team, "domain": "example"},
                "user": {"id": user, "team_id": team},
                "api_app_id": "A0KOSLIBOT",
                "trigger_id": "4.5.6",
                "view": {
                    "id": "V0001",
                    "type": "modal",
                    "callback_id": "kosli_connect",
                    "state": {"values": values},
                },
            }
        )
        answer = httpx.post(f"{self.url}/slack/events", content=body, headers=headers, timeout=10)
        assert answer.status_code == 200
        return answer.json() if answer.content else {}

    def event(self, team: str, event: dict, event_id: str) -> httpx.Response:
        body, headers = signed_json(
            {
                "type": "event_callback",
                "team_id": team,
                "api_app_id": "A0KOSLIBOT",
                "event": event,
                "event_id": event_id,
                "event_time": int(time.time()),
            }
        )
        return httpx.post(f"{self.url}/slack/events", content=body, headers=headers, timeout=10)


@pytest.fixture
def start_oauth_bot(
    kosli: KosliSandbox, slack: FakeSlack, tmp_path: Path
) -> Iterator[Callable[..., OAuthBot]]:
    running = []

    def start(**overrides: str) -> OAuthBot:
        database = tmp_path / "bot.db"
        settings = Settings.from_env(oauth_env(slack, f"sqlite:///{database}", **overrides))
        web = build_web_app(settings)
        context = serve(web)
        running.append(context)
        bot = OAuthBot(context.__enter__(), slack, kosli, web, database)

        async def changed(workspace: str) -> None:
            bot.changed.append(workspace)

        async def gone(workspace: str) -> None:
            bot.gone.append(workspace)

        bot.installs.on_connection_changed.append(changed)
        bot.installs.on_uninstalled.append(gone)
        return bot

    yield start
    for context in running:
        context.__exit__(None, None, None)


@pytest.fixture
def oauth_bot(start_oauth_bot: Callable[..., OAuthBot]) -> OAuthBot:
    return start_oauth_bot()


def test_the_scopes_asked_are_the_manifests() -> None:
    assert sorted(BOT_SCOPES) == sorted(MANIFEST["oauth_config"]["scopes"]["bot"])


def test_the_connect_views_are_goldens_valid_per_slack_sdk() -> None:
    assert_golden("connect_modal", connect_modal("https://app.kosli.com"))
    assert_golden("connect_connected", connected_view("cyber-dojo", "https://app.kosli.com"))
    assert_golden("connect_admins_only", admins_only_view("/kosli"))


async def test_an_install_through_bolts_pages_lets_the_workspace_in(oauth_bot: OAuthBot) -> None:
    assert oauth_bot.command("connect").status_code == 403  # not installed yet
    done = oauth_bot.install("code-1", "T1", "xoxb-t1-installed-secret")
    assert done.status_code == 200
    assert oauth_bot.slack.api_calls("oauth.v2.access")[0]["code"] == "code-1"
    assert await oauth_bot.installs.installations.bot_token("T1") == "xoxb-t1-installed-secret"
    assert oauth_bot.command("connect").status_code == 200
    assert oauth_bot.command("connect", team="T2").status_code == 403


def test_a_forged_or_replayed_state_installs_nothing(oauth_bot: OAuthBot) -> None:
    def redirect(code: str, state: str) -> httpx.Response:
        return httpx.get(
            f"{oauth_bot.url}/slack/oauth_redirect",
            params={"code": code, "state": state},
            headers={"Cookie": f"{COOKIE}={state}"},
            timeout=10,
        )

    oauth_bot.slack.grant("code-1", "T1", "xoxb-t1-installed-secret")
    assert redirect("code-1", "forged").status_code == 401
    assert oauth_bot.slack.api_calls("oauth.v2.access") == []

    page = httpx.get(f"{oauth_bot.url}/slack/install", timeout=10)
    state = re.search(r"state=([\w-]+)", page.text)
    assert state is not None
    assert redirect("code-1", state[1]).status_code == 200
    assert redirect("code-1", state[1]).status_code == 401  # a state is good once
    assert len(oauth_bot.slack.api_calls("oauth.v2.access")) == 1


async def test_connect_checks_the_token_with_kosli_and_keeps_it_encrypted(
    oauth_bot: OAuthBot,
) -> None:
    assert oauth_bot.install("code-1", "T1", "xoxb-t1-installed-secret").status_code == 200
    assert oauth_bot.command("connect").status_code == 200
    (opened,) = [c.body for c in oauth_bot.slack.wait_for("/api/views.open")]
    assert opened["trigger_id"] == "1.2.3"
    assert oauth_bot.slack.views[0]["view"]["callback_id"] == "kosli_connect"
    # views.open went with this workspace's own bot token.
    (call,) = [c for c in oauth_bot.slack.calls if c.path == "/api/views.open"]
    assert call.headers["Authorization"] == "Bearer xoxb-t1-installed-secret"

    host = oauth_bot.kosli.base_url
    wrong = oauth_bot.submit("T1", "cyber-dojo", host, "not-the-token")
    assert wrong == {
        "response_action": "errors",
        "errors": {"token": "Kosli refused this API token."},
    }
    unknown = oauth_bot.submit("T1", "no-such-org", host, SANDBOX_TOKEN)
    assert unknown["errors"] == {"org": "This token may not read an org called 'no-such-org'."}
    unreachable = oauth_bot.submit("T1", "cyber-dojo", "http://127.0.0.1:9", SANDBOX_TOKEN)
    assert unreachable["errors"] == {"host": "Kosli did not answer at this host."}
    assert await oauth_bot.installs.connections.find("T1") is None
    assert oauth_bot.changed == []

    right = oauth_bot.submit("T1", " cyber-dojo ", host + "/", SANDBOX_TOKEN)
    assert right == {"response_action": "update", "view": connected_view("cyber-dojo", host)}
    assert await oauth_bot.installs.connections.find("T1") == KosliConnection(
        "cyber-dojo", host, SANDBOX_TOKEN
    )
    assert oauth_bot.changed == ["T1"]

    stored = b"".join(
        p.read_bytes() for p in oauth_bot.database.parent.iterdir() if p.name.startswith("bot.db")
    )
    assert b"cyber-dojo" in stored  # the row is there, its token is not
    for secret in (b"xoxb-t1-installed-secret", SANDBOX_TOKEN.encode()):
        assert secret not in stored

    assert oauth_bot.command("disconnect").status_code == 200
    (answer,) = [c.body for c in oauth_bot.slack.wait_for("/response/T1-disconnect")]
    assert answer["text"].startswith("Disconnected this workspace from Kosli")
    assert answer["response_type"] == "ephemeral"
    assert await oauth_bot.installs.connections.find("T1") is None
    assert oauth_bot.changed == ["T1", "T1"]


async def test_only_admins_connect_when_admins_are_named(
    start_oauth_bot: Callable[..., OAuthBot],
) -> None:
    bot = start_oauth_bot(ADMIN_USER_IDS="UADMIN")
    assert bot.install("code-1", "T1", "xoxb-t1-installed-secret").status_code == 200
    assert bot.command("connect").status_code == 200
    bot.slack.wait_for("/api/views.open")
    assert bot.slack.views[0]["view"] == admins_only_view("/kosli")
    forged = bot.submit("T1", "cyber-dojo", bot.kosli.base_url, SANDBOX_TOKEN)
    assert forged["errors"] == {"token": "Only the bot's admins connect this workspace."}
    assert bot.command("disconnect").status_code == 200
    (answer,) = [c.body for c in bot.slack.wait_for("/response/T1-disconnect")]
    assert answer["text"] == "Only the bot's admins disconnect this workspace from Kosli."

    assert bot.command("connect", user="UADMIN").status_code == 200
    bot.slack.wait_for("/api/views.open", count=2)
    assert bot.slack.views[1]["view"] == connect_modal("https://app.kosli.com")
    assert (
        bot.submit("T1", "cyber-dojo", bot.kosli.base_url, SANDBOX_TOKEN, user="UADMIN")[
            "response_action"
        ]
        == "update"
    )


def test_the_home_tabs_connect_button_opens_the_form(oauth_bot: OAuthBot) -> None:
    assert oauth_bot.install("code-1", "T1", "xoxb-t1-installed-secret").status_code == 200
    body, headers = signed_action(
        {
            "type": "block_actions",
            "team": {"id": "T1", "domain": "example"},
            "user": {"id": "U0ONCALL", "team_id": "T1"},
            "api_app_id": "A0KOSLIBOT",
            "trigger_id": "7.8.9",
            "container": {"type": "view", "view_id": "VHOME"},
            "view": {"id": "VHOME", "type": "home"},
            "actions": [{"action_id": "home_connect", "block_id": "b", "type": "button"}],
        }
    )
    answer = httpx.post(f"{oauth_bot.url}/slack/events", content=body, headers=headers, timeout=10)
    assert answer.status_code == 200
    (opened,) = [c.body for c in oauth_bot.slack.wait_for("/api/views.open")]
    assert opened["trigger_id"] == "7.8.9"
    assert oauth_bot.slack.views[0]["view"] == connect_modal("https://app.kosli.com")


async def test_uninstalling_one_workspace_leaves_the_other_untouched(oauth_bot: OAuthBot) -> None:
    for code, team in (("code-1", "T1"), ("code-2", "T2")):
        assert oauth_bot.install(code, team, f"xoxb-{team}-installed-secret").status_code == 200
        assert (
            oauth_bot.submit(team, "cyber-dojo", oauth_bot.kosli.base_url, SANDBOX_TOKEN)[
                "response_action"
            ]
            == "update"
        )
    oauth_bot.changed.clear()
    connections = oauth_bot.installs.connections
    installations = oauth_bot.installs.installations

    assert oauth_bot.event("T1", {"type": "app_uninstalled"}, "Ev1").status_code == 200
    assert await installations.bot_token("T1") is None
    assert await installations.async_find_installation(enterprise_id=None, team_id="T1") is None
    assert await connections.find("T1") is None
    assert (oauth_bot.changed, oauth_bot.gone) == (["T1"], ["T1"])
    assert await installations.bot_token("T2") == "xoxb-T2-installed-secret"
    assert await connections.find("T2") is not None
    # Gone: the door no longer lets it in; the other still is.
    assert oauth_bot.command("connect", team="T1").status_code == 403
    assert oauth_bot.command("connect", team="T2").status_code == 200

    # A user's token revoked: the bot keeps serving; its bot token revoked: the workspace goes.
    users = {"type": "tokens_revoked", "tokens": {"oauth": ["UOTHER"], "bot": []}}
    assert oauth_bot.event("T2", users, "Ev2").status_code == 200
    assert await installations.bot_token("T2") == "xoxb-T2-installed-secret"
    bots = {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": ["UKOSLIBOT"]}}
    assert oauth_bot.event("T2", bots, "Ev3").status_code == 200
    assert await installations.bot_token("T2") is None
    assert await connections.find("T2") is None
    assert oauth_bot.gone == ["T1", "T2"]


async def test_a_form_kosli_cannot_be_asked_with_is_refused_field_by_field(
    oauth_bot: OAuthBot,
) -> None:
    assert oauth_bot.install("code-1", "T1", "xoxb-t1-installed-secret").status_code == 200
    empty = oauth_bot.submit("T1", "", "ftp://kosli.example", "")
    assert empty["errors"] == {
        "org": "The org's name, as in app.kosli.com/ORG.",
        "host": "An http(s) URL, like https://app.kosli.com.",
        "token": "The API token, as Kosli's settings show it.",
    }
    huge = oauth_bot.submit("T1", "<@U1>" * 5000, oauth_bot.kosli.base_url, SANDBOX_TOKEN)
    assert huge["errors"] == {"org": "The org's name, as in app.kosli.com/ORG."}
    assert await oauth_bot.installs.connections.find("T1") is None


def test_a_database_that_fails_is_one_friendly_line(oauth_bot: OAuthBot) -> None:
    assert oauth_bot.install("code-1", "T1", "xoxb-t1-installed-secret").status_code == 200
    with oauth_bot.web.state.store.engine.begin() as connection:
        connection.execute(text("DROP TABLE kosli_connections"))
    answer = oauth_bot.submit("T1", "cyber-dojo", oauth_bot.kosli.base_url, SANDBOX_TOKEN)
    assert answer["errors"] == {"token": DATABASE_DOWN}
    assert oauth_bot.command("disconnect").status_code == 200
    (reply,) = [c.body for c in oauth_bot.slack.wait_for("/response/T1-disconnect")]
    assert reply["text"] == DATABASE_DOWN
    assert oauth_bot.changed == []


def test_bolt_asks_slack_about_a_token_once_not_before_every_request(
    oauth_bot: OAuthBot,
) -> None:
    def auth_tests(token: str) -> int:
        return len(
            [c for c in oauth_bot.slack.calls
             if c.path == "/api/auth.test" and c.headers["Authorization"] == f"Bearer {token}"]
        )  # fmt: skip

    assert oauth_bot.install("code-1", "T1", "xoxb-t1-installed-secret").status_code == 200
    assert oauth_bot.command("help").status_code == 200
    oauth_bot.slack.wait_for("/response/T1-help")
    asked = auth_tests("xoxb-t1-installed-secret")  # the install's, and the first request's
    for n in range(10):
        assert oauth_bot.command("help", user=f"U{n}").status_code == 200
    oauth_bot.slack.wait_for("/response/T1-help", count=11)
    assert auth_tests("xoxb-t1-installed-secret") == asked  # not one more per request

    # The installation is still read on every request: once it is gone, so is the workspace.
    assert oauth_bot.event("T1", {"type": "app_uninstalled"}, "Ev1").status_code == 200
    assert oauth_bot.command("help").status_code == 403
    # Installed again, with a new token: that token is the one asked about, and used.
    assert oauth_bot.install("code-2", "T1", "xoxb-t1-reinstalled-secret").status_code == 200
    assert oauth_bot.command("connect").status_code == 200
    (opened,) = oauth_bot.slack.wait_for("/api/views.open")
    assert opened.headers["Authorization"] == "Bearer xoxb-t1-reinstalled-secret"
    assert auth_tests("xoxb-t1-reinstalled-secret") == 2  # the install's, and its first use

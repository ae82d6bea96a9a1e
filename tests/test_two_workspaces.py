"""Issue 21 end to end: two Slack workspaces install the bot through Slack's OAuth pages,
each connects its own Kosli org (two sandboxes) and watches in its own channel, all through
the real web app over HTTP with signed requests against the fake Slack. Neither reads nor
posts into the other's channels; uninstalling one leaves the other working; and no token
rests in the database file in the clear."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from slack_sdk.models.views import View

from bot.config import Settings
from bot.runtime import Runtime
from bot.sandbox import KosliSandbox
from bot.web.app import build_web_app
from testkit import seed
from testkit.fakes.slack import FakeSlack
from testkit.seed import SEED_NOW
from testkit.servers import served
from testkit.signing import SIGNING_SECRET, sign, signed_action, signed_json, slash_command_fields
from testkit.story import MINER, report_new_build, report_with

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parent.parent
COOKIE = "slack-app-oauth-state"


@dataclass(frozen=True)
class Team:
    """A workspace: its team id, the bot token Slack hands it, its channel and its user."""

    id: str
    bot_token: str
    channel: str
    user: str
    org: str
    kosli_token: str


A = Team("T0AAAAAAA", "xoxb-team-a-secret-0001", "C0ALERTSA", "U0ALICE", "org-a", "kosli-a-s3cret")
B = Team("T0BBBBBBB", "xoxb-team-b-secret-0002", "C0ALERTSB", "U0BOB", "org-b", "kosli-b-s3cret")


@pytest.fixture
def orgs() -> Iterator[dict[str, KosliSandbox]]:
    sandboxes = {
        team.id: KosliSandbox(org=team.org, token=team.kosli_token, now=lambda: SEED_NOW)
        for team in (A, B)
    }
    for sandbox in sandboxes.values():
        sandbox.start()
    yield sandboxes
    for sandbox in sandboxes.values():
        sandbox.stop()


def opened_home(team: Team) -> dict[str, Any]:
    return {"type": "app_home_opened", "user": team.user, "channel": "D0BOT", "tab": "home"}


@dataclass
class Slack:
    """Slack's side of the conversation: the fake Web API, and the requests Slack signs."""

    url: str
    http: httpx.AsyncClient
    fake: FakeSlack
    asked: int = 0  # names each command's response_url

    async def install(self, team: Team, code: str) -> None:
        """Bolt's "Add to Slack" page, then Slack's redirect back with a code and the state."""
        self.fake.grant(code, team.id, team.bot_token)
        page = await self.http.get(f"{self.url}/slack/install")
        state = re.search(r"state=([\w-]+)", page.text)
        assert page.status_code == 200 and state is not None
        done = await self.http.get(
            f"{self.url}/slack/oauth_redirect",
            params={"code": code, "state": state[1]},
            headers={"Cookie": f"{COOKIE}={state[1]}"},
        )
        assert done.status_code == 200

    async def command(
        self, team: Team, text: str, channel: str | None = None, answer_to: str = "-"
    ) -> int:
        fields = slash_command_fields(text, self.fake.response_url(answer_to))
        body = urlencode(
            fields
            | {"team_id": team.id, "user_id": team.user, "channel_id": channel or team.channel}
        )
        answer = await self.http.post(f"{self.url}/slack/events", content=body, headers=sign(body))
        return answer.status_code

    async def ask(self, team: Team, text: str, channel: str | None = None) -> dict[str, Any]:
        """The command's answer on its response_url (the bot answers after the ack)."""
        self.asked += 1
        assert await self.command(team, text, channel, str(self.asked)) == 200
        calls = await asyncio.to_thread(self.fake.wait_for, f"/response/{self.asked}")
        answer: dict[str, Any] = calls[0].body
        return answer

    async def connect(self, team: Team, kosli: KosliSandbox) -> dict[str, Any]:
        """`/kosli connect` opens the modal; the admin fills it in and submits it."""
        opened = len(self.fake.views)
        assert await self.command(team, "connect") == 200
        await asyncio.to_thread(self.fake.wait_for, "/api/views.open", opened + 1)
        assert self.fake.views[opened]["view"]["callback_id"] == "kosli_connect"
        fields = {"org": team.org, "host": kosli.base_url, "token": team.kosli_token}
        values = {
            name: {"value": {"type": "plain_text_input", "value": value}}
            for name, value in fields.items()
        }
        body, headers = signed_action(
            {"type": "view_submission", "team": {"id": team.id, "domain": "example"},
             "user": {"id": team.user, "team_id": team.id}, "api_app_id": "A0KOSLIBOT",
             "trigger_id": "4.5.6", "view": {"id": "V0001", "type": "modal",
             "callback_id": "kosli_connect", "state": {"values": values}}}
        )  # fmt: skip
        answer = await self.http.post(f"{self.url}/slack/events", content=body, headers=headers)
        assert answer.status_code == 200
        submitted: dict[str, Any] = answer.json()
        return submitted

    async def event(self, team: Team, event: dict[str, Any], event_id: str) -> int:
        body, headers = signed_json(
            {"type": "event_callback", "team_id": team.id, "api_app_id": "A0KOSLIBOT",
             "event": event, "event_id": event_id, "event_time": int(time.time())}
        )  # fmt: skip
        answer = await self.http.post(f"{self.url}/slack/events", content=body, headers=headers)
        return answer.status_code

    async def home(self, team: Team) -> dict[str, Any]:
        """The Home tab the team's user is shown when opening it, valid per slack_sdk."""
        published = len(self.fake.api_calls("views.publish"))
        assert await self.event(team, opened_home(team), f"Ev-home-{published}") == 200
        await asyncio.to_thread(self.fake.wait_for, "/api/views.publish", published + 1)
        view = self.fake.home_views[team.user]
        View(**view).validate_json()
        return view

    def posts(self) -> list[tuple[str, str]]:
        """(channel, the bot token it went with) of every message the bot posted."""
        return [
            (call.body["channel"], call.headers["Authorization"].removeprefix("Bearer "))
            for call in self.fake.calls
            if call.path == "/api/chat.postMessage"
        ]

    def tokens_of(self, method: str) -> set[str]:
        return {
            call.headers["Authorization"].removeprefix("Bearer ")
            for call in self.fake.calls
            if call.path == f"/api/{method}"
        }


def oauth_env(slack: FakeSlack, kosli: KosliSandbox, database: Path) -> dict[str, str]:
    return seed.oauth_env(
        slack,
        f"sqlite:///{database}",
        RUN_WATCHER="false",  # the test runs each watcher cycle itself
        # The story's git history: never the internet.
        GITHUB_API_URL=kosli.github_url,
        GITLAB_URL=kosli.gitlab_url,
        GITLAB_COM_URL=kosli.gitlab_url,
    )


async def test_two_workspaces_installed_through_oauth_each_with_its_own_kosli_org(
    orgs: dict[str, KosliSandbox], slack: FakeSlack, tmp_path: Path
) -> None:
    database = tmp_path / "bot.db"
    web = build_web_app(Settings.from_env(oauth_env(slack, orgs[A.id], database)))
    runtime: Runtime = web.state.runtime
    async with served(web) as url, httpx.AsyncClient(timeout=10) as http:
        s = Slack(url, http, slack)
        assert await s.command(A, "help") == 403  # not installed yet
        await s.install(A, "code-a")
        await s.install(B, "code-b")

        # Installed, not connected: told to connect, in one line.
        not_yet = await s.ask(A, "envs")
        assert not_yet["text"].startswith("This workspace is not connected to a Kosli org yet")
        for team in (A, B):
            assert (await s.connect(team, orgs[team.id]))["response_action"] == "update"
            watching = await s.ask(team, "watch aws-prod")
            assert watching["text"].startswith("Watching aws-prod in this channel")
        # Each modal was opened with its own workspace's token.
        assert s.tokens_of("views.open") == {A.bot_token, B.bot_token}

        await runtime.workspaces.run_cycle()
        assert s.posts() == []  # a baseline each

        report_with(orgs[A.id], MINER)  # aws-prod#178, in A's org only
        await runtime.workspaces.run_cycle()
        assert s.posts() == [(A.channel, A.bot_token)]
        assert slack.posted(A.channel)[0]["text"].startswith("aws-prod#178")
        report_new_build(orgs[B.id], "aws-prod", 1)  # and now B's
        await runtime.workspaces.run_cycle()
        assert s.posts() == [(A.channel, A.bot_token), (B.channel, B.bot_token)]

        # Each workspace's commands see its own state only, even in a channel both share
        # (Slack Connect: one channel id in two workspaces).
        assert "aws-prod" in str(await s.ask(A, "watching"))
        assert "watches nothing yet" in (await s.ask(B, "watching", A.channel))["text"]
        before = len(s.posts())
        await s.ask(A, "incident aws-prod since #175")  # a thread in A's channel
        assert s.posts()[before:] and set(s.posts()[before:]) == {(A.channel, A.bot_token)}
        assert len(slack.posted(B.channel)) == 1  # B's alert alone

        home_a, home_b = str(await s.home(A)), str(await s.home(B))
        assert A.channel in home_a and "Incident in aws-prod" in home_a and A.org in home_a
        assert B.channel in home_b and B.org in home_b
        assert A.channel not in home_b and "Incident" not in home_b and A.org not in home_b
        assert B.channel not in home_a and B.org not in home_a
        for secret in (A.kosli_token, B.kosli_token):
            assert secret not in home_a + home_b
        assert s.tokens_of("views.publish") == {A.bot_token, B.bot_token}

        posted_to_a = len(slack.posted(A.channel))
        # A uninstalls: its tokens, connection and watches go; its requests are refused at
        # the door; B goes on as before.
        assert await s.event(A, {"type": "app_uninstalled"}, "Ev-uninstall-a") == 200
        installs = web.state.installs
        assert await installs.installations.bot_token(A.id) is None
        assert await installs.connections.find(A.id) is None
        assert await runtime.store.scoped(A.id).subscriptions.find() == []
        assert await s.command(A, "watching") == 403
        assert await s.event(A, opened_home(A), "Ev-home-after") == 403

        report_with(orgs[A.id], MINER, at=SEED_NOW - 30)  # A's org changes: nobody is told
        report_new_build(orgs[B.id], "aws-prod", 2)
        await runtime.workspaces.run_cycle()
        assert s.posts()[-1] == (B.channel, B.bot_token)
        assert len(slack.posted(A.channel)) == posted_to_a
        assert len(slack.posted(B.channel)) == 2
        assert "aws-prod" in str(await s.ask(B, "watching"))

    # Nothing Slack or Kosli handed out rests in the database file in the clear.
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("bot.db"))
    assert B.org.encode() in stored  # B's connection is there; its token is not
    for secret in (A.bot_token, B.bot_token, A.kosli_token, B.kosli_token):
        assert secret.encode() not in stored


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def kosli_bot(mode: str, env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`kosli-bot MODE` in its own process, stopped as the platform stops it."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", mode],
            cwd=ROOT,
            env={"PATH": os.environ.get("PATH", ""), **env},
            stdout=out,
            stderr=out,
        )
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


def wait_ready(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the process starts in its own time
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} never became ready")


async def test_serve_and_worker_processes_run_in_oauth_mode(
    orgs: dict[str, KosliSandbox], slack: FakeSlack, tmp_path: Path
) -> None:
    """`kosli-bot serve` installs and connects; `kosli-bot worker`, a second process with no
    bot token nor Kosli account of its own, watches for the installed workspace."""
    env = oauth_env(slack, orgs[A.id], tmp_path / "bot.db")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "bot.log"
    with kosli_bot("serve", {**env, "PORT": str(port)}, log):
        await asyncio.to_thread(wait_ready, url)
        async with httpx.AsyncClient(timeout=10) as http:
            s = Slack(url, http, slack)
            await s.install(A, "code-a")
            assert (await s.connect(A, orgs[A.id]))["response_action"] == "update"
            assert (await s.ask(A, "watch aws-prod"))["text"].startswith("Watching aws-prod")
        with kosli_bot("worker", {**env, "RUN_WATCHER": "true", "KOSLI_POLL_SECONDS": "0.2"}, log):
            report_with(orgs[A.id], MINER)
            await asyncio.to_thread(slack.wait_for, "/api/chat.postMessage")
        assert s.posts() == [(A.channel, A.bot_token)]
    logged = log.read_text()
    for secret in (A.bot_token, A.kosli_token, "test-client-secret", SIGNING_SECRET):
        assert secret not in logged

"""Two workspaces in one bot: each connected to its own Kosli org (two sandboxes), each with
its own bot token in the fake Slack, over one database. A change in one org alerts only that
workspace's channel, through that workspace's token; one workspace failing stops no other."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from prometheus_client import REGISTRY
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette

from bot.domain.commands import Watch
from bot.runtime import Runtime
from bot.sandbox import KosliSandbox
from bot.slack.app import build_bolt_app
from bot.slack.workspace import UNREADABLE as UNREADABLE_ANSWER
from bot.web.webhook import webhook_route
from bot.workspaces import Workspace, Workspaces, not_connected
from testkit.fakes.slack import FakeSlack
from testkit.seed import SEED_NOW, settings_for
from testkit.servers import served
from testkit.signing import sign, signed_json, slash_command_fields
from testkit.story import MINER, report_new_build, report_with

A, B, UNCONNECTED, UNREADABLE = "T0AAAAAAA", "T0BBBBBBB", "T0CCCCCCC", "T0DDDDDDD"
TOKENS = {A: "xoxb-workspace-a", B: "xoxb-workspace-b", UNCONNECTED: "xoxb-workspace-c"}
CHANNELS = {A: "C0ALERTSA", B: "C0ALERTSB"}


@dataclass(frozen=True)
class Connection:
    org: str
    host: str
    api_token: str


@dataclass
class Installations:
    """A fake of the installation store and the connection repository: what the registry
    asks of them, and who asked for which workspace."""

    tokens: dict[str, str] = field(default_factory=dict)
    connections: dict[str, Connection] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    async def bot_token(self, key: str) -> str | None:
        self.asked.append(key)
        if key == UNREADABLE:
            raise OSError("the installations cannot be read")
        return self.tokens.get(key)

    async def kosli_connection(self, key: str) -> Connection | None:
        return self.connections.get(key)


@pytest.fixture
def orgs() -> Iterator[dict[str, KosliSandbox]]:
    sandboxes = {
        A: KosliSandbox(org="org-a", token="kosli-a", now=lambda: SEED_NOW),
        B: KosliSandbox(org="org-b", token="kosli-b", now=lambda: SEED_NOW),
    }
    for sandbox in sandboxes.values():
        sandbox.start()
    yield sandboxes
    for sandbox in sandboxes.values():
        sandbox.stop()


def run_two(
    orgs: dict[str, KosliSandbox],
    slack: FakeSlack,
    tmp_path: Path,
    body: Callable[[Workspaces, Installations], Awaitable[Any]],
) -> Any:
    """The registry over one database, A and B installed and connected, C installed only."""
    installs = Installations(
        tokens=dict(TOKENS),
        connections={
            key: Connection(kosli.org, kosli.base_url, str(kosli.token))
            for key, kosli in orgs.items()
        },
    )
    settings = settings_for(orgs[A], slack, f"sqlite:///{tmp_path}/bot.db")

    async def main() -> Any:
        runtime = Runtime.installed(settings, installs, installs)
        async with runtime.running(watch=False):
            return await body(runtime.workspaces, installs)

    return asyncio.run(main())


async def connected(workspaces: Workspaces, key: str) -> Workspace:
    workspace = await workspaces.get(key)
    assert workspace is not None
    return workspace


async def watch_prod(workspaces: Workspaces) -> None:
    for key, channel in CHANNELS.items():
        workspace = await connected(workspaces, key)
        await workspace.services.subscriptions.watch(Watch(("aws-prod",), False), channel, "U1")


def posts(slack: FakeSlack) -> list[tuple[str, str]]:
    """(channel, the token it was posted with) of every alert."""
    return [
        (call.body["channel"], call.headers["Authorization"].removeprefix("Bearer "))
        for call in slack.calls
        if call.path == "/api/chat.postMessage"
    ]


def test_a_change_in_one_org_alerts_only_its_workspace_through_its_token(
    orgs: dict[str, KosliSandbox], slack: FakeSlack, tmp_path: Path
) -> None:
    async def body(workspaces: Workspaces, installs: Installations) -> None:
        await watch_prod(workspaces)  # both orgs have an aws-prod, at #177 now
        await workspaces.run_cycle()
        assert posts(slack) == []  # a baseline each

        report_with(orgs[A], MINER)  # aws-prod#178, in org A only
        await workspaces.run_cycle()

        a, b = await connected(workspaces, A), await connected(workspaces, B)
        assert [s.channel_id for s in await b.store.subscriptions.find()] == [CHANNELS[B]]
        assert (await b.store.environments.state("aws-prod")).last_seen_index == 177  # type: ignore[union-attr]
        assert (await a.store.environments.state("aws-prod")).last_seen_index == 178  # type: ignore[union-attr]
        assert await workspaces.get(UNCONNECTED) is None  # installed, not connected
        assert REGISTRY.get_sample_value("kosli_bot_environments_watched") == 2  # one each
        assert a.services.command_name == "/kosli"

    run_two(orgs, slack, tmp_path, body)
    assert posts(slack) == [(CHANNELS[A], TOKENS[A])]
    [alert] = slack.posted(CHANNELS[A])
    assert alert["text"].startswith("aws-prod#178")
    assert slack.posted(CHANNELS[B]) == []
    # Each watcher asked its own org only.
    for key, other in ((A, "org-b"), (B, "org-a")):
        asked = [path for _, path in orgs[key].requests if path.startswith("/api/")]
        assert asked and all(orgs[key].org in p and other not in p for p in asked)


def test_one_workspace_failing_stops_no_others_cycle(
    orgs: dict[str, KosliSandbox], slack: FakeSlack, tmp_path: Path
) -> None:
    async def body(workspaces: Workspaces, installs: Installations) -> None:
        await watch_prod(workspaces)
        await workspaces.run_cycle()

        orgs[A].token = "rotated"  # A's Kosli token no longer works
        report_new_build(orgs[A], "aws-prod", 1)
        report_new_build(orgs[B], "aws-prod", 1)
        await workspaces.run_cycle()
        assert posts(slack) == [(CHANNELS[B], TOKENS[B])]

        slack.revoked.add(TOKENS[B])  # then B's Slack token is revoked, and A's Kosli is back
        orgs[A].token = "kosli-a"
        report_new_build(orgs[B], "aws-prod", 2)
        await workspaces.run_cycle()

    run_two(orgs, slack, tmp_path, body)
    [to_a] = slack.posted(CHANNELS[A])  # A caught up once its Kosli answered again
    assert to_a["text"].startswith("aws-prod#178")
    assert len(slack.posted(CHANNELS[B])) == 1  # the revoked token's post never landed
    assert set(posts(slack)) == {(CHANNELS[A], TOKENS[A]), (CHANNELS[B], TOKENS[B])}


def test_commands_reach_their_own_workspace_and_an_unconnected_one_is_told_so(
    orgs: dict[str, KosliSandbox], slack: FakeSlack, tmp_path: Path
) -> None:
    async def body(workspaces: Workspaces, installs: Installations) -> None:
        a = await connected(workspaces, A)
        client = AsyncWebClient(token=TOKENS[A], base_url=slack.api_url)
        bolt = build_bolt_app(workspaces, a.store.events, client)
        for team, channel, text, answer in (
            (A, CHANNELS[A], "watch aws-prod", "a"),
            (UNCONNECTED, "C0ALERTSC", "watch aws-prod", "c"),
            (UNREADABLE, "C0ALERTSD", "envs", "d"),
        ):
            fields = slash_command_fields(text, slack.response_url(answer))
            encoded = urlencode(fields | {"team_id": team, "channel_id": channel})
            request = AsyncBoltRequest(body=encoded, headers=sign(encoded))
            assert (await bolt.async_dispatch(request)).status == 200
            await asyncio.to_thread(slack.wait_for, f"/response/{answer}")
        b = await connected(workspaces, B)
        assert [s.channel_id for s in await a.store.subscriptions.find()] == [CHANNELS[A]]
        assert await b.store.subscriptions.find() == []

        mention, headers = signed_json(
            {"type": "event_callback", "team_id": UNCONNECTED, "event_id": "Ev1",
             "event": {"type": "app_mention", "channel": "C0ALERTSC", "user": "U1",
                       "text": "<@UKOSLIBOT> envs", "ts": "1.1"}}
        )  # fmt: skip
        assert (
            await bolt.async_dispatch(AsyncBoltRequest(body=mention, headers=headers))
        ).status == 200
        await asyncio.to_thread(slack.wait_for, "/api/chat.postEphemeral")

    run_two(orgs, slack, tmp_path, body)
    [watching] = slack.responses("a")
    assert watching["text"].startswith("Watching aws-prod")
    assert slack.responses("c") == [{"text": not_connected("/kosli"), "response_type": "ephemeral"}]
    assert slack.responses("d") == [{"text": UNREADABLE_ANSWER, "response_type": "ephemeral"}]
    [told] = slack.api_calls("chat.postEphemeral")
    assert (told["channel"], told["user"]) == ("C0ALERTSC", "U1")
    assert told["text"] == not_connected("/kosli")


def kosli_push(org: str) -> dict[str, Any]:
    return {"org": org, "environment": "aws-prod", "event_type": "STARTED_ARTIFACT",
            "snapshot": {"index": "178", "status": "non-compliant"}}  # fmt: skip


def test_a_kosli_push_polls_in_the_workspaces_connected_to_its_org(
    orgs: dict[str, KosliSandbox], slack: FakeSlack, tmp_path: Path
) -> None:
    secret = "kosli-webhook-secret-0123456789"

    async def body(workspaces: Workspaces, installs: Installations) -> list[dict[str, Any]]:
        await watch_prod(workspaces)
        await workspaces.run_cycle()
        report_with(orgs[A], MINER)
        report_with(orgs[B], MINER)  # B changed too, but no push tells of it
        web = Starlette(routes=[webhook_route(workspaces, secret)])
        async with served(web, lifespan="off") as url, httpx.AsyncClient(timeout=10) as client:
            answers = [
                await client.post(f"{url}/kosli/webhook/{secret}", json=kosli_push(org))
                for org in ("org-a", "org-z")
            ]
            await asyncio.to_thread(slack.wait_for, "/api/chat.postMessage")
        return [answer.json() for answer in answers]

    assert run_two(orgs, slack, tmp_path, body) == [
        {"ok": True, "polled": True},
        {"ok": True, "polled": False, "why": "nobody watches it"},
    ]
    assert posts(slack) == [(CHANNELS[A], TOKENS[A])]


def test_forgetting_a_workspace_builds_it_anew_from_its_installation(
    orgs: dict[str, KosliSandbox], slack: FakeSlack, tmp_path: Path
) -> None:
    async def body(workspaces: Workspaces, installs: Installations) -> None:
        first = await connected(workspaces, A)
        assert await connected(workspaces, A) is first  # kept
        del installs.connections[A]  # `disconnect`
        assert await workspaces.get(A) is first  # until forgotten
        workspaces.forget(A)
        assert await workspaces.get(A) is None
        assert installs.asked.count(A) == 2  # asked once per build, not per request
        assert not_connected("/kosli") == (
            "This workspace is not connected to a Kosli org yet: an admin runs `/kosli connect`."
        )

    run_two(orgs, slack, tmp_path, body)


def test_a_workspace_changed_by_another_process_is_built_anew_at_the_next_cycle(
    orgs: dict[str, KosliSandbox], slack: FakeSlack, tmp_path: Path
) -> None:
    """The worker process is never told of a reinstall or a new connection (the web process
    that handled it is): each cycle it compares what each workspace was built from."""

    async def body(workspaces: Workspaces, installs: Installations) -> None:
        await watch_prod(workspaces)
        await workspaces.run_cycle()
        a, b = await connected(workspaces, A), await connected(workspaces, B)

        installs.tokens[A] = "xoxb-workspace-a-reinstalled"
        report_with(orgs[A], MINER)
        await workspaces.run_cycle()
        assert await connected(workspaces, A) is not a
        assert await connected(workspaces, B) is b  # unchanged: kept

        orgs[B].token = "kosli-b-rotated"  # B reconnected with a new Kosli token
        installs.connections[B] = Connection("org-b", orgs[B].base_url, "kosli-b-rotated")
        report_with(orgs[B], MINER)
        await workspaces.run_cycle()

    run_two(orgs, slack, tmp_path, body)
    assert posts(slack) == [
        (CHANNELS[A], "xoxb-workspace-a-reinstalled"),
        (CHANNELS[B], TOKENS[B]),
    ]


def test_a_workspace_is_the_team_or_the_org_of_an_org_wide_install(
    orgs: dict[str, KosliSandbox], slack: FakeSlack, tmp_path: Path
) -> None:
    async def body(workspaces: Workspaces, installs: Installations) -> list[str]:
        return [
            workspaces.key_for("T1", None, False),
            workspaces.key_for("T1", "E1", False),
            workspaces.key_for("T1", "E1", True),
        ]

    assert run_two(orgs, slack, tmp_path, body) == ["T1", "T1", "E1"]

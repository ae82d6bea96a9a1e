"""What the watcher's alerts say, against the sandbox Kosli and the fake Slack, over real HTTP
and a real database."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from bot.runtime import Runtime
from bot.sandbox import KosliSandbox, RunningArtifact
from testkit.fakes.slack import FakeSlack
from testkit.seed import SEED_NOW
from testkit.story import SEED_ALERTS, report_with
from tests.db import outbox_rows
from tests.golden import assert_golden
from tests.watch.helpers import (
    BETA_189,
    CHANNEL,
    Clock,
    run,
    texts,
    top_level,
    watch,
)


def test_baseline_then_catch_up_replays_the_seed_incident_once(
    kosli: KosliSandbox, slack: FakeSlack, clock: Clock, sqlite_url: str
) -> None:
    async def body(runtime: Runtime) -> None:
        await watch(runtime, "aws-prod")
        await runtime.watcher.run_cycle()
        assert top_level(slack) == []  # a baseline, not a flood
        clock.now = SEED_NOW
        await runtime.watcher.run_cycle()
        await runtime.watcher.run_cycle()  # nothing new: nothing more

    run(kosli, slack, sqlite_url, body)
    assert texts(slack) == SEED_ALERTS
    assert_golden("alert_started", top_level(slack)[5]["blocks"])
    assert_golden("alert_rollout_finished", top_level(slack)[6]["blocks"])
    finished = str(top_level(slack)[6]["blocks"])
    # #177 ends the rolling deploy #176 began: one "old -> new" line with both commits.
    assert "`creator:31dee35` → `creator:b7a5908`" in finished
    assert "31dee357844ab2f58a40d16f945dc5e35dcd6bc0|31dee35>" in finished
    assert "compare/31dee357844ab2f58a40d16f945dc5e35dcd6bc0...b7a5908" in finished
    state = run(kosli, slack, sqlite_url, lambda r: r.store.environments.state("aws-prod"))
    assert state.last_seen_index == 177


def test_alerts_go_through_one_slack_session_while_the_bot_runs(
    kosli: KosliSandbox,
    slack: FakeSlack,
    clock: Clock,
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """slack_sdk opens a session (and, with Slack, a TLS connection) per call unless given one:
    the runtime gives it one for as long as it runs, and closes it. (The other session is the
    Kosli client's connection pool, also one for the run.)"""
    opened: list[aiohttp.ClientSession] = []
    real_init = aiohttp.ClientSession.__init__

    def counted(session: aiohttp.ClientSession, *args: Any, **kwargs: Any) -> None:
        opened.append(session)
        real_init(session, *args, **kwargs)

    monkeypatch.setattr(aiohttp.ClientSession, "__init__", counted)

    async def body(runtime: Runtime) -> None:
        await watch(runtime, "aws-prod")
        clock.now = SEED_NOW
        await runtime.watcher.run_cycle()

    run(kosli, slack, sqlite_url, body)
    assert texts(slack) == SEED_ALERTS
    assert len(opened) == 2 and all(session.closed for session in opened)


def test_the_watch_reply_is_the_baseline_summary(
    kosli: KosliSandbox, slack: FakeSlack, clock: Clock, sqlite_url: str
) -> None:
    clock.now = SEED_NOW

    async def body(runtime: Runtime) -> Any:
        return await watch(runtime, "aws-beta")

    from bot.render.subscriptions import render_watch

    message = render_watch(run(kosli, slack, sqlite_url, body), "/kosli")
    assert_golden("watch_baseline", message.blocks)
    assert message.text.startswith("Watching aws-beta in this channel")
    assert "need attention" in message.text  # the rogue miner and the non-compliant saver


def test_rogue_non_compliant_and_compliance_flip(
    kosli: KosliSandbox, slack: FakeSlack, clock: Clock, sqlite_url: str
) -> None:
    clock.now = BETA_189

    async def body(runtime: Runtime) -> None:
        await watch(runtime, "aws-beta")
        clock.now = SEED_NOW
        await runtime.watcher.run_cycle()

    run(kosli, slack, sqlite_url, body)
    (alert,) = top_level(slack)
    assert alert["text"] == "aws-beta#190: 1 rogue, 1 non-compliant, 1 started, now non-compliant"
    blocks = str(alert["blocks"])
    assert "xmrig:latest" in blocks and "no provenance" in blocks
    assert "missing evidence: snyk-scan" in blocks
    assert "is now non-compliant" in blocks
    assert_golden("alert_rogue_non_compliant", alert["blocks"])


def _artifact(service: str, commit: str, started: float, **extra: Any) -> RunningArtifact:
    return RunningArtifact(
        name=f"274425519734.dkr.ecr.eu-central-1.amazonaws.com/{service}:{commit[:7]}",
        fingerprint=(service + commit).encode().hex()[:64].ljust(64, "0"),
        flow_name=service,
        git_commit=commit,
        commit_url=f"https://github.com/cyber-dojo/{service}/commit/{commit}",
        compliant=extra.pop("compliant", True),
        instances=extra.pop("instances", 1),
        started_at=started,
        deployments=extra.pop("deployments", [70]),
        **extra,
    )


def test_replaced_with_no_claim_about_deployments_and_no_scaling(
    kosli: KosliSandbox, slack: FakeSlack, clock: Clock, sqlite_url: str
) -> None:
    old = _artifact("runner", "a" * 40, SEED_NOW - 600, instances=2)
    nginx = _artifact("nginx", "c" * 40, SEED_NOW - 600)
    kosli.add_snapshot("aws-prod", SEED_NOW + 10, [old, nginx])
    clock.now = SEED_NOW + 10

    async def body(runtime: Runtime) -> None:
        await watch(runtime, "aws-prod")
        new = _artifact("runner", "b" * 40, SEED_NOW + 15)
        nginx_scaled = _artifact("nginx", "c" * 40, SEED_NOW - 600, instances=3)
        sidecar = _artifact("sidecar", "d" * 40, SEED_NOW + 15, deployments=[])
        kosli.add_snapshot("aws-prod", SEED_NOW + 20, [new, nginx_scaled, sidecar])
        clock.now = SEED_NOW + 30
        await runtime.watcher.run_cycle()

    run(kosli, slack, sqlite_url, body)
    (alert,) = top_level(slack)
    # Kosli no longer records deployments: an artifact without one is no news.
    # nginx 1 -> 3 instances is no change: today's Kosli makes no snapshot for a count alone.
    assert alert["text"] == "aws-prod#179: 1 replaced, 1 started"
    blocks = str(alert["blocks"])
    assert "deploy" not in blocks.lower()
    compare = f"https://github.com/cyber-dojo/runner/compare/{'a' * 40}...{'b' * 40}|compare"
    assert compare in blocks
    assert "instances" not in blocks and "nginx" not in blocks
    assert_golden("alert_replaced_started", alert["blocks"])


def test_risky_only_subscriptions_skip_routine_changes(
    kosli: KosliSandbox, slack: FakeSlack, clock: Clock, sqlite_url: str
) -> None:
    clock.now = BETA_189

    async def body(runtime: Runtime) -> None:
        await watch(runtime, "aws-prod", risky=True)
        await watch(runtime, "aws-beta", risky=True)
        clock.now = SEED_NOW
        await runtime.watcher.run_cycle()

    run(kosli, slack, sqlite_url, body)
    assert texts(slack) == ["aws-beta#190: 1 rogue, 1 non-compliant, 1 started, now non-compliant"]


def big_snapshot(kosli: KosliSandbox, count: int) -> None:
    """A snapshot where `count` new services start at once: more than one message can hold."""
    report_with(
        kosli, *(_artifact(f"svc{n:02d}", f"{n:040x}", SEED_NOW - 100) for n in range(count))
    )


def test_an_alert_too_big_for_one_message_goes_in_parts(
    kosli: KosliSandbox, slack: FakeSlack, clock: Clock, sqlite_url: str
) -> None:
    clock.now = SEED_NOW

    async def body(runtime: Runtime) -> None:
        await watch(runtime, "aws-prod")
        big_snapshot(kosli, 60)
        await runtime.watcher.run_cycle()

    run(kosli, slack, sqlite_url, body)
    first, second = top_level(slack)
    assert first["text"] == second["text"] == "aws-prod#178: 60 started"
    assert len(first["blocks"]) == 50 and second["blocks"][-1]["type"] == "actions"
    assert str(first["blocks"] + second["blocks"]).count("Started*") == 60
    keys = [m["metadata"]["event_payload"]["key"] for m in (first, second)]
    assert keys == ["C0INCIDENT/aws-prod/change/178", "C0INCIDENT/aws-prod/change/178/2"]


def test_a_part_already_posted_is_not_posted_again(
    kosli: KosliSandbox, slack: FakeSlack, clock: Clock, database_url: str
) -> None:
    clock.now = SEED_NOW
    slack.limit_after[CHANNEL], slack.rate_limited[CHANNEL] = 1, 4  # part 2 fails for now

    async def body(runtime: Runtime) -> list[str]:
        await watch(runtime, "aws-prod")
        big_snapshot(kosli, 60)
        await runtime.watcher.run_cycle()
        assert len(top_level(slack)) == 1
        await runtime.watcher.run_cycle()
        return [a.state for a in outbox_rows(runtime.store)]

    assert run(kosli, slack, database_url, body) == ["sent"]
    keys = [m["metadata"]["event_payload"]["key"] for m in top_level(slack)]
    assert keys == ["C0INCIDENT/aws-prod/change/178", "C0INCIDENT/aws-prod/change/178/2"]

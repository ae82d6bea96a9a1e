"""The watcher against the sandbox Kosli and the fake Slack, over real HTTP and a real database."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import aiohttp
import httpx
import pytest
from freezegun import freeze_time
from prometheus_client import REGISTRY
from sqlalchemy import insert, text

from bot.domain.commands import Mute, Unmute, Watch
from bot.runtime import Runtime
from bot.sandbox import KosliSandbox, RunningArtifact, cest
from bot.store.database import make_engine
from bot.store.migrate import migrate
from bot.transport.slack import METADATA_EVENT
from testkit.fakes.slack import FakeSlack
from testkit.seed import SANDBOX_TOKEN, SEED_NOW, settings_for
from testkit.story import SEED_ALERTS, report_with
from tests.db import outbox_rows
from tests.golden import assert_golden
from tests.store.examples import NOW
from tests.store.test_migrations import ASK, OLD_ALERTS, OLD_INCIDENTS, old_alert

PROD_170 = cest("2022-09-06 15:28:00")  # aws-prod#170 is the newest snapshot then
BETA_189 = cest("2022-09-06 16:00:00")
CHANNEL = "C0INCIDENT"
OTHER = "C0PLATFORM"
RETRY_AT_ONCE = {"Retry-After": "0"}


class Clock:
    """What Kosli has seen so far: the sandbox hides snapshots after `now`."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


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


def run(
    kosli: KosliSandbox, slack: FakeSlack, url: str, body: Callable[[Runtime], Awaitable[Any]]
) -> Any:
    """Build the bot's real runtime (clients, migrated store, watcher), run `body` in one loop."""

    async def main() -> Any:
        runtime = Runtime.build(settings_for(kosli, slack, url))
        async with runtime.running(watch=False):
            return await body(runtime)

    return asyncio.run(main())


async def watch(runtime: Runtime, *envs: str, channel: str = CHANNEL, risky: bool = False):
    return await runtime.services.subscriptions.watch(Watch(envs, risky), channel, "U0ONCALL")


def top_level(slack: FakeSlack, channel: str = CHANNEL) -> list[dict[str, Any]]:
    """The alerts themselves, without the commits replied under them."""
    return [m for m in slack.posted(channel) if not m["thread_ts"]]


def alert_calls(slack: FakeSlack) -> list[dict[str, Any]]:
    """chat.postMessage calls of alerts, not of the commits replied under them."""
    return [c for c in slack.api_calls("chat.postMessage") if not c.get("thread_ts")]


def texts(slack: FakeSlack, channel: str = CHANNEL) -> list[str]:
    return [m["text"] for m in top_level(slack, channel)]


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
    the runtime gives it one for as long as it runs, and closes it."""
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
    assert len(opened) == 1 and opened[0].closed


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


def test_replaced_and_scaled_and_no_claim_about_deployments(
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
    assert alert["text"] == "aws-prod#179: 1 replaced, 1 started, 1 scaled"
    blocks = str(alert["blocks"])
    assert "deploy" not in blocks.lower()
    compare = f"https://github.com/cyber-dojo/runner/compare/{'a' * 40}...{'b' * 40}|compare"
    assert compare in blocks
    assert "1 → 3 instances" in blocks
    assert_golden("alert_replaced_scaled", alert["blocks"])


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


def test_kosli_faults_never_become_false_alerts(
    kosli: KosliSandbox, slack: FakeSlack, clock: Clock, sqlite_url: str
) -> None:
    async def body(runtime: Runtime) -> list[int]:
        await watch(runtime, "aws-prod")
        clock.now = SEED_NOW
        seen = []
        for fault in (
            dict(status=500, headers=RETRY_AT_ONCE, times=3),
            dict(status=200, body="<html>maintenance</html>"),
            dict(status=200, body='[{"index": 177}]'),  # a summary without its times
        ):
            kosli.fail_next(**fault)
            await runtime.watcher.run_cycle()
            seen.append((await runtime.store.environments.state("aws-prod")).last_seen_index)
        await runtime.watcher.run_cycle()
        seen.append((await runtime.store.environments.state("aws-prod")).last_seen_index)
        return seen

    assert run(kosli, slack, sqlite_url, body) == [170, 170, 170, 177]
    # Three failed polls in a row are an outage (said once, and its end); no change was invented.
    assert texts(slack) == [
        "Kosli is not answering for aws-prod",
        "Kosli is back for aws-prod",
        *SEED_ALERTS,
    ]


def test_a_malformed_snapshot_mid_catch_up_resumes_where_it_stopped(
    kosli: KosliSandbox, slack: FakeSlack, clock: Clock, sqlite_url: str
) -> None:
    garbled = '{"index": 173, "timestamp": 1662472408.6, "artifacts": [{"fingerprint": "x"}]}'

    async def body(runtime: Runtime) -> list[int]:
        await watch(runtime, "aws-prod")
        clock.now = SEED_NOW
        kosli.fail_next(200, body=garbled, only="/aws-prod/%23173")
        await runtime.watcher.run_cycle()
        stopped_at = (await runtime.store.environments.state("aws-prod")).last_seen_index
        await runtime.watcher.run_cycle()
        return [stopped_at, (await runtime.store.environments.state("aws-prod")).last_seen_index]

    assert run(kosli, slack, sqlite_url, body) == [172, 177]
    assert [t.split(":")[0] for t in texts(slack)] == [f"aws-prod#{i}" for i in range(171, 178)]


def test_an_outage_is_reported_once_and_its_end_too(
    kosli: KosliSandbox, slack: FakeSlack, clock: Clock, sqlite_url: str
) -> None:
    async def body(runtime: Runtime) -> None:
        await watch(runtime, "aws-prod")
        kosli.fail_next(503, headers=RETRY_AT_ONCE, times=3 * 5)
        for _ in range(5):
            await runtime.watcher.run_cycle()
        await runtime.watcher.run_cycle()

    run(kosli, slack, sqlite_url, body)
    assert texts(slack) == ["Kosli is not answering for aws-prod", "Kosli is back for aws-prod"]
    assert_golden("alert_outage", top_level(slack)[0]["blocks"])


def test_slack_rate_limit_is_retried_and_other_channels_go_on(
    kosli: KosliSandbox, slack: FakeSlack, clock: Clock, sqlite_url: str
) -> None:
    limited = {"ok": False, "error": "ratelimited"}
    slack.fail_next("/api/chat.postMessage", 429, limited, RETRY_AT_ONCE)

    async def body(runtime: Runtime) -> None:
        await watch(runtime, "aws-prod")
        clock.now = cest("2022-09-06 15:29:00")  # one new snapshot: #171
        await runtime.watcher.run_cycle()

    run(kosli, slack, sqlite_url, body)
    assert texts(slack) == ["aws-prod#171: 1 replaced"]
    assert len(alert_calls(slack)) == 2  # the 429, then the retry


def test_rate_limited_beyond_retries_waits_for_the_next_cycle(
    kosli: KosliSandbox, slack: FakeSlack, clock: Clock, sqlite_url: str
) -> None:
    async def body(runtime: Runtime) -> None:
        await watch(runtime, "aws-prod")
        await watch(runtime, "aws-prod", channel=OTHER)
        clock.now = cest("2022-09-06 15:29:00")
        # More 429s than the retry handler takes in all of the cycle's sends.
        slack.rate_limited[CHANNEL] = 100
        await runtime.watcher.run_cycle()
        assert (texts(slack, CHANNEL), len(texts(slack, OTHER))) == ([], 1)
        slack.rate_limited[CHANNEL] = 0
        await runtime.watcher.run_cycle()

    run(kosli, slack, sqlite_url, body)
    assert texts(slack, CHANNEL) == texts(slack, OTHER) == ["aws-prod#171: 1 replaced"]


def test_a_channel_that_removed_the_bot_is_paused_and_told_once(
    kosli: KosliSandbox, slack: FakeSlack, clock: Clock, sqlite_url: str
) -> None:
    slack.closed[CHANNEL] = "not_in_channel"

    async def body(runtime: Runtime) -> list[str]:
        await watch(runtime, "aws-prod")
        clock.now = SEED_NOW
        await runtime.watcher.run_cycle()
        await runtime.watcher.run_cycle()
        return [
            s.paused_reason or "" for s in await runtime.store.subscriptions.find(channel=CHANNEL)
        ]

    assert run(kosli, slack, sqlite_url, body) == ["not_in_channel"]
    attempts = [c for c in alert_calls(slack) if c["channel"] == CHANNEL]
    assert len(attempts) == 1
    (dm,) = slack.posted("U0ONCALL")
    assert dm["text"] == "Paused alerts for aws-prod"
    assert "so I paused watching `aws-prod` there" in str(dm["blocks"])


def test_a_poison_alert_goes_as_plain_text_and_blocks_nothing(
    kosli: KosliSandbox, slack: FakeSlack, clock: Clock, sqlite_url: str
) -> None:
    slack.refuse_blocks[CHANNEL] = "invalid_blocks"
    sample = ("kosli_bot_alerts_as_text_total", {"reason": "invalid_blocks"})
    as_text_before = REGISTRY.get_sample_value(*sample) or 0.0

    async def body(runtime: Runtime) -> list[str]:
        await watch(runtime, "aws-prod")
        clock.now = cest("2022-09-06 15:29:00")  # #171 arrives: Slack refuses its blocks
        await runtime.watcher.run_cycle()
        del slack.refuse_blocks[CHANNEL]
        clock.now = SEED_NOW  # #172-#177 arrive: they go as usual
        await runtime.watcher.run_cycle()
        return [a.state for a in outbox_rows(runtime.store)]

    assert run(kosli, slack, sqlite_url, body) == ["sent"] * 7
    posted = top_level(slack)
    assert posted[0]["text"] == (
        "aws-prod#171: 1 replaced. Slack refused the full alert (invalid_blocks): "
        "ask `/kosli diff aws-prod#171`."
    )
    assert not posted[0]["blocks"]
    assert texts(slack)[1:] == SEED_ALERTS[1:]
    # The alert, and the commits replied under it while the channel still refused blocks.
    assert REGISTRY.get_sample_value(*sample) == as_text_before + 2


def test_an_alert_that_keeps_failing_goes_as_plain_text_after_five_tries(
    kosli: KosliSandbox, slack: FakeSlack, clock: Clock, sqlite_url: str
) -> None:
    slack.refuse_blocks[CHANNEL] = "fatal_error"  # not about the message: worth retrying

    async def body(runtime: Runtime) -> list[int]:
        await watch(runtime, "aws-prod")
        clock.now = cest("2022-09-06 15:29:00")
        posted = []
        for _ in range(5):
            await runtime.watcher.run_cycle()
            posted.append(len(top_level(slack)))
        return posted

    assert run(kosli, slack, sqlite_url, body) == [0, 0, 0, 0, 1]
    assert texts(slack) == [
        "aws-prod#171: 1 replaced. Slack refused the full alert (fatal_error): "
        "ask `/kosli diff aws-prod#171`."
    ]


def parked(reason: str) -> float:
    return REGISTRY.get_sample_value("kosli_bot_alerts_parked_total", {"reason": reason}) or 0.0


def test_an_alert_refused_even_as_text_is_parked_and_the_channel_told(
    kosli: KosliSandbox, slack: FakeSlack, clock: Clock, sqlite_url: str
) -> None:
    slack.refuse_blocks[CHANNEL] = "msg_too_long"
    slack.refuse_text.add("aws-prod#171: 1 replaced")  # not even its plain-text gist
    parked_before = parked("msg_too_long")

    async def body(runtime: Runtime) -> list[str]:
        await watch(runtime, "aws-prod")
        clock.now = cest("2022-09-06 15:29:00")
        await runtime.watcher.run_cycle()
        del slack.refuse_blocks[CHANNEL]
        clock.now = SEED_NOW
        await runtime.watcher.run_cycle()
        await runtime.watcher.run_cycle()  # the parked one is not tried again
        return [a.state for a in outbox_rows(runtime.store)]

    assert run(kosli, slack, sqlite_url, body) == ["parked"] + ["sent"] * 6
    assert parked("msg_too_long") == parked_before + 1  # counted for whoever runs the bot
    assert texts(slack)[0] == (
        ":warning: An alert for aws-prod#171 could not be posted (Slack said msg_too_long); "
        "it is set aside and later alerts follow."
    )
    assert texts(slack)[1:] == SEED_ALERTS[1:]


def test_a_restart_between_send_and_mark_does_not_post_twice(
    kosli: KosliSandbox, slack: FakeSlack, clock: Clock, database_url: str
) -> None:
    def die_before_marking(*args: Any) -> None:
        """The process stops right after Slack said ok: the alert stays claimed as 'sending'."""

    with freeze_time("2026-11-25 10:00:00", real_asyncio=True) as frozen:

        async def first_life(runtime: Runtime) -> None:
            await watch(runtime, "aws-prod")
            clock.now = cest("2022-09-06 15:29:00")
            runtime.store.mark_sent = die_before_marking  # type: ignore[method-assign]
            await runtime.watcher.run_cycle()

        run(kosli, slack, database_url, first_life)
        assert texts(slack) == ["aws-prod#171: 1 replaced"]
        frozen.tick(timedelta(minutes=3))  # the dead process's claim expires

        async def second_life(runtime: Runtime) -> list[str]:
            await runtime.watcher.run_cycle()
            return [a.state for a in outbox_rows(runtime.store)]

        assert run(kosli, slack, database_url, second_life) == ["sent"]
    assert texts(slack) == ["aws-prod#171: 1 replaced"]


def posted_by_an_old_replica(slack: FakeSlack, key: str, thread_ts: str | None, parts: int) -> str:
    """Post as a replica did before migration 0007, each part marked with the key of then;
    return the first part's ts."""
    keys = [key] + [f"{key}/{number}" for number in range(2, parts + 1)]
    posted = [
        httpx.post(
            f"{slack.api_url}chat.postMessage",
            json={
                "channel": "C1",
                "thread_ts": thread_ts,
                "text": key,
                "metadata": {"event_type": METADATA_EVENT, "event_payload": {"key": part}},
            },
        ).json()["ts"]
        for part in keys
    ]
    return str(posted[0])


def test_an_alert_caught_sending_by_the_upgrade_to_0007_is_not_posted_twice(
    kosli: KosliSandbox, slack: FakeSlack, database_url: str
) -> None:
    """An old replica posted an incident thread's change and the commits under an alert, and
    died before marking them sent; the upgraded sender finds them under the old markers."""
    engine = make_engine(database_url)
    try:
        migrate(engine, "0006_alert_bisect")
        incident = {"channel_id": "C1", "thread_ts": "7.7", "opened_by": "U1", "state": "open",
                    "envs": ["prod"], "start_indexes": {"prod": 3}, "shown_indexes": {"prod": 9},
                    "window_start": NOW, "opened_at": NOW}  # fmt: skip
        with engine.begin() as connection:
            seven = connection.execute(
                insert(OLD_INCIDENTS).returning(text("id")), [incident]
            ).scalar()
            change = posted_by_an_old_replica(slack, "C1/prod/change/11", None, parts=1)
            in_thread = posted_by_an_old_replica(
                slack, f"C1/prod/thread/{seven}/11", "7.7", parts=1
            )
            commits = posted_by_an_old_replica(slack, "C1/prod/bisect/11", change, parts=2)
            # Claimed by the dead replica until long ago: the new sender takes them over.
            claim = {"attempts": 1, "claimed_by": "old-replica", "claimed_until": NOW}
            under_change = {"thread_ts": change, "bisect": [ASK | {"label": "creator"}]}
            two_parts = [{"n": n} for n in range(60)]
            rows = [
                old_alert("change", 11, "sent", slack_ts=change),
                old_alert(f"thread/{seven}", 11, "sending", thread_ts="7.7", **claim),
                old_alert("bisect", 11, "sending", blocks=two_parts, **under_change, **claim),
            ]
            connection.execute(insert(OLD_ALERTS), rows)
    finally:
        engine.dispose()
    posts = len(slack.api_calls("chat.postMessage"))

    async def upgraded(runtime: Runtime) -> list[tuple[str, str | None]]:
        await runtime.watcher.run_cycle()
        return [(a.state, a.slack_ts) for a in outbox_rows(runtime.store, commits=True)]

    sent = run(kosli, slack, database_url, upgraded)
    assert sent == [("sent", change), ("sent", in_thread), ("sent", commits)]
    assert len(slack.api_calls("chat.postMessage")) == posts  # nothing posted twice


def test_mute_holds_alerts_and_summarises_them_when_it_ends(
    kosli: KosliSandbox, slack: FakeSlack, clock: Clock, sqlite_url: str
) -> None:
    with freeze_time("2026-11-25 10:00:00", real_asyncio=True) as frozen:

        async def body(runtime: Runtime) -> None:
            await watch(runtime, "aws-prod")
            subscriptions = runtime.services.subscriptions
            await subscriptions.mute(Mute("aws-prod", timedelta(minutes=30)), CHANNEL, "U1")
            clock.now = SEED_NOW
            await runtime.watcher.run_cycle()
            assert top_level(slack) == []
            frozen.tick(timedelta(minutes=31))
            await runtime.watcher.run_cycle()

        run(kosli, slack, sqlite_url, body)
    (summary,) = top_level(slack)
    assert summary["text"] == "aws-prod: mute ended, 7 alerts while muted"
    assert "*#177* aws-prod#177: 1 replaced" in str(summary["blocks"])
    assert_golden("alert_mute_summary", summary["blocks"])


def test_unmute_releases_at_once(
    kosli: KosliSandbox, slack: FakeSlack, clock: Clock, sqlite_url: str
) -> None:
    async def body(runtime: Runtime) -> Any:
        await watch(runtime, "aws-prod")
        subscriptions = runtime.services.subscriptions
        await subscriptions.mute(Mute("aws-prod", timedelta(hours=2)), CHANNEL, "U1")
        clock.now = cest("2022-09-06 15:29:00")
        await runtime.watcher.run_cycle()
        result = await subscriptions.unmute(Unmute("aws-prod"), CHANNEL, "U1")
        await runtime.watcher.run_cycle()
        clock.now = cest("2022-09-06 15:53:00")
        await runtime.watcher.run_cycle()
        return result

    assert run(kosli, slack, sqlite_url, body).released == 1
    assert texts(slack) == ["aws-prod: mute ended, 1 alerts while muted", "aws-prod#172: 1 started"]


def test_two_schedulers_on_one_database_post_each_alert_once(
    kosli: KosliSandbox, slack: FakeSlack, clock: Clock, database_url: str
) -> None:
    """Two replicas, each in its own thread and event loop, racing over the same rows:
    every alert is posted once, and each channel gets them in order."""

    async def subscribe(runtime: Runtime) -> None:
        await watch(runtime, "aws-prod")
        await watch(runtime, "aws-prod", channel=OTHER)

    run(kosli, slack, database_url, subscribe)
    clock.now = SEED_NOW
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    async def replica(runtime: Runtime) -> None:
        start.wait(timeout=10)
        for _ in range(3):
            await runtime.watcher.run_cycle()

    def in_thread() -> None:
        try:
            run(kosli, slack, database_url, replica)
        except BaseException as error:  # surfaced by the assertion below
            failures.append(error)

    threads = [threading.Thread(target=in_thread) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []

    async def next_cycle(runtime: Runtime) -> None:  # whatever came after a replica's last send
        await runtime.watcher.run_cycle()

    run(kosli, slack, database_url, next_cycle)
    assert texts(slack, CHANNEL) == texts(slack, OTHER) == SEED_ALERTS
    assert len(alert_calls(slack)) == 14


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

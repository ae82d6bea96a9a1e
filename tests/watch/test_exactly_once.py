"""Every alert once and each channel's in order: across a restart, two replicas, and sends that
start while the cycle still polls."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
from freezegun import freeze_time
from sqlalchemy import insert, text
from sqlalchemy.exc import OperationalError

from bot.runtime import Runtime
from bot.sandbox import KosliSandbox, cest
from bot.store.database import make_engine
from bot.store.migrate import migrate
from bot.transport.slack import METADATA_EVENT
from testkit.fakes.slack import FakeSlack
from testkit.seed import SEED_NOW, settings_for
from testkit.story import SEED_ALERTS
from tests.db import outbox_rows
from tests.store.examples import NOW, alert
from tests.store.test_migrations import ASK, OLD_ALERTS, OLD_INCIDENTS, old_alert
from tests.watch.helpers import (
    BETA_189,
    CHANNEL,
    OTHER,
    PROD_170,
    Clock,
    alert_calls,
    run,
    texts,
    watch,
)


def test_a_restart_between_send_and_mark_does_not_post_twice(
    kosli: KosliSandbox, slack: FakeSlack, clock: Clock, database_url: str
) -> None:
    async def die_before_marking(*args: Any) -> None:
        """The process stops right after Slack said ok: the alert stays claimed as 'sending'."""

    with freeze_time("2026-11-25 10:00:00", real_asyncio=True) as frozen:

        async def first_life(runtime: Runtime) -> None:
            await watch(runtime, "aws-prod")
            clock.now = cest("2022-09-06 15:29:00")
            runtime.store.outbox.mark_sent = die_before_marking  # type: ignore[method-assign]
            await runtime.watcher.run_cycle()

        run(kosli, slack, database_url, first_life)
        assert texts(slack) == ["aws-prod#171: 1 replaced"]
        frozen.tick(timedelta(minutes=3))  # the dead process's claim expires

        async def second_life(runtime: Runtime) -> list[str]:
            await runtime.watcher.run_cycle()
            return [a.state for a in outbox_rows(runtime.store)]

        assert run(kosli, slack, database_url, second_life) == ["sent"]
    assert texts(slack) == ["aws-prod#171: 1 replaced"]


def test_an_alert_the_database_could_not_take_back_is_sent_by_a_later_turn(
    kosli: KosliSandbox, slack: FakeSlack, clock: Clock, database_url: str
) -> None:
    """Slack refuses a send and the database is restarting as the sender puts the alert back:
    it stays claimed by this process, whose heartbeat keeps the claim alive, so no replica
    ever takes it over. The process's next turn must."""

    async def restarting(*args: Any) -> None:
        raise OperationalError("UPDATE alerts", {}, Exception("connection refused"))

    async def body(runtime: Runtime) -> list[str]:
        await watch(runtime, "aws-prod")
        clock.now = cest("2022-09-06 15:29:00")
        slack.rate_limited[CHANNEL] = 4  # beyond slack_sdk's 3 retries: this send fails
        put_back = runtime.store.outbox.unclaim
        runtime.store.outbox.unclaim = restarting  # type: ignore[method-assign]
        await runtime.watcher.run_cycle()
        runtime.store.outbox.unclaim = put_back  # type: ignore[method-assign]
        for _ in range(2):
            await runtime.watcher.renew_leases()
            await runtime.watcher.run_cycle()
        return [a.state for a in outbox_rows(runtime.store)]

    assert run(kosli, slack, database_url, body) == ["sent"]
    assert texts(slack) == ["aws-prod#171: 1 replaced"]


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


@asynccontextmanager
async def a_cycle_waiting_on_beta(
    runtime: Runtime, kosli: KosliSandbox, slack: FakeSlack, clock: Clock
) -> AsyncIterator[asyncio.Task[None]]:
    """aws-prod watched from #170, aws-beta from #189; a cycle running, aws-prod's alerts in
    Slack while Kosli holds aws-beta's first answer. At the end Kosli answers, and the cycle
    is awaited."""
    beta_answers = threading.Event()
    await watch(runtime, "aws-prod")
    clock.now = BETA_189
    await watch(runtime, "aws-beta", channel=OTHER)
    clock.now = SEED_NOW
    kosli.held["/aws-beta"] = beta_answers
    cycle = asyncio.create_task(runtime.watcher.run_cycle())
    try:
        await asyncio.to_thread(slack.wait_for, "/api/chat.postMessage", len(SEED_ALERTS))
        yield cycle
    finally:
        beta_answers.set()
    await cycle


def test_an_environment_is_alerted_while_another_is_still_being_polled(
    kosli: KosliSandbox, slack: FakeSlack, clock: Clock, sqlite_url: str
) -> None:
    """A cycle sends an environment's alerts once it is polled, not after the last poll; the
    polls after it still alert once each, in order. The sender takes its turn once for the
    whole cycle, not again for each environment's alerts."""
    turns: list[str] = []

    async def body(runtime: Runtime) -> None:
        take = runtime.store.leases.take

        async def counted(name: str, *args: Any) -> bool:
            turns.append(name)
            return await take(name, *args)

        runtime.store.leases.take = counted  # type: ignore[method-assign]
        async with a_cycle_waiting_on_beta(runtime, kosli, slack, clock) as cycle:
            beta_asked = [path for _, path in kosli.requests if "/aws-beta" in path]
            assert beta_asked and not cycle.done()
            assert texts(slack, OTHER) == []

    run(kosli, slack, sqlite_url, body)
    assert texts(slack) == SEED_ALERTS
    assert texts(slack, OTHER) == [
        "aws-beta#190: 1 rogue, 1 non-compliant, 1 started, now non-compliant"
    ]
    assert turns.count("sender") == 1, turns


THIRD = "C0THIRD"


def test_a_replica_holding_the_turn_through_its_polls_sends_what_another_queued(
    kosli: KosliSandbox, slack: FakeSlack, clock: Clock, sqlite_url: str
) -> None:
    """Replica A holds the sender's turn while Kosli keeps it waiting on aws-beta; replica B
    polls a third environment meanwhile and cannot send. A sends B's alerts before its own
    polls end."""
    kosli.dataset.copy_environment("aws-prod", ["aws-prod-copy"])

    async def body(runtime: Runtime) -> None:
        runtime.watcher.settings.look_while_polling = 0.05
        async with a_cycle_waiting_on_beta(runtime, kosli, slack, clock) as cycle:
            clock.now = PROD_170
            await watch(runtime, "aws-prod-copy", channel=THIRD)  # from #170, as aws-prod
            clock.now = SEED_NOW
            other = Runtime.build(settings_for(kosli, slack, sqlite_url))
            async with other.running(watch=False):
                await other.watcher.run_cycle()  # polls aws-prod-copy; the turn is taken
            await asyncio.to_thread(slack.wait_for, "/api/chat.postMessage", 2 * len(SEED_ALERTS))
            assert not cycle.done()

    run(kosli, slack, sqlite_url, body)
    assert texts(slack) == SEED_ALERTS
    assert [t.replace("aws-prod-copy", "aws-prod") for t in texts(slack, THIRD)] == SEED_ALERTS
    assert len(texts(slack, OTHER)) == 1


def test_send_queued_returns_once_its_round_is_sent_though_the_cycle_still_polls(
    kosli: KosliSandbox, slack: FakeSlack, clock: Clock, sqlite_url: str
) -> None:
    """The sender keeps its turn while the cycle polls; a caller of `send_queued` (an
    incident thread's replies) waits for its own round, not for the polls to end."""

    async def body(runtime: Runtime) -> None:
        async with a_cycle_waiting_on_beta(runtime, kosli, slack, clock) as cycle:
            await runtime.store.outbox.add([alert(1, THIRD, text="a reply", blocks=[])], NOW)
            await asyncio.wait_for(runtime.watcher.send_queued(), 10)
            assert [m["text"] for m in slack.posted(THIRD)] == ["a reply"]
            assert not cycle.done()  # still waiting for Kosli's aws-beta

    run(kosli, slack, sqlite_url, body)
    assert texts(slack) == SEED_ALERTS
    assert len(texts(slack, OTHER)) == 1


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

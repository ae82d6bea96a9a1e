"""The snapshot each environment was caught up to is kept for its next change, so a change
costs one snapshot call, not two; bounded by the artifacts held."""

from __future__ import annotations

import asyncio
import re
import threading
from datetime import UTC, datetime

from bot.kosli.models import Snapshot, SnapshotArtifact
from bot.runtime import Runtime
from bot.sandbox import KosliSandbox
from bot.watch.last_seen import LastSeen
from testkit.fakes.slack import FakeSlack
from testkit.seed import SEED_NOW
from testkit.story import SEED_ALERTS
from tests.watch.helpers import Clock, run, texts, watch

SNAPSHOT_CALL = re.compile(r"/api/v2/snapshots/[^/]+/aws-prod/%23(\d+)$")  # aws-prod#N


def snapshot(env: str, index: int, artifacts: int) -> Snapshot:
    one = SnapshotArtifact.from_json(
        {"name": "web", "fingerprint": "f" * 64, "pipeline_name": "web", "instance_count": 1}
    )
    return Snapshot(env, index, datetime(2026, 11, 27, tzinfo=UTC), True, (one,) * artifacts)


def test_kept_under_its_number_only() -> None:
    seen = LastSeen()
    seen.keep(snapshot("prod", 7, 2))
    assert seen.get("prod", 7) == snapshot("prod", 7, 2)
    assert seen.get("prod", 6) is None  # another replica moved the mark: fetched again
    assert seen.get("beta", 7) is None


def test_bounded_by_artifacts_oldest_kept_forgotten_first() -> None:
    seen = LastSeen(max_artifacts=10)
    seen.keep(snapshot("a", 1, 4))
    seen.keep(snapshot("b", 1, 4))
    seen.keep(snapshot("a", 2, 4))  # replaces a#1: 8 held
    assert seen.get("a", 2) is not None and seen.get("b", 1) is not None
    seen.keep(snapshot("c", 1, 4))  # 12 > 10: b, kept longest ago, goes
    assert seen.get("b", 1) is None
    assert seen.get("a", 2) is not None and seen.get("c", 1) is not None
    seen.keep(snapshot("huge", 1, 11))  # larger than the bound: not kept, nothing evicted
    assert seen.get("huge", 1) is None and seen.get("c", 1) is not None


def test_the_next_change_is_diffed_against_the_snapshot_kept(
    kosli: KosliSandbox, slack: FakeSlack, clock: Clock, sqlite_url: str
) -> None:
    async def body(runtime: Runtime) -> None:
        await watch(runtime, "aws-prod")
        clock.now = SEED_NOW
        await runtime.watcher.run_cycle()  # catches up 171 to 177, from 170
        prod = kosli.dataset.environment("aws-prod")
        assert prod is not None
        kosli.add_snapshot("aws-prod", SEED_NOW + 60, prod.snapshots[-1].running()[1:])
        clock.now = SEED_NOW + 90
        await runtime.watcher.run_cycle()

    run(kosli, slack, sqlite_url, body)
    fetched = [int(m[1]) for _, path in kosli.requests if (m := SNAPSHOT_CALL.search(path))]
    # Each once, 177 too, though #178 is diffed against it (read a few ahead: any order).
    assert sorted(fetched) == list(range(170, 179))
    assert texts(slack)[: len(SEED_ALERTS)] == SEED_ALERTS
    assert texts(slack)[len(SEED_ALERTS)].startswith("aws-prod#178: 1 ")


def test_after_start_up_the_snapshot_before_and_the_new_one_are_read_at_once(
    kosli: KosliSandbox, slack: FakeSlack, clock: Clock, sqlite_url: str
) -> None:
    async def caught_up(runtime: Runtime) -> None:
        await watch(runtime, "aws-prod")
        clock.now = SEED_NOW
        await runtime.watcher.run_cycle()  # up to 177, kept in this process only

    run(kosli, slack, sqlite_url, caught_up)
    prod = kosli.dataset.environment("aws-prod")
    assert prod is not None
    kosli.add_snapshot("aws-prod", SEED_NOW + 60, prod.snapshots[-1].running()[1:])
    clock.now = SEED_NOW + 90
    before = len(kosli.requests)
    kosli.held["/aws-prod/%23177"] = the_one_before = threading.Event()

    def asked(index: int) -> bool:
        return any(path.endswith(f"/aws-prod/%23{index}") for _, path in kosli.requests[before:])

    async def restarted(runtime: Runtime) -> None:  # nothing kept: #177 is read again
        cycle = asyncio.create_task(runtime.watcher.run_cycle())
        try:
            async with asyncio.timeout(10):  # #178 is asked for while #177 has not answered
                while not asked(178):
                    await asyncio.sleep(0.01)
        finally:
            the_one_before.set()
        await cycle

    run(kosli, slack, sqlite_url, restarted)
    assert asked(177)
    assert texts(slack)[len(SEED_ALERTS)].startswith("aws-prod#178: 1 ")

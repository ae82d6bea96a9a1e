"""Catch-up and incident timelines through Kosli's event log (acme, today's shapes): the same
alerts and change sets as reading every snapshot, from fewer full snapshots. The 404 path
(2022-era data) is the same story with the event log refused."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot.domain.changes import Kind
from bot.domain.commands import Window
from bot.domain.timeline import Timeline
from bot.render.changes import render_alert
from bot.runtime import Runtime
from bot.sandbox import ACME_NOW, KosliSandbox, RunningArtifact
from testkit.fakes.slack import FakeSlack
from tests.conftest import SANDBOX_TOKEN, settings_for
from tests.watch.helpers import Clock, top_level, watch

START = 4363  # prod's newest snapshot at ACME_NOW: the watch baseline


@pytest.fixture
def clock() -> Clock:
    return Clock(ACME_NOW)


@pytest.fixture
def kosli(clock: Clock) -> Iterator[KosliSandbox]:
    with KosliSandbox(org="acme", token=SANDBOX_TOKEN, now=clock) as sandbox:
        yield sandbox


def running(kosli: KosliSandbox) -> list[RunningArtifact]:
    prod = kosli.dataset.environment("prod")
    assert prod is not None
    return prod.snapshots[-1].running()


def restart(kosli: KosliSandbox, at: float, service: str) -> None:
    """`service`'s instances replaced by new ones of the same build: Kosli's `changed`."""
    now = [replace(a, started_at=at - 5) if service in a.name else a for a in running(kosli)]
    kosli.add_snapshot("prod", at, now)


def tell_a_day(kosli: KosliSandbox) -> float:
    """After START: restarts around a replaced build and an in-place compliance flip."""
    at = ACME_NOW + 600
    restart(kosli, at, "payments")
    restart(kosli, at + 60, "web:")
    old = next(a for a in running(kosli) if "/ledger:" in a.name)
    new = replace(old, name=old.name.replace("81bd004", "9e9e9e9"), fingerprint="9" * 64)
    new = replace(new, git_commit="9e9e9e9" + "0" * 33, started_at=at + 110)
    kosli.add_snapshot("prod", at + 120, [*running(kosli), new])  # the rolling deploy begins
    kosli.add_snapshot("prod", at + 180, [a for a in running(kosli) if a is not old and
                                           a.fingerprint != old.fingerprint])  # fmt: skip
    restart(kosli, at + 240, "payments")
    restart(kosli, at + 300, "web:")
    flipped = [replace(a, compliant=False) if "/web:" in a.name else a for a in running(kosli)]
    kosli.add_snapshot("prod", at + 360, flipped)  # web loses its compliance, still running
    restart(kosli, at + 420, "payments")
    return at + 480


def snapshot_reads(kosli: KosliSandbox) -> list[str]:
    return [p for _, p in kosli.requests if "/snapshots/acme/prod/" in p]


def catch_up(
    kosli: KosliSandbox, slack: FakeSlack, clock: Clock, db: Path, event_log: bool
) -> tuple[list[dict[str, Any]], list[str], int]:
    """Watch prod at START, tell the day, catch up once: (alerts, snapshots read, mark)."""
    settings = settings_for(kosli, slack, f"sqlite:///{db}", kosli_org="acme")
    before = len(top_level(slack))

    async def main() -> int:
        runtime = Runtime.build(settings)
        async with runtime.running(watch=False):
            await watch(runtime, "prod")
            clock.now = tell_a_day(kosli)
            kosli.requests.clear()
            if not event_log:
                kosli.fail_next(404, only="/events", times=100)
            await runtime.watcher.run_cycle()
            state = await runtime.store.environments.state("prod")
            assert state is not None
            return state.last_seen_index

    mark = asyncio.run(main())
    return top_level(slack)[before:], snapshot_reads(kosli), mark


def test_catch_up_reads_fewer_snapshots_with_the_event_log_and_alerts_the_same(
    clock: Clock, slack: FakeSlack, tmp_path: Path
) -> None:
    found = {}
    for event_log in (False, True):
        with KosliSandbox(org="acme", token=SANDBOX_TOKEN, now=clock) as kosli:
            clock.now = ACME_NOW
            found[event_log] = catch_up(
                kosli, slack, clock, tmp_path / f"{event_log}.db", event_log
            )
            events_asked = [p for _, p in kosli.requests if p.startswith("/api/v2/environments/")]
    (plain, plain_reads, plain_mark), (logged, logged_reads, logged_mark) = (
        found[False],
        found[True],
    )
    assert [a["text"] for a in logged] == [
        "prod#4366: 1 started",
        "prod#4367: 1 replaced",
        "prod#4370: 1 non-compliant, now non-compliant",
    ]
    assert [(a["text"], a["blocks"]) for a in logged] == [(a["text"], a["blocks"]) for a in plain]
    assert plain_mark == logged_mark == START + 8  # restarts at the end still move the mark
    # Every snapshot (and the baseline) without the event log; with it, the baseline and the
    # two sides of the deploy and of the flip: #4365-#4367 and #4369-#4370.
    assert len(plain_reads) == 9
    assert sorted(logged_reads) == sorted(
        f"/api/v2/snapshots/acme/prod/%23{i}" for i in (START, 4365, 4366, 4367, 4369, 4370)
    )
    assert len(events_asked) == 1  # one page of events


def timeline_of(
    kosli: KosliSandbox, slack: FakeSlack, db: Path, limit: int | None = 40
) -> Timeline:
    """prod's incident timeline since #4352, as a thread would open it."""
    settings = settings_for(kosli, slack, f"sqlite:///{db}", kosli_org="acme")

    async def main() -> Timeline:
        runtime = Runtime.build(settings)
        async with runtime.running(watch=False):
            desk = runtime.services.incidents
            return await desk.timeline("prod", Window(since_index=4352), desk.clock(), limit)

    return asyncio.run(main())


def test_incident_timeline_matches_the_snapshot_path_with_fewer_reads(
    clock: Clock, slack: FakeSlack, tmp_path: Path
) -> None:
    found = {}
    for event_log in (False, True):
        with KosliSandbox(org="acme", token=SANDBOX_TOKEN, now=clock) as kosli:
            clock.now = ACME_NOW
            clock.now = tell_a_day(kosli)
            if not event_log:
                kosli.fail_next(404, only="/events", times=100)
            timeline = timeline_of(kosli, slack, tmp_path / f"{event_log}.db")
            found[event_log] = (timeline, snapshot_reads(kosli))
    (plain, plain_reads), (logged, logged_reads) = found[False], found[True]
    # Every snapshot of the window changes something: acme's own story, then the day's.
    assert [c.after for c in logged.changesets] == [f"prod#{i}" for i in range(4353, 4372)]
    assert [render_alert(c, "/kosli") for c in logged.changesets] == [
        render_alert(c, "/kosli") for c in plain.changesets
    ]
    # A restart-only snapshot is told from its events and the build as last read (start
    # times unknown); every other change set is the snapshots' own.
    restarts_only = {  # ledger's at #4359, then the day's payments and web
        c.after for c in plain.changesets if {k.kind for k in c.changes} == {Kind.RESTARTED}
    }
    assert len(restarts_only) == 6
    for told, read in zip(logged.changesets, plain.changesets, strict=True):
        if told.after in restarts_only:
            assert (
                [c.kind for c in told.changes] == [c.kind for c in read.changes] == [Kind.RESTARTED]
            )
            assert told.changes[0].artifact.fingerprint == read.changes[0].artifact.fingerprint
            assert (told.before, told.at, told.compliance) == (read.before, read.at, None)
        else:
            assert told == read
    assert logged.builds == plain.builds
    assert (logged.latest, logged.skipped, plain.skipped) == (START + 8, 0, 0)
    assert len(plain_reads) == 1 + 19
    # Not read: #4364, #4368 and #4371, which hold only restarts.
    unread = {f"/api/v2/snapshots/acme/prod/%23{i}" for i in (4364, 4368, 4371)}
    assert sorted(logged_reads) == sorted(set(plain_reads) - unread)


def test_a_long_window_keeps_its_newest_changes_and_counts_the_rest(
    kosli: KosliSandbox, clock: Clock, slack: FakeSlack, tmp_path: Path
) -> None:
    clock.now = tell_a_day(kosli)
    timeline = timeline_of(kosli, slack, tmp_path / "bot.db", limit=2)
    # A restart is a change of the timeline too (one line): the two newest are shown.
    assert [c.after for c in timeline.changesets] == ["prod#4370", "prod#4371"]
    assert timeline.changesets[1].of(Kind.RESTARTED)
    assert timeline.skipped == 17


def test_a_failure_part_way_resumes_where_it_stopped_and_alerts_once(
    kosli: KosliSandbox, clock: Clock, slack: FakeSlack, tmp_path: Path
) -> None:
    settings = settings_for(kosli, slack, f"sqlite:///{tmp_path}/bot.db", kosli_org="acme")

    async def main() -> list[int]:
        runtime = Runtime.build(settings)
        marks = []
        async with runtime.running(watch=False):
            await watch(runtime, "prod")
            clock.now = tell_a_day(kosli)
            # #4370 (the flip) cannot be read in this cycle: Kosli fails it through the retries.
            kosli.fail_next(503, only="prod/%234370", times=3, headers={"Retry-After": "0"})
            for _ in range(2):
                await runtime.watcher.run_cycle()
                state = await runtime.store.environments.state("prod")
                assert state is not None
                marks.append(state.last_seen_index)
        return marks

    # The first cycle stops after the deploy (#4367); the next one reads from there.
    assert asyncio.run(main()) == [4367, START + 8]
    assert [a["text"] for a in top_level(slack)] == [
        "prod#4366: 1 started",
        "prod#4367: 1 replaced",
        "prod#4370: 1 non-compliant, now non-compliant",
    ]


def test_an_event_log_that_fails_reads_snapshots_instead(
    kosli: KosliSandbox, clock: Clock, slack: FakeSlack, tmp_path: Path
) -> None:
    kosli.fail_next(503, only="/events", times=3, headers={"Retry-After": "0"})
    clock.now = tell_a_day(kosli)
    timeline = timeline_of(kosli, slack, tmp_path / "bot.db")
    assert [c.after for c in timeline.changesets] == [f"prod#{i}" for i in range(4353, 4372)]
    assert len(snapshot_reads(kosli)) == 1 + 19  # every snapshot of the window

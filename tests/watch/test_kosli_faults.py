"""The watcher when Kosli fails: no false alert, a resumed catch-up, an outage said once."""

from __future__ import annotations

from bot.runtime import Runtime
from bot.sandbox import KosliSandbox
from testkit.fakes.slack import FakeSlack
from testkit.seed import SEED_NOW
from testkit.story import SEED_ALERTS
from tests.golden import assert_golden
from tests.watch.helpers import (
    RETRY_AT_ONCE,
    Clock,
    run,
    texts,
    top_level,
    watch,
)


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

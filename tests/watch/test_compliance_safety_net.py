"""The safety net for compliance: a snapshot already read that Kosli later answers with another
compliance is read again and alerted once, in each direction; the poll costs no extra call
while nothing differs."""

from __future__ import annotations

from bot.runtime import Runtime
from bot.sandbox import KosliSandbox
from testkit.fakes.slack import FakeSlack
from testkit.seed import SEED_NOW
from testkit.story import SEED_ALERTS, judge_again
from tests.golden import assert_golden
from tests.watch.helpers import CHANNEL, OTHER, Clock, run, texts, top_level, watch


def test_a_snapshot_judged_again_is_alerted_once_each_way(
    kosli: KosliSandbox, slack: FakeSlack, clock: Clock, sqlite_url: str
) -> None:
    async def body(runtime: Runtime) -> list[int]:
        await watch(runtime, "aws-prod")
        await watch(runtime, "aws-prod", channel=OTHER, risky=True)
        clock.now = SEED_NOW
        await runtime.watcher.run_cycle()  # the seed story, up to #177 (compliant)
        requests = [len(kosli.requests)]
        await runtime.watcher.run_cycle()  # nothing new: one cheap call
        requests.append(len(kosli.requests))
        judge_again(kosli, "aws-prod", 177, "creator", compliant=False)
        await runtime.watcher.run_cycle()
        await runtime.watcher.run_cycle()  # the same answer again: no second alert
        requests.append(len(kosli.requests))
        judge_again(kosli, "aws-prod", 177, "creator", compliant=True)
        await runtime.watcher.run_cycle()
        await runtime.watcher.run_cycle()
        state = await runtime.store.environments.state("aws-prod")
        assert state is not None and state.last_seen_compliant is True
        return requests

    requests = run(kosli, slack, sqlite_url, body)
    # An unchanged poll asks once; the re-judged snapshot costs one read, once.
    assert requests[1] - requests[0] == 1
    assert requests[2] - requests[1] == 1 + 1 + 1
    judged = ["aws-prod#177: now non-compliant", "aws-prod#177: now compliant"]
    assert texts(slack) == [*SEED_ALERTS, *judged]
    # The channel that wants only trouble hears both: it heard the bad news.
    assert texts(slack, OTHER) == judged
    non_compliant, compliant = top_level(slack)[-2:]
    assert "artifact has no snyk-scan evidence" in str(non_compliant["blocks"])
    assert_golden("alert_judged_non_compliant", non_compliant["blocks"])
    assert_golden("alert_judged_compliant", compliant["blocks"])


def test_the_first_read_of_a_compliance_only_records_it(
    kosli: KosliSandbox, slack: FakeSlack, clock: Clock, sqlite_url: str
) -> None:
    """A row from before the safety net (or a baseline) knows no compliance: there is
    nothing to compare with, so the first poll records it without a word."""

    async def body(runtime: Runtime) -> tuple[bool | None, bool | None]:
        await runtime.store.subscriptions.subscribe(
            CHANNEL, "aws-prod", "U1", 170, runtime.watcher.clock()
        )
        before = await runtime.store.environments.state("aws-prod")
        await runtime.watcher.run_cycle()
        after = await runtime.store.environments.state("aws-prod")
        assert before is not None and after is not None
        return before.last_seen_compliant, after.last_seen_compliant

    assert run(kosli, slack, sqlite_url, body) == (None, True)
    assert texts(slack) == []

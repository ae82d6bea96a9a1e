"""The watcher when Slack fails: rate limits, a channel gone, alerts Slack will not take."""

from __future__ import annotations

from prometheus_client import REGISTRY

from bot.runtime import Runtime
from bot.sandbox import KosliSandbox, cest
from testkit.fakes.slack import FakeSlack
from testkit.seed import SEED_NOW
from testkit.story import SEED_ALERTS
from tests.db import outbox_rows
from tests.watch.helpers import (
    CHANNEL,
    OTHER,
    RETRY_AT_ONCE,
    Clock,
    alert_calls,
    run,
    texts,
    top_level,
    watch,
)


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


def test_a_rate_limit_longer_than_the_attempts_never_parks_an_alert(
    kosli: KosliSandbox, slack: FakeSlack, clock: Clock, sqlite_url: str
) -> None:
    """A 429 says "later", not "never": however many cycles a storm lasts, the alert waits
    and then goes whole, never as a plain-text gist, never parked."""

    async def body(runtime: Runtime) -> list[str]:
        await watch(runtime, "aws-prod")
        clock.now = cest("2022-09-06 15:29:00")
        slack.rate_limited[CHANNEL] = 10_000
        for _ in range(runtime.watcher.settings.max_attempts + 2):
            await runtime.watcher.run_cycle()
        slack.rate_limited[CHANNEL] = 0
        await runtime.watcher.run_cycle()
        return [a.state for a in outbox_rows(runtime.store)]

    assert run(kosli, slack, sqlite_url, body) == ["sent"]
    [alert] = top_level(slack)
    assert alert["text"] == "aws-prod#171: 1 replaced" and alert["blocks"]


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

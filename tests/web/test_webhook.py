"""Kosli Actions' webhook: a push makes the alert appear at once; a wrong secret, junk bodies
and other orgs are refused, and a burst of pushes polls once per new snapshot."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from bot.sandbox import KosliSandbox
from bot.web.webhook import Push, parse_push
from testkit.story import MINER, judge_again, report_with
from tests.conftest import Bot

SECRET = "kosli-webhook-secret-0123456789"


def push(
    env: str = "aws-prod",
    index: str = "178",
    org: str = "cyber-dojo",
    status: str = "non-compliant",
) -> dict[str, Any]:
    """Kosli's payload (numbers arrive as strings)."""
    return {
        "version": "1.0",
        "timestamp": "1662476128",
        "org": org,
        "environment": env,
        "event_type": "STARTED_ARTIFACT",
        "description": "1 instance started running (from 0 to 1)",
        "snapshot": {"index": index, "status": status},
        "artifact": {"name": "xmrig", "fingerprint": "f" * 64},
    }


def deliver(bot: Bot, body: Any, secret: str = SECRET, raw: bytes | None = None) -> httpx.Response:
    content = raw if raw is not None else json.dumps(body).encode()
    return httpx.post(f"{bot.url}/kosli/webhook/{secret}", content=content, timeout=10)


@pytest.fixture
def hooked(start_bot: Any) -> Bot:
    bot = start_bot(kosli_webhook_secret=SECRET)
    assert bot.ask("watch aws-prod", "watch")["text"].startswith("Watching aws-prod")
    return bot


def test_a_push_makes_the_alert_appear_without_waiting_for_a_poll(
    hooked: Bot, kosli: KosliSandbox
) -> None:
    report_with(kosli, MINER)
    answer = deliver(hooked, push())
    assert (answer.status_code, answer.json()) == (202, {"ok": True, "polled": True})
    (alert,) = hooked.slack.wait_for("/api/chat.postMessage")
    assert alert.body["text"] == "aws-prod#178: 1 rogue, now non-compliant"


def test_a_wrong_secret_is_a_404_that_does_no_work(hooked: Bot, kosli: KosliSandbox) -> None:
    asked = len(kosli.requests)
    for secret in ("wrong", SECRET + "x", SECRET[:-1], "../" + SECRET):
        assert deliver(hooked, push(), secret=secret).status_code == 404
    assert len(kosli.requests) == asked


def test_without_a_secret_there_is_no_webhook(bot: Bot) -> None:
    assert deliver(bot, push()).status_code == 404


@pytest.mark.parametrize(
    ("raw", "status", "error"),
    [
        (b"not json", 400, "not JSON"),
        (b"[1, 2]", 400, "not a JSON object"),
        (b'{"org": 7, "environment": "aws-prod"}', 422, "org, environment and event_type"),
        (json.dumps(push(env="a" * 300)).encode(), 422, "bad environment name"),
        (json.dumps(push(env="aws\nprod")).encode(), 422, "bad environment name"),
        (b"{" * 100_000, 413, "body too large"),
        (json.dumps(push(org="another-org")).encode(), 403, "this bot serves org cyber-dojo"),
    ],
)
def test_junk_and_other_orgs_get_a_4xx_with_one_line(
    hooked: Bot, raw: bytes, status: int, error: str
) -> None:
    answer = deliver(hooked, None, raw=raw)
    assert answer.status_code == status
    assert answer.json()["error"].startswith(error)


def test_pushes_for_unwatched_or_already_seen_snapshots_poll_nothing(
    hooked: Bot, kosli: KosliSandbox
) -> None:
    asked = len(kosli.requests)
    unwatched = deliver(hooked, push(env="aws-beta"))
    assert unwatched.json() == {"ok": True, "polled": False, "why": "nobody watches it"}
    seen = deliver(hooked, push(index="176"))
    assert seen.json() == {"ok": True, "polled": False, "why": "already seen"}
    assert len(kosli.requests) == asked


def test_a_push_that_judges_a_seen_snapshot_again_is_alerted_once(
    hooked: Bot, kosli: KosliSandbox
) -> None:
    same = deliver(hooked, push(index="177", status="compliant"))  # as the bot read it
    assert same.json() == {"ok": True, "polled": False, "why": "already seen"}
    judge_again(kosli, "aws-prod", 177, "creator", compliant=False)
    assert deliver(hooked, push(index="177")).json()["polled"] is True
    (alert,) = hooked.slack.wait_for("/api/chat.postMessage")
    assert alert.body["text"] == "aws-prod#177: now non-compliant"
    again = deliver(hooked, push(index="177"))
    assert again.json() == {"ok": True, "polled": False, "why": "already seen"}


def test_a_burst_of_pushes_gives_one_alert_and_few_polls(hooked: Bot, kosli: KosliSandbox) -> None:
    report_with(kosli, MINER)
    asked = len(kosli.requests)
    answers: list[int] = []

    def one() -> None:
        answers.append(deliver(hooked, push()).status_code)

    burst = [threading.Thread(target=one) for _ in range(20)]
    for thread in burst:
        thread.start()
    for thread in burst:
        thread.join()
    assert answers == [202] * 20
    hooked.slack.wait_for("/api/chat.postMessage")
    newest = [p for _, p in kosli.requests[asked:] if "/snapshots/" in p and "per_page=1&" in p]
    assert 1 <= len(newest) <= 2  # one poll, and at most one queued behind it
    texts = [m["text"] for m in hooked.slack.posted("C0INCIDENT") if not m["thread_ts"]]
    assert texts == ["aws-prod#178: 1 rogue, now non-compliant"]


def test_pushes_for_many_environments_at_once_all_alert_at_once(
    start_bot: Any, kosli: KosliSandbox
) -> None:
    """Each is polled and alerted at once, and none is left for the next scheduled cycle (10
    minutes), though their polls end at about the same time and their sends meet."""
    envs = [f"prod-{n}" for n in range(12)]
    kosli.dataset.copy_environment("aws-prod", envs)  # before the bot starts asking
    bot = start_bot(kosli_webhook_secret=SECRET, run_watcher="true", kosli_poll_seconds=600)
    assert bot.ask(f"watch {' '.join(envs)}", "watch")["text"].startswith("Watching")
    for env in envs:
        report_with(kosli, MINER, env=env)
    answers: list[int] = []
    pushes = [
        threading.Thread(target=lambda e=env: answers.append(deliver(bot, push(e)).status_code))
        for env in envs
    ]
    for thread in pushes:
        thread.start()
    for thread in pushes:
        thread.join()
    assert answers == [202] * len(envs)
    alerts = bot.slack.wait_for("/api/chat.postMessage", count=len(envs), timeout=10)
    assert sorted(a.body["text"] for a in alerts) == sorted(
        f"{env}#178: 1 rogue, now non-compliant" for env in envs
    )


@pytest.mark.parametrize(
    ("stamp", "at"),
    [
        ("1662476128", datetime(2022, 9, 6, 14, 55, 28, tzinfo=UTC)),  # Kosli's: digits in a string
        (1662476128, datetime(2022, 9, 6, 14, 55, 28, tzinfo=UTC)),
        ("1662476128.25", datetime(2022, 9, 6, 14, 55, 28, 250000, tzinfo=UTC)),
        ("2022-09-06T16:55:28+02:00", datetime(2022, 9, 6, 14, 55, 28, tzinfo=UTC)),
        ("2022-09-06T14:55:28.250Z", datetime(2022, 9, 6, 14, 55, 28, 250000, tzinfo=UTC)),
        ("yesterday", None),
        (None, None),
        ({"at": 1}, None),
    ],
)
def test_the_push_timestamp_reads_in_every_form(stamp: Any, at: datetime | None) -> None:
    parsed = parse_push(json.dumps({**push(), "timestamp": stamp}).encode())
    assert parsed == Push("cyber-dojo", "aws-prod", "STARTED_ARTIFACT", 178, at, compliant=False)


@pytest.mark.parametrize(
    ("status", "compliant"),
    [
        ("compliant", True),
        ("non-compliant", False),
        ("NON_COMPLIANT", False),
        ("incompliant", False),
        ("unknown", None),
        (7, None),
    ],
)
def test_the_push_status_reads_as_a_compliance(status: Any, compliant: bool | None) -> None:
    parsed = parse_push(json.dumps(push(status=status)).encode())
    assert isinstance(parsed, Push) and parsed.compliant is compliant


@pytest.mark.parametrize(
    ("event", "fingerprint", "allow_listed"),
    [
        ("ARTIFACT_ALLOWLISTED", "AB" * 32, "ab" * 32),
        ("artifact allow-listed", "ab" * 32, "ab" * 32),
        ("ARTIFACT_STARTED", "ab" * 32, ""),  # not an allow-listing
        ("ARTIFACT_ALLOWLISTED", "../" + "a" * 61, ""),
        ("ARTIFACT_ALLOWLISTED", 7, ""),
    ],
)
def test_a_push_telling_an_allow_listing_names_the_build(
    event: str, fingerprint: Any, allow_listed: str
) -> None:
    body = {**push(), "event_type": event, "artifact": {"fingerprint": fingerprint}}
    parsed = parse_push(json.dumps(body).encode())
    assert isinstance(parsed, Push) and parsed.allow_listed == allow_listed

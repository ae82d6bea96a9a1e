"""The reliability suite's long tests: the watcher killed (SIGKILL) at random points while
snapshots keep arriving, Kosli fails requests and Slack answers 429s and 5xx, compared with the
ground truth.

CRASH_ROUNDS (default 8) sets how many kills each database gets; the figures of a longer run
are in docs/reliability.md.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from bot.sandbox import KosliSandbox
from bot.store.migrate import open_store
from testkit.fakes.slack import FakeSlack
from testkit.seed import SANDBOX_TOKEN, bot_env
from testkit.signing import SIGNING_SECRET
from testkit.story import report_new_build

ROOT = Path(__file__).resolve().parent.parent
CRASH_ROUNDS = int(os.environ.get("CRASH_ROUNDS", "8"))
WATCHED = {"aws-prod": ["C0PROD1", "C0PROD2", "C0PROD3"], "aws-beta": ["C0BETA1", "C0BETA2"]}
SECRETS = ("xoxb-crash-bot-token", SIGNING_SECRET, SANDBOX_TOKEN)


def start_worker(
    kosli: KosliSandbox, slack: FakeSlack, database_url: str, log: Path, **extra: str
) -> subprocess.Popen[bytes]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        **bot_env(kosli, slack, database_url, run_watcher="true", slack_bot_token=SECRETS[0]),
        "KOSLI_POLL_SECONDS": "0.2",
        "WATCH_LEASE_SECONDS": "1.5",  # a killed replica's leases expire soon
        **extra,
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "worker"], cwd=ROOT, env=env, stdout=out, stderr=out
        )


def kosli_and_slack_misbehave(kosli: KosliSandbox, slack: FakeSlack, rng: random.Random) -> None:
    """Kosli fails a few requests; Slack gives a 429 burst on one channel and a 500 now and
    then, as a busy Slack does."""
    kosli.fail_next(rng.choice((500, 502, 503)), times=rng.randint(1, 3))
    channel = rng.choice([c for channels in WATCHED.values() for c in channels])
    slack.rate_limited[channel] = rng.randint(1, 6)
    slack.limit_after[channel] = len(slack.posted(channel))
    if rng.random() < 0.5:
        slack.fail_next("/api/chat.postMessage", 500, {"ok": False, "error": "internal_error"})


def posted_keys(slack: FakeSlack) -> Counter[str]:
    return Counter(
        m["metadata"]["event_payload"]["key"]
        for channels in WATCHED.values()
        for channel in channels
        for m in slack.posted(channel)
        if m.get("metadata")
    )


def test_killed_watchers_lose_no_alert_and_post_none_twice(
    database_url: str, kosli: KosliSandbox, slack: FakeSlack, tmp_path: Path
) -> None:
    rng = random.Random(int(os.environ.get("CRASH_SEED", "176")))
    store = open_store(database_url)
    now = datetime.now(UTC)
    for env, channels in WATCHED.items():
        latest = kosli.dataset.environment(env).snapshots[-1].index  # type: ignore[union-attr]
        for channel in channels:
            asyncio.run(store.subscriptions.subscribe(channel, env, "U0ONCALL", latest, now))
    store.engine.dispose()

    expected: set[str] = set()
    log = tmp_path / "workers.log"
    kills = 0
    number = 0
    replicas = [start_worker(kosli, slack, database_url, log) for _ in range(2)]
    try:
        for _ in range(CRASH_ROUNDS):
            for env, channels in WATCHED.items():
                for _ in range(rng.randint(1, 3)):
                    number += 1
                    index = report_new_build(kosli, env, number)
                    expected |= {f"{channel}/{env}/change/{index}" for channel in channels}
            kosli_and_slack_misbehave(kosli, slack, rng)
            time.sleep(rng.uniform(0.2, 2.0))  # somewhere in start-up, a poll or a send
            victim = rng.randrange(len(replicas))
            replicas[victim].send_signal(signal.SIGKILL)
            replicas[victim].wait()
            kills += 1
            replicas[victim] = start_worker(kosli, slack, database_url, log)
        deadline = time.monotonic() + 60
        while not expected <= set(posted_keys(slack)) and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.0)  # a late duplicate would show up now
    finally:
        for replica in replicas:
            replica.kill()
            replica.wait()

    posted = posted_keys(slack)
    changes = {key for key in posted if "/change/" in key}  # beside any Kosli outage notes
    missing = expected - changes
    doubled = {key: count for key, count in posted.items() if count > 1}
    unexpected = changes - expected
    print(
        f"\ncrash safety ({database_url.split(':')[0]}): {kills} kills, {len(expected)} alerts "
        f"expected, {len(missing)} missing, {len(doubled)} duplicated"
    )
    assert kills == CRASH_ROUNDS
    assert missing == set()
    assert doubled == {}
    assert unexpected == set()
    logged = log.read_text()
    assert "Traceback" not in logged
    for secret in SECRETS:
        assert secret not in logged

"""The simulated day, short: the replay of `python -m bench day` (testkit/day.py) from 06:00 to
18:00, where its story and faults are, at 900 times real time: under a minute. Three
`python -m bot worker` replicas share PostgreSQL (one spared, two killed with SIGKILL every 1-2.5
simulated hours and restarted), one runs alone on SQLite (killed every 3-5 simulated hours);
Kosli fails and hangs, Slack answers 500s, 429 storms and one invalid_blocks, the git host is
down for an hour. Every alert, commits reply and follow-up must reach Slack exactly once, in
order, under its alert, as the replay's ground truth says; away from faults, an alert within
the poll interval + 2 s of Kosli showing its change; the spared replica's RSS flat.

PostgreSQL is restarted once when this machine can make a private cluster (root and the
server's binaries); otherwise the replicas use a schema of the shared server at 127.0.0.1:5432,
which serves other tests meanwhile, so that run skips the restart and keeps every other fault.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from testkit.day import HOUR, PROD, STAGING, Day, Group, percentile
from testkit.postgres import PostgresUnavailable, PrivatePostgres
from testkit.seed import SANDBOX_TOKEN
from testkit.signing import SIGNING_SECRET
from tests import db

SPEED = 900.0
POLL = 0.5
WATCHING_PG = {"C0PROD1": [PROD], "C0STAGE": [STAGING], "C0OPS": [PROD, STAGING]}
WATCHING_SQLITE = {"C0LITEPROD": [PROD], "C0LITESTAGE": [STAGING]}
RSS_TARGET_MB = 10.0


@contextmanager
def postgres() -> Iterator[tuple[str, PrivatePostgres | None]]:
    """A private cluster to restart, else a schema of the shared server (no restart)."""
    try:
        private = PrivatePostgres().start()
    except PostgresUnavailable:
        with db.postgres_schema() as url:
            yield url, None
        return
    try:
        yield private.url, private
    finally:
        private.stop()


def test_a_simulated_day_loses_no_alert_and_posts_none_twice(tmp_path: Path) -> None:
    with postgres() as (url, private):
        groups = [
            Group("postgresql", url, 3, WATCHING_PG, (1 * HOUR, 2.5 * HOUR), spared=1),
            Group(
                "sqlite", f"sqlite:///{tmp_path}/day.db", 1, WATCHING_SQLITE, (3 * HOUR, 5 * HOUR)
            ),
        ]
        day = Day(
            SPEED,
            POLL,
            groups,
            tmp_path,
            start_hour=6,
            hours=18,
            restart_postgres=private.restart if private else None,
        )
        verdicts = day.run()

    assert day.counts["kill -9"] >= 5
    assert day.counts["Slack 429 storm"] == 3 and day.counts["Slack invalid_blocks"] == 1
    assert day.counts["PostgreSQL restart"] == (1 if private else 0)
    for verdict in verdicts:
        p99, healthy = percentile(verdict.delays, 99), len(verdict.delays)
        print(f"\n{verdict.group}: {verdict.expected} expected; p99 {p99:.2f} s of {healthy}")
        assert verdict.expected > 20
        assert verdict.lost == []
        assert verdict.doubled == {}
        assert verdict.unexpected == []
        assert verdict.misplaced == []
        assert verdict.delays and percentile(verdict.delays, 99) <= POLL + 2
    spared = day.replicas["postgresql"][0]
    growth = spared.growth(warm_hours=2.0)
    assert growth is not None and growth[2] <= RSS_TARGET_MB
    assert sum(r.crashes for slot in day.replicas.values() for r in slot) == 0
    logged = day.logs()
    for secret in (SANDBOX_TOKEN, SIGNING_SECRET, "xoxb-test-bot-token"):
        assert secret not in logged

"""The Kosli client against the sandbox's real HTTP API."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
from freezegun import freeze_time

from bot.kosli import (
    KosliBadResponse,
    KosliClient,
    KosliNotFound,
    KosliUnauthorized,
    KosliUnavailable,
    parse_snappish,
)
from bot.kosli.client import _retry_after_seconds
from tests.conftest import SANDBOX_TOKEN

T = TypeVar("T")


def call(kosli, use: Callable[[KosliClient], Awaitable[T]], token: str = SANDBOX_TOKEN):
    """Run one client call in a fresh event loop; return its result and the sleeps it took."""
    slept: list[float] = []

    async def record_sleep(seconds: float) -> None:
        slept.append(seconds)

    async def run() -> T:
        client = KosliClient(kosli.base_url, "cyber-dojo", token, timeout=5, sleep=record_sleep)
        try:
            return await use(client)
        finally:
            await client.aclose()

    return asyncio.run(run()), slept


def test_snapshot_paths_are_escaped_like_the_cli(kosli) -> None:
    snapshot, _ = call(kosli, lambda c: c.snapshot(parse_snappish("aws-prod#176")))
    assert snapshot.index == 176 and snapshot.env == "aws-prod"
    call(kosli, lambda c: c.snapshot(parse_snappish("aws-prod~1")))
    call(kosli, lambda c: c.snapshot(parse_snappish("aws-prod")))
    paths = [path for _, path in kosli.requests]
    assert paths == [
        "/api/v2/snapshots/cyber-dojo/aws-prod/%23176",
        "/api/v2/snapshots/cyber-dojo/aws-prod/~1",
        "/api/v2/snapshots/cyber-dojo/aws-prod/-1",
    ]


def test_latest_snapshot_lists_running_and_just_exited(kosli) -> None:
    snapshot, _ = call(kosli, lambda c: c.snapshot(parse_snappish("aws-prod#177")))
    exited = [a for a in snapshot.artifacts if not a.running]
    assert [a.name.rsplit("/", 1)[-1] for a in exited] == ["creator:31dee35"]
    assert exited[0].change == "exited"
    running = {a.name.rsplit("/", 1)[-1] for a in snapshot.running}
    assert "creator:b7a5908" in running and "creator:31dee35" not in running


def test_diff_uses_env_diff_endpoint(kosli) -> None:
    diff, _ = call(
        kosli,
        lambda c: c.diff(parse_snappish("aws-prod#176"), parse_snappish("aws-prod#177")),
    )
    assert (diff.before, diff.after) == ("aws-prod#176", "aws-prod#177")
    assert [a.fingerprint[:8] for a in diff.only_before] == ["5d1c9265"]
    assert diff.only_after == ()
    assert kosli.requests[-1][1].startswith("/api/v2/env-diff/cyber-dojo?snappish1=aws-prod")


def test_snapshot_log_newest_first(kosli) -> None:
    rows, _ = call(kosli, lambda c: c.snapshots("aws-prod"))
    assert [r.index for r in rows] == list(range(177, 162, -1))
    assert rows[0].ended_at is None and rows[1].ended_at is not None


def test_artifacts_and_search(kosli) -> None:
    found, _ = call(kosli, lambda c: c.artifacts_by_fingerprint("web", "480735698cb9"))
    assert found[0].build_url == "https://github.com/cyber-dojo/web/actions/runs/2998616599"
    by_commit, _ = call(kosli, lambda c: c.artifacts_by_commit("creator", "b7a5908"))
    assert by_commit[0].fingerprint.startswith("860ad172")
    searched, _ = call(kosli, lambda c: c.search("b7a5908"))
    assert "aws-prod#177" in searched[0].running_in


def test_errors_map_to_meaningful_exceptions(kosli) -> None:
    with pytest.raises(KosliNotFound):
        call(kosli, lambda c: c.environment("nowhere"))
    with pytest.raises(KosliUnauthorized):
        call(kosli, lambda c: c.environments(), token="wrong-token")
    kosli.fail_next(200, body="{not json")
    with pytest.raises(KosliBadResponse):
        call(kosli, lambda c: c.environments())
    kosli.fail_next(200, body='[{"type": "ECS"}]')
    with pytest.raises(KosliBadResponse, match="'name' is missing"):
        call(kosli, lambda c: c.environments())


def test_retries_honour_retry_after_then_succeed(kosli) -> None:
    kosli.fail_next(429, headers={"Retry-After": "7"})
    kosli.fail_next(502)
    envs, slept = call(kosli, lambda c: c.environments())
    assert {e.name for e in envs} >= {"aws-beta", "aws-prod"}
    assert slept == [7.0, 1.0]  # Retry-After, then the second step of the backoff


def test_gives_up_after_three_attempts(kosli) -> None:
    kosli.fail_next(500, times=3)
    with pytest.raises(KosliUnavailable, match="HTTP 500"):
        call(kosli, lambda c: c.environments())
    assert len(kosli.requests) == 3


@freeze_time("2022-09-06 14:56:28")
def test_retry_after_may_be_a_date() -> None:
    assert _retry_after_seconds("Tue, 06 Sep 2022 14:56:58 GMT") == 30.0
    assert _retry_after_seconds("2.5") == 2.5
    assert _retry_after_seconds("-5") == 0.0
    assert _retry_after_seconds("soon") is None

"""Reading a window of Kosli's event log: every page of it (the rest asked at once once
Kosli says how many), cut short where asked, and never more than the window when Kosli
ignores the range; junk or no log at all means reading snapshots."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, TypeVar

from bot.kosli import KosliClient
from bot.sandbox import ACME_NOW, KosliSandbox
from bot.watch.events import window_events
from tests.conftest import SANDBOX_TOKEN
from tests.kosli.test_client import canned_server
from tests.kosli.test_events import published

T = TypeVar("T")


def on(base_url: str, org: str, use: Callable[[KosliClient], Awaitable[T]]) -> T:
    async def run() -> T:
        client = KosliClient(base_url, org, SANDBOX_TOKEN, timeout=5)
        try:
            return await use(client)
        finally:
            await client.aclose()

    return asyncio.run(run())


def restarts(kosli: KosliSandbox, count: int) -> int:
    """`count` snapshots after prod#4363, each restarting web; returns the last index."""
    prod = kosli.dataset.environment("prod")
    assert prod is not None
    at = ACME_NOW + 60
    for n in range(count):
        now = [
            replace(a, started_at=at + n * 60 - 1) if "/web:" in a.name else a
            for a in prod.snapshots[-1].running()
        ]
        kosli.add_snapshot("prod", at + n * 60, now)
    return prod.snapshots[-1].index


def event_pages(kosli: KosliSandbox) -> list[str]:
    return [p for _, p in kosli.requests if "/events" in p]


def test_every_page_of_a_window() -> None:
    with KosliSandbox(org="acme", token=SANDBOX_TOKEN, now=lambda: ACME_NOW + 10**6) as kosli:
        last = restarts(kosli, 230)
        found = on(kosli.base_url, "acme", lambda k: window_events(k, "prod", 4351, last))
        assert found is not None and found.complete_from == 4351
        assert len(found.events) == 230 + 17  # the restarts and the story's own events
        assert {e.snapshot_index for e in found.events} >= set(range(4364, last + 1))
        assert len(event_pages(kosli)) == 3
        kosli.requests.clear()
        cut = on(kosli.base_url, "acme", lambda k: window_events(k, "prod", 4351, last, 2))
        assert len(event_pages(kosli)) == 2
    assert cut is not None and cut.complete_from > 4351
    assert {e.snapshot_index for e in cut.events} == set(range(cut.complete_from, last + 1))


def test_a_kosli_ignoring_the_range_costs_one_page() -> None:
    # Every page answers the whole published log, #5248-#5253, and claims nine pages.
    with canned_server(200, published(), {"X-Total-Pages": "9"}) as server:
        found = on(
            server.base_url, "cyber-dojo", lambda k: window_events(k, "aws-prod", 5251, 5252)
        )
    assert len(server.paths) == 1
    assert found is not None and found.complete_from == 5251
    assert [e.snapshot_index for e in found.events] == [5252, 5252, 5251, 5251, 5251, 5251]


def test_junk_or_no_log_reads_snapshots_instead(kosli: KosliSandbox) -> None:
    # cyber-dojo's 2022 story: 404.
    assert (
        on(kosli.base_url, "cyber-dojo", lambda k: window_events(k, "aws-prod", 170, 177)) is None
    )
    junk: Any = [{"snapshot_index": "five"}]
    with canned_server(200, junk) as server:
        assert (
            on(server.base_url, "cyber-dojo", lambda k: window_events(k, "aws-prod", 1, 5)) is None
        )

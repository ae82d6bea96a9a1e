"""Kosli's event log (`GET /environments/{org}/{env}/events`) through the client: the
published Live Example answer as Kosli sent it, paging headers, the sandbox's log of today's
shapes, 404 for 2022-era data, and junk."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.kosli import KosliBadResponse, KosliClient, KosliUnavailable
from bot.kosli.events import EnvironmentEvent
from bot.sandbox import ACME_NOW, KosliSandbox
from tests.conftest import SANDBOX_TOKEN
from tests.kosli.test_client import call, canned_server

# `kosli log environment aws-prod --output=json` in Kosli's docs (client_reference), as is.
PUBLISHED = Path(__file__).parents[1] / "data" / "aws-prod-events.json"


def published() -> list[dict[str, Any]]:
    return json.loads(PUBLISHED.read_text())


def test_reads_kosli_published_answer_and_sends_the_clis_parameters() -> None:
    headers = {
        "X-Total-Count": "15",
        "X-Total-Pages": "3",
        "Link": "<https://app.kosli.com/api/v2/environments/cyber-dojo/aws-prod/events?page=2>; "
        'rel="next"',
    }
    with canned_server(200, published(), headers) as server:
        page, _ = call(
            server,
            lambda k: k.events(
                "aws-prod", per_page=500, reverse=True, start=5248, end="NOW", start_ts=1.5
            ),
        )
    path = urlsplit(server.paths[0])
    assert path.path == "/api/v2/environments/cyber-dojo/aws-prod/events"
    assert parse_qs(path.query) == {
        "page": ["1"],
        "per_page": ["100"],  # Kosli's cap
        "reverse": ["true"],
        "start": ["5248"],
        "end": ["NOW"],
        "start_ts": ["1.5"],
    }
    assert page is not None
    assert (page.total_count, page.total_pages, page.has_next) == (15, 3, True)
    assert len(page.events) == 15
    first = page.events[0]
    assert first == EnvironmentEvent(
        snapshot_index=5253,
        artifact_name="244531986313.dkr.ecr.eu-central-1.amazonaws.com/runner:85cac88@sha256:"
        "f3cdc22a599ddb789e7791389a5a58b43fd9c30d3af079aec392d5962d181096",
        sha256="f3cdc22a599ddb789e7791389a5a58b43fd9c30d3af079aec392d5962d181096",
        description="3 instances changed",
        reported_at=datetime.fromtimestamp(1787107798.493415, tz=UTC),
        pipeline="runner-ci",
        type="changed",
        artifact_compliance=True,
        snapshot_compliance=True,
        code_diff="https://github.com/cyber-dojo/runner/compare/"
        "48bb36950ae12b98bdcaf39d77225a3ca7b1dda3...85cac880cb74678426eb2ed4dbf2538995404c5c",
    )
    assert [e.type for e in page.events].count("updated-provenance") == 2


@pytest.mark.parametrize("form", [1787107798, "1787107798", "2026-08-19T02:49:58Z"])
def test_reported_at_in_every_form_kosli_uses(form: Any) -> None:
    event = EnvironmentEvent.from_json({**published()[0], "reported_at": form})
    assert event.reported_at == datetime(2026, 8, 19, 2, 49, 58, tzinfo=UTC)


def test_without_paging_headers_a_full_page_may_have_more() -> None:
    with canned_server(200, published()[:5]) as server:
        full, _ = call(server, lambda k: k.events("aws-prod", per_page=5))
        short, _ = call(server, lambda k: k.events("aws-prod", per_page=6))
    assert full is not None and full.has_next and full.total_pages is None
    assert short is not None and not short.has_next


def test_2022_era_data_has_no_event_log(kosli: KosliSandbox) -> None:
    # The cyber-dojo story of 2022: 404, so callers read snapshots instead.
    assert call(kosli, lambda k: k.events("aws-prod"))[0] is None


@pytest.mark.parametrize(
    "junk",
    [
        {"events": []},
        "events",
        [{"snapshot_index": "5253"}],
        [{"snapshot_index": 5253, "artifact_compliance": "yes"}],
        [published()[0], 7],
    ],
)
def test_junk_is_a_bad_response(junk: Any) -> None:
    with canned_server(200, junk) as server, pytest.raises(KosliBadResponse):
        call(server, lambda k: k.events("aws-prod"))


def test_a_failing_kosli_is_unavailable(kosli: KosliSandbox) -> None:
    kosli.fail_next(503, times=3)
    with pytest.raises(KosliUnavailable):
        call(kosli, lambda k: k.events("aws-prod"))


def test_the_sandbox_logs_todays_snapshots_newest_first_in_pages() -> None:
    with KosliSandbox(org="acme", token=SANDBOX_TOKEN, now=lambda: ACME_NOW) as acme:

        async def pages(client: KosliClient) -> list[Any]:
            first = await client.events("prod", per_page=5)
            assert first is not None and first.total_pages is not None
            rest = [await client.events("prod", page=n, per_page=5) for n in range(2, 5)]
            window = await client.events("prod", start=4355, end=4356)
            oldest = await client.events("prod", per_page=2, reverse=True)
            return [first, *rest, window, oldest]

        def acme_call(use: Any) -> Any:
            async def run() -> Any:
                client = KosliClient(acme.base_url, "acme", SANDBOX_TOKEN, timeout=5)
                try:
                    return await use(client)
                finally:
                    await client.aclose()

            return asyncio.run(run())

        first, second, third, fourth, window, oldest = acme_call(pages)
    assert (first.total_count, first.total_pages, first.has_next) == (17, 4, True)
    assert not fourth.has_next and len(fourth.events) == 2
    indexes = [e.snapshot_index for p in (first, second, third, fourth) for e in p.events]
    assert indexes == sorted(indexes, reverse=True) and indexes[0] == 4363
    assert [(e.snapshot_index, e.type) for e in window.events] == [
        (4356, "started-non-compliant"),
        (4355, "exited"),
        (4355, "started-non-compliant"),
    ]
    assert window.events[0].pipeline == "" and window.events[0].snapshot_compliance is False
    assert window.events[2].description == "1 instance started running (from 0 to 1)"
    assert [e.snapshot_index for e in oldest.events] == [4351, 4352]

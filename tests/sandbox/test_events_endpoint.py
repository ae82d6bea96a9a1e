"""The sandbox's event log (GET /environments/{org}/{env}/events) over HTTP: Kosli's
published fields, derived from the annotations (a restart, a compliance change and late
provenance included), paging headers, the range filters; 404 for the 2022 story."""

from __future__ import annotations

from dataclasses import replace

import httpx

from bot.sandbox import ACME_NOW, KosliSandbox
from tests.kosli.test_events import published
from tests.sandbox.cyber_dojo_api import AUTH

EVENTS = "/api/v2/environments/acme/prod/events"


def test_fields_as_kosli_publishes_them() -> None:
    with (
        KosliSandbox(org="acme", now=lambda: ACME_NOW) as kosli,
        httpx.Client(base_url=kosli.base_url, headers=AUTH, timeout=5) as client,
    ):
        answer = client.get(EVENTS, params={"per_page": 3})
    assert answer.status_code == 200
    assert answer.headers["X-Total-Count"] == "17" and answer.headers["X-Total-Pages"] == "6"
    assert 'rel="next"' in answer.headers["Link"]
    [newest, *_] = answer.json()
    assert set(newest) == set(published()[0])
    assert (newest["snapshot_index"], newest["type"]) == (4363, "changed")


def test_restarts_compliance_and_late_provenance_are_logged() -> None:
    with KosliSandbox(org="acme", now=lambda: ACME_NOW + 600) as kosli:
        prod = kosli.dataset.environment("prod")
        assert prod is not None
        running = prod.snapshots[-1].running()
        web = next(a for a in running if "/web:" in a.name)
        rogue = replace(web, name="docker.io/tool:1", fingerprint="e" * 64, flow_name="")
        kosli.add_snapshot("prod", ACME_NOW + 60, [*running, rogue])
        restarted = [replace(a, started_at=ACME_NOW + 100) if a is web else a for a in running]
        kosli.add_snapshot("prod", ACME_NOW + 120, [*restarted, rogue])
        flipped = [replace(a, compliant=False) if "/web:" in a.name else a for a in restarted]
        kosli.add_snapshot("prod", ACME_NOW + 180, [*flipped, rogue])
        provenance = replace(rogue, flow_name="tool-ci")
        kosli.add_snapshot("prod", ACME_NOW + 240, [*flipped, provenance])
        with httpx.Client(base_url=kosli.base_url, headers=AUTH, timeout=5) as client:
            log = client.get(EVENTS, params={"start": 4364, "end": "NOW"}).json()
            by_time = client.get(EVENTS, params={"start_ts": ACME_NOW + 100}).json()
            recent = client.get(EVENTS, params={"start": "1hour", "end": 4364}).json()
            reversed_ = client.get(EVENTS, params={"start": 4364, "reverse": "true"}).json()
            refused = client.get(EVENTS, params={"per_page": 101})
            bad = client.get(EVENTS, params={"start": "yesterday"})
    assert [(e["snapshot_index"], e["type"], e["description"]) for e in log] == [
        (4367, "updated-provenance", "2 instances changed"),
        (4366, "changed", "2 instances changed"),
        (4365, "changed", "2 instances changed"),
        (4364, "started-compliant", "2 instances started running (from 0 to 2)"),
    ]
    assert [e["artifact_compliance"] for e in log] == [True, False, True, True]
    assert [e["snapshot_compliance"] for e in log] == [False, False, True, True]
    assert [e["snapshot_index"] for e in by_time] == [4367, 4366, 4365]
    assert [e["snapshot_index"] for e in recent] == [4364, 4363, 4362, 4361, 4360]
    assert [e["snapshot_index"] for e in reversed_] == [4364, 4365, 4366, 4367]
    assert (refused.status_code, bad.status_code) == (400, 400)


def test_the_2022_story_has_no_event_log(client: httpx.Client) -> None:
    answer = client.get("/api/v2/environments/cyber-dojo/aws-prod/events")
    assert answer.status_code == 404

"""The seed tutorial's environments and snapshots (cyber-dojo, 2022 shapes), over real HTTP."""

from __future__ import annotations

import httpx
import pytest

from bot.sandbox import cest
from tests.sandbox.cyber_dojo_api import (
    CREATOR_31DEE35,
    CREATOR_B7A5908,
    ORG,
    PROD_IMAGE,
    WEB_6B1B6BC,
    Clock,
    by_fingerprint,
    shown,
    snapshot,
)

SEED_FROM = [
    (177, "Tue, 06 Sep 2022 16:53:28 CEST"),
    (176, "Tue, 06 Sep 2022 16:52:28 CEST"),
    (175, "Tue, 06 Sep 2022 16:43:28 CEST"),
    (174, "Tue, 06 Sep 2022 16:42:28 CEST"),
    (173, "Tue, 06 Sep 2022 15:53:28 CEST"),
    (172, "Tue, 06 Sep 2022 15:52:28 CEST"),
    (171, "Tue, 06 Sep 2022 15:28:27 CEST"),
    (170, "Tue, 06 Sep 2022 15:27:28 CEST"),
    (169, "Mon, 05 Sep 2022 08:00:28 CEST"),
    (168, "Mon, 05 Sep 2022 07:59:28 CEST"),
    (167, "Sun, 04 Sep 2022 03:11:28 CEST"),
    (166, "Sun, 04 Sep 2022 03:10:28 CEST"),
    (165, "Fri, 02 Sep 2022 19:28:28 CEST"),
    (164, "Fri, 02 Sep 2022 19:27:28 CEST"),
    (163, "Fri, 02 Sep 2022 05:37:28 CEST"),
]


# -- environments ---------------------------------------------------------------------------------


def test_environment_list_is_a_plain_array(client: httpx.Client) -> None:
    envs = client.get(f"/api/v2/environments/{ORG}").json()
    assert [e["name"] for e in envs] == ["aws-beta", "aws-prod"]
    prod = envs[1]
    assert prod["type"] == "ECS"
    assert prod["state"] is True
    assert prod["last_reported_at"] == pytest.approx(cest("2022-09-06 16:53:28.093"))
    assert set(prod) >= {"description", "last_modified_at", "tags", "policies"}
    assert envs[0]["state"] is False  # beta#190 runs a rogue artifact


def test_environment_list_with_paging_is_an_object(client: httpx.Client) -> None:
    first = client.get(f"/api/v2/environments/{ORG}", params={"page": 1, "per_page": 1}).json()
    assert first["total_count"] == 2
    assert first["total_pages"] == 2
    assert [e["name"] for e in first["environments"]] == ["aws-beta"]
    second = client.get(f"/api/v2/environments/{ORG}", params={"page": 2, "per_page": 1}).json()
    assert [e["name"] for e in second["environments"]] == ["aws-prod"]


def test_one_environment_and_an_unknown_one(client: httpx.Client) -> None:
    assert client.get(f"/api/v2/environments/{ORG}/aws-prod").json()["name"] == "aws-prod"
    response = client.get(f"/api/v2/environments/{ORG}/aws-nope")
    assert response.status_code == 404
    assert "aws-nope" in response.json()["message"]


# -- snapshot list --------------------------------------------------------------------------------


def test_snapshot_list_reproduces_the_seed_env_log(client: httpx.Client) -> None:
    rows = client.get(f"/api/v2/snapshots/{ORG}/aws-prod", params={"page": 1}).json()
    assert [(r["index"], shown(r["from"])) for r in rows] == SEED_FROM
    assert rows[0]["to"] == 0
    assert all(r["to"] == older["from"] for older, r in zip(rows, rows[1:], strict=False))
    durations = {r["index"]: r["duration"] for r in rows}
    for index in (176, 174, 170, 166, 164):  # "59 seconds"
        assert 59 <= durations[index] < 60
    for index in (172, 168):  # "about a minute"
        assert 60 < durations[index] < 90
    assert 3 * 60 <= durations[177] < 4 * 60  # "3 minutes" at the tutorial's moment
    assert 9 * 60 <= durations[175] < 10 * 60
    assert 49 * 60 <= durations[173] < 50 * 60
    assert 13.5 * 3600 <= durations[163] < 14.5 * 3600  # "14 hours"
    assert all(r["compliant"] for r in rows)


def test_snapshot_list_paging_and_reverse(client: httpx.Client) -> None:
    url = f"/api/v2/snapshots/{ORG}/aws-prod"
    page2 = client.get(url, params={"page": 2, "per_page": 10}).json()
    assert [r["index"] for r in page2] == [167, 166, 165, 164, 163]
    assert client.get(url, params={"page": 3, "per_page": 10}).json() == []
    oldest = client.get(url, params={"per_page": 3, "reverse": "true"}).json()
    assert [r["index"] for r in oldest] == [163, 164, 165]


# -- one snapshot ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("snap_id", "index"),
    [
        ("-1", 177),
        ("%23176", 176),
        ("%23163", 163),
        ("%23-1", 177),
        ("%23-3", 175),
        ("~0", 177),
        ("~2", 175),
        ("@%7B2022-09-06T14:45:00%7D", 175),  # 16:45 CEST
        ("@%7B2022-09-06T14:43:28%7D", 174),  # #175 began at 16:43:28.127, just after
        ("@%7B1.hours.ago%7D", 173),  # the clock is 16:57 CEST: 15:57
        ("@%7B2.hours.ago%7D", 169),  # 14:57
        ("@%7B1.day.ago%7D", 169),  # Mon 16:57
        ("@%7B2.days.ago%7D", 167),  # Sun 16:57
    ],
)
def test_snapshot_id_forms(client: httpx.Client, snap_id: str, index: int) -> None:
    assert snapshot(client, "aws-prod", snap_id)["index"] == index


@pytest.mark.parametrize(
    "snap_id", ["%23abc", "%230", "~x", "@%7Bnot-a-date%7D", "@%7B1.fortnight.ago%7D", "176"]
)
def test_malformed_snapshot_ids_are_400(client: httpx.Client, snap_id: str) -> None:
    response = client.get(f"/api/v2/snapshots/{ORG}/aws-prod/{snap_id}")
    assert response.status_code == 400
    assert response.json()["message"]


@pytest.mark.parametrize(
    "snap_id",
    ["%23162", "%23178", "~15", "%23-16", "@%7B2022-09-01T00:00:00%7D", "@%7B1.weeks.ago%7D"],
)
def test_missing_snapshots_are_404(client: httpx.Client, snap_id: str) -> None:
    response = client.get(f"/api/v2/snapshots/{ORG}/aws-prod/{snap_id}")
    assert response.status_code == 404
    assert response.json()["message"]


def test_relative_times_follow_the_clock(client: httpx.Client, clock: Clock) -> None:
    clock.t = cest("2022-09-06 18:53:00")
    assert snapshot(client, "aws-prod", "@%7B2.hours.ago%7D")["index"] == 176  # 16:53 CEST


def test_snapshot_shape_and_the_incident_annotations(client: httpx.Client) -> None:
    s177 = snapshot(client, "aws-prod", "%23177")
    assert s177["type"] == "ECS"
    assert s177["compliant"] is True
    assert s177["timestamp"] == pytest.approx(cest("2022-09-06 16:53:28.093"))
    exited = by_fingerprint(s177["artifacts"], CREATOR_31DEE35)
    assert exited["name"] == f"{PROD_IMAGE}/creator:31dee35"
    assert exited["annotation"] == {"type": "exited", "was": 1, "now": 0}
    assert exited["creationTimestamp"] == [cest("2022-09-06 16:41:44")]
    assert exited["commit_url"] == (
        "https://github.com/cyber-dojo/creator/commit/31dee357844ab2f58a40d16f945dc5e35dcd6bc0"
    )
    running = [a for a in s177["artifacts"] if a["annotation"]["now"] > 0]
    assert len(running) == 10
    assert all(a["annotation"]["type"] == "unchanged" for a in running)
    assert all(a["pods"] is None and a["reasons_for_incompliance"] == [] for a in running)

    s176 = snapshot(client, "aws-prod", "%23176")
    started = by_fingerprint(s176["artifacts"], CREATOR_B7A5908)
    assert started["annotation"] == {"type": "started", "was": 0, "now": 1}
    assert started["flow_name"] == "creator"
    assert started["git_commit"] == "b7a590836cf140e17da3f01eadd5eca17d9efc65"
    assert started["creationTimestamp"] == [cest("2022-09-06 16:52:03")]
    both = by_fingerprint(s176["artifacts"], CREATOR_31DEE35)["annotation"]
    assert both["type"] == "unchanged"

    s169 = snapshot(client, "aws-prod", "%23169")
    web = by_fingerprint(s169["artifacts"], WEB_6B1B6BC)
    assert web["annotation"]["now"] == 1
    assert web["creationTimestamp"] == [cest("2022-09-02 05:32:00")]


def test_beta_latest_has_a_rogue_and_a_non_compliant_artifact(client: httpx.Client) -> None:
    s190 = snapshot(client, "aws-beta", "-1")
    assert s190["index"] == 190
    assert s190["compliant"] is False
    rogue = next(a for a in s190["artifacts"] if a["name"] == "docker.io/xmrig/xmrig:latest")
    assert rogue["flow_name"] == ""
    assert not rogue["git_commit"]
    assert rogue["commit_url"] is None
    assert rogue["compliant"] is False
    assert rogue["annotation"]["type"] == "started"
    flagged = [a for a in s190["artifacts"] if a["reasons_for_incompliance"]]
    assert [a["flow_name"] for a in flagged] == ["saver"]
    assert flagged[0]["compliant"] is False
    assert snapshot(client, "aws-beta", "%23188")["compliant"] is True

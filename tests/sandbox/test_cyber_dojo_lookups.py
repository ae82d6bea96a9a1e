"""Env-diff, artifact lookups and search on the seed tutorial's data (cyber-dojo, 2022)."""

from __future__ import annotations

import httpx
import pytest

from bot.sandbox import cest
from tests.sandbox.cyber_dojo_api import (
    BETA_IMAGE,
    CREATOR_31DEE35,
    CREATOR_B7A5908,
    ORG,
    PROD_IMAGE,
    WEB_6B1B6BC,
    WEB_C3ADA4D,
    diff,
    shown,
    snapshot,
)

# -- env-diff -------------------------------------------------------------------------------------


def test_diff_176_177_shows_creator_31dee35_gone(client: httpx.Client) -> None:
    answer = diff(client, "aws-prod#176", "aws-prod#177").json()
    assert answer["snappish1"]["snapshot_id"] == "aws-prod#176"
    assert answer["snappish2"]["snapshot_id"] == "aws-prod#177"
    [gone] = answer["snappish1"]["artifacts"]
    assert gone["fingerprint"] == CREATOR_31DEE35
    assert gone["name"] == f"{PROD_IMAGE}/creator:31dee35"
    assert gone["flow"] == "creator"
    assert gone["most_recent_timestamp"] == cest("2022-09-06 16:41:44")
    assert (gone["s1_instance_count"], gone["s2_instance_count"]) == (1, 0)
    assert answer["snappish2"]["artifacts"] == []  # the exited entry is not "running in #177"
    assert answer["changed"]["artifacts"] == []
    assert len(answer["not-changed"]["artifacts"]) == 10


def test_diff_accepts_tilde_and_bare_env(client: httpx.Client) -> None:
    answer = diff(client, "aws-prod~1", "aws-prod").json()
    assert answer["snappish1"]["snapshot_id"] == "aws-prod#176"
    assert answer["snappish2"]["snapshot_id"] == "aws-prod#177"
    earlier = diff(client, "aws-prod#175", "aws-prod#176").json()
    assert [a["fingerprint"] for a in earlier["snappish2"]["artifacts"]] == [CREATOR_B7A5908]


def test_diff_beta_189_against_prod_169_differs_only_in_web(client: httpx.Client) -> None:
    answer = diff(client, "aws-beta#189", "aws-prod#169").json()
    [beta_only] = answer["snappish1"]["artifacts"]
    [prod_only] = answer["snappish2"]["artifacts"]
    assert beta_only["name"] == f"{BETA_IMAGE}/web:c3ada4d"
    assert beta_only["fingerprint"] == WEB_C3ADA4D
    assert beta_only["most_recent_timestamp"] == cest("2022-09-06 10:28:40")
    assert prod_only["name"] == f"{PROD_IMAGE}/web:6b1b6bc"
    assert prod_only["fingerprint"] == WEB_6B1B6BC
    assert answer["changed"]["artifacts"] == []
    assert len(answer["not-changed"]["artifacts"]) == 9


@pytest.mark.parametrize(
    ("one", "two", "status"),
    [
        ("aws-nope", "aws-prod", 404),
        ("aws-prod#999", "aws-prod", 404),
        ("aws-prod#abc", "aws-prod", 400),
        ("aws-prod#1~2", "aws-prod", 400),
        ("#176", "aws-prod", 400),
        ("", "aws-prod", 400),
    ],
)
def test_diff_errors(client: httpx.Client, one: str, two: str, status: int) -> None:
    response = diff(client, one, two)
    assert response.status_code == status
    assert response.json()["message"]


# -- artifacts and search -------------------------------------------------------------------------


def test_artifact_by_fingerprint_prefix_tells_the_seed_history(client: httpx.Client) -> None:
    response = client.get(f"/api/v2/artifacts/{ORG}/web/fingerprint/4807356")
    [art] = response.json()
    assert art["filename"] == "cyberdojo/web:c3ada4d"
    assert art["fingerprint"] == WEB_C3ADA4D
    assert art["git_commit"] == "c3ada4dbd6bb9a66c27f24cec4b5a4c25cf9ce2b"
    assert art["build_url"] == "https://github.com/cyber-dojo/web/actions/runs/2998616599"
    assert art["html_url"] == f"https://app.kosli.com/cyber-dojo/flows/web/artifacts/{WEB_C3ADA4D}"
    assert art["state"] == "COMPLIANT"
    assert art["created_at"] == cest("2022-09-06 10:26:29")
    assert [(h["event"], shown(h["timestamp"])) for h in art["history"]] == [
        ("Artifact created", "Tue, 06 Sep 2022 10:26:29 CEST"),
        ("Deployment #50 to aws-beta environment", "Tue, 06 Sep 2022 10:27:42 CEST"),
        ("Started running in aws-beta#188 environment", "Tue, 06 Sep 2022 10:29:22 CEST"),
    ]
    assert art["running"] == [{"environment_name": "aws-beta", "snapshot_index": 190}]
    assert art["exited"] == []


def test_artifact_by_commit_prefix_knows_where_it_stopped(client: httpx.Client) -> None:
    [art] = client.get(f"/api/v2/artifacts/{ORG}/creator/commit_sha/31dee35").json()
    assert art["fingerprint"] == CREATOR_31DEE35
    assert art["running"] == []
    assert art["exited"] == [{"environment_name": "aws-prod", "snapshot_index": 177}]
    events = [h["event"] for h in art["history"]]
    assert events[0] == "Artifact created"
    assert events[-2:] == [
        "Started running in aws-prod#174 environment",
        "No longer running in aws-prod#177 environment",
    ]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("web/fingerprint/0000000", 404),
        ("nope/fingerprint/4807356", 404),
        ("creator/fingerprint/4807356", 404),  # web's fingerprint is not in creator's flow
        ("web/fingerprint/480", 400),
        ("web/commit_sha/not-hex", 400),
    ],
)
def test_artifact_errors(client: httpx.Client, path: str, status: int) -> None:
    response = client.get(f"/api/v2/artifacts/{ORG}/{path}")
    assert response.status_code == status
    assert response.json()["message"]


def test_every_artifact_in_a_snapshot_is_searchable(client: httpx.Client) -> None:
    fingerprints = {
        a["fingerprint"]
        for env, ids in (("aws-prod", range(163, 178)), ("aws-beta", range(180, 191)))
        for i in ids
        for a in snapshot(client, env, f"%23{i}")["artifacts"]
    }
    assert len(fingerprints) > 20
    for fingerprint in fingerprints:
        found = client.get(f"/api/v2/search/{ORG}/sha/{fingerprint}").json()
        assert found["resolved_to"]["full_match"] == fingerprint


def test_search_by_commit_finds_where_b7a5908_runs(client: httpx.Client) -> None:
    found = client.get(f"/api/v2/search/{ORG}/sha/b7a5908").json()
    assert found["resolved_to"]["type"] == "commit"
    assert found["resolved_to"]["full_match"] == "b7a590836cf140e17da3f01eadd5eca17d9efc65"
    assert found["resolved_to"]["commits"]["count"] == 1
    [art] = found["artifacts"]
    assert art["fingerprint"] == CREATOR_B7A5908
    assert art["has_provenance"] is True
    assert art["running_in"] == ["aws-prod#177"]
    assert art["exited_from"] == []
    assert art["compliance_state"] == "COMPLIANT"


def test_search_by_fingerprint_and_for_the_rogue(client: httpx.Client) -> None:
    found = client.get(f"/api/v2/search/{ORG}/sha/5D1C9265").json()
    assert found["resolved_to"]["type"] == "fingerprint"
    assert found["resolved_to"]["fingerprints"]["matches"] == [CREATOR_31DEE35]
    assert found["artifacts"][0]["exited_from"] == ["aws-prod#177"]

    s190 = snapshot(client, "aws-beta", "%23190")
    rogue = next(a for a in s190["artifacts"] if not a["flow_name"])
    [art] = client.get(f"/api/v2/search/{ORG}/sha/{rogue['fingerprint']}").json()["artifacts"]
    assert art["has_provenance"] is False
    assert art["flow"] == ""
    assert art["running_in"] == ["aws-beta#190"]
    assert [h["event"] for h in art["history"]] == ["Started running in aws-beta#190 environment"]


def test_search_misses_are_404(client: httpx.Client) -> None:
    response = client.get(f"/api/v2/search/{ORG}/sha/deadbeef00")
    assert response.status_code == 404
    assert response.json()["message"]

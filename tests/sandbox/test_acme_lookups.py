"""Env-diff, artifact lookups and search on the acme organisation (today's shapes)."""

from __future__ import annotations

import httpx

from bot.sandbox import acme
from tests.sandbox.acme_api import LSP_95A, LSP_95A_FP, ORG, Json, get, named


def test_diff_staging_prod(acme_client: httpx.Client) -> None:
    answer = get(acme_client, f"/api/v2/env-diff/{ORG}", snappish1="staging", snappish2="prod")
    assert answer["snappish1"]["snapshot_id"] == "staging#1203"
    assert answer["snappish2"]["snapshot_id"] == "prod#4363"

    def short(side: Json) -> list[str]:
        return sorted(a["name"].split("/")[-1].split("@")[0] for a in side["artifacts"])

    assert short(answer["snappish1"]) == [
        "languages-start-points:a97ed05",
        "ledger:3f2a1c9",
        "payments:7d3e9b1",
    ]
    assert short(answer["snappish2"]) == [
        "languages-start-points:95ab455",
        "ledger:81bd004",
        "notifier:4e1a9d2",
        "payments:e2d4b60",
    ]
    assert short(answer["not-changed"]) == ["web:9b0e6d3"]  # 1 instance vs 2: not "changed"
    assert answer["changed"]["artifacts"] == []


def test_artifact_by_fingerprint_is_one_bare_object(acme_client: httpx.Client) -> None:
    art = get(
        acme_client, f"/api/v2/artifacts/{ORG}/languages-start-points-ci/fingerprint/1eea6109"
    )
    assert isinstance(art, dict)
    assert art["fingerprint"] == LSP_95A_FP
    assert art["git_commit"] == LSP_95A
    assert art["running"] == [{"environment_name": "prod", "snapshot_index": 4363}]
    assert [h["event"] for h in art["history"]] == [
        "Artifact created",
        "Started running in prod#4353 environment",
    ]
    by_commit = get(acme_client, f"/api/v2/artifacts/{ORG}/ledger-ci/commit_sha/81bd004")
    assert isinstance(by_commit, list) and len(by_commit) == 1
    assert by_commit[0]["commit_url"].startswith("https://gitlab.com/acme/ledger/-/commit/81bd004")


def test_artifact_in_its_promotion_flow(acme_client: httpx.Client, prod: dict[int, Json]) -> None:
    web = named(prod[4358], "web:9b0e6d3")
    promotion = web["flows"][1]
    art = get(
        acme_client,
        f"/api/v2/artifacts/{ORG}/production-promotion/fingerprint/{web['fingerprint']}",
    )
    assert (art["flow_name"], art["trail_name"]) == ("production-promotion", "promotion-one-43")
    assert art["git_commit"] == promotion["git_commit"]
    found = get(
        acme_client,
        f"/api/v2/artifacts/{ORG}/production-promotion/commit_sha/{promotion['git_commit'][:8]}",
    )
    assert [a["fingerprint"] for a in found] == [web["fingerprint"]]


def test_no_deployment_events_in_any_history(acme_client: httpx.Client) -> None:
    dataset = acme()
    for record in dataset.artifacts:
        found = get(acme_client, f"/api/v2/search/{ORG}/sha/{record.fingerprint}")
        for art in found["artifacts"]:
            assert not any(h["event"].startswith("Deployment") for h in art["history"])
    ledger = get(acme_client, f"/api/v2/search/{ORG}/sha/3f2a1c9")["artifacts"][0]
    assert ledger["exited_from"] == ["prod#4354"]
    assert ledger["running_in"] == ["staging#1203"]

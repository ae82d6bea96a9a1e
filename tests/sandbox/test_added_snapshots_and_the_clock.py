"""Snapshots tests add to the sandbox, and the clock that decides which snapshots exist yet."""

from __future__ import annotations

import httpx
import pytest

from bot.sandbox import ACME_NOW, KosliSandbox, RunningArtifact, cest
from tests.sandbox import acme_api
from tests.sandbox.cyber_dojo_api import (
    CREATOR_31DEE35,
    CREATOR_B7A5908,
    ORG,
    Clock,
    by_fingerprint,
    diff,
    snapshot,
)

# -- cyber-dojo -----------------------------------------------------------------------------------


def test_add_snapshot_computes_annotations(sandbox: KosliSandbox, client: httpx.Client) -> None:
    # Roll creator back to 31dee35 and scale runner up, one minute after #177.
    s177 = snapshot(client, "aws-prod", "%23177")
    running = [a for a in s177["artifacts"] if a["annotation"]["now"] > 0]
    artifacts = []
    for a in running:
        if a["fingerprint"] == CREATOR_B7A5908:
            continue
        instances = 3 if a["flow_name"] == "runner" else a["annotation"]["now"]
        artifacts.append(
            RunningArtifact(
                name=a["name"],
                fingerprint=a["fingerprint"],
                flow_name=a["flow_name"],
                git_commit=a["git_commit"],
                commit_url=a["commit_url"],
                compliant=True,
                instances=instances,
                started_at=a["creationTimestamp"][0],
            )
        )
    exited = by_fingerprint(s177["artifacts"], CREATOR_31DEE35)
    artifacts.append(
        RunningArtifact(
            name=exited["name"],
            fingerprint=CREATOR_31DEE35,
            flow_name="creator",
            git_commit=exited["git_commit"],
            commit_url=exited["commit_url"],
            compliant=True,
            instances=1,
            started_at=cest("2022-09-06 16:54:01"),
        )
    )
    at = cest("2022-09-06 16:54:28.5")
    assert sandbox.add_snapshot("aws-prod", at, artifacts) == 178

    s178 = snapshot(client, "aws-prod", "-1")
    assert s178["index"] == 178
    kinds = {a["fingerprint"]: a["annotation"] for a in s178["artifacts"]}
    assert kinds[CREATOR_31DEE35] == {"type": "started", "was": 0, "now": 1}
    assert kinds[CREATOR_B7A5908] == {"type": "exited", "was": 1, "now": 0}
    runner = next(a for a in s178["artifacts"] if a["flow_name"] == "runner")
    assert runner["annotation"] == {"type": "changed", "was": 2, "now": 3}
    assert len(runner["creationTimestamp"]) == 3

    rows = client.get(f"/api/v2/snapshots/{ORG}/aws-prod", params={"per_page": 2}).json()
    assert [r["to"] for r in rows] == [0, at]  # #177 is closed by #178
    scaled = diff(client, "aws-prod#177", "aws-prod#178").json()["changed"]["artifacts"]
    assert [(a["s1_instance_count"], a["s2_instance_count"]) for a in scaled] == [(2, 3)]


def test_add_snapshot_of_a_new_artifact_makes_it_searchable(
    sandbox: KosliSandbox, client: httpx.Client
) -> None:
    miner = RunningArtifact(
        name="docker.io/evil/miner:1",
        fingerprint="ab" * 32,
        flow_name="",
        git_commit=None,
        commit_url=None,
        compliant=False,
        instances=1,
        started_at=cest("2022-09-06 16:55:00"),
    )
    index = sandbox.add_snapshot("aws-prod", cest("2022-09-06 16:55:30"), [miner])
    assert index == 178
    [art] = client.get(f"/api/v2/search/{ORG}/sha/abababab").json()["artifacts"]
    assert art["running_in"] == ["aws-prod#178"]
    assert client.get(f"/api/v2/environments/{ORG}/aws-prod").json()["state"] is False


def test_the_clock_hides_future_snapshots(client: httpx.Client, clock: Clock) -> None:
    clock.t = cest("2022-09-06 16:45:00")
    rows = client.get(f"/api/v2/snapshots/{ORG}/aws-prod").json()
    assert [r["index"] for r in rows] == list(range(175, 162, -1))
    assert rows[0]["to"] == 0
    assert rows[0]["duration"] == pytest.approx(clock.t - cest("2022-09-06 16:43:28.127"))
    assert snapshot(client, "aws-prod", "-1")["index"] == 175
    assert client.get(f"/api/v2/snapshots/{ORG}/aws-prod/%23176").status_code == 404
    env = client.get(f"/api/v2/environments/{ORG}/aws-prod").json()
    assert env["last_reported_at"] == pytest.approx(cest("2022-09-06 16:43:28.127"))
    assert client.get(f"/api/v2/search/{ORG}/sha/b7a5908").status_code == 404  # not built yet
    assert snapshot(client, "aws-beta", "-1")["index"] == 189

    clock.t = cest("2022-09-06 16:53:00")  # replaying forward reveals #176
    assert snapshot(client, "aws-prod", "-1")["index"] == 176


# -- acme -----------------------------------------------------------------------------------------


def test_added_snapshots_speak_2026() -> None:
    with KosliSandbox(org=acme_api.ORG, now=lambda: ACME_NOW + 3600, token=None) as sb:
        latest = httpx.get(f"{sb.base_url}/api/v2/snapshots/{acme_api.ORG}/prod/-1").json()
        running = [a for a in latest["artifacts"] if a["annotation"]["now"] > 0]
        artifacts = [
            RunningArtifact(
                name=a["name"],
                fingerprint=a["fingerprint"],
                flow_name=a["flow_name"],
                git_commit=a["git_commit"],
                commit_url=a["commit_url"],
                compliant=a["compliant"],
                instances=a["annotation"]["now"] + (1 if "ledger" in a["name"] else 0),
                started_at=a["creationTimestamp"][0],
            )
            for a in running
            if "payments" not in a["name"]
        ]
        assert sb.add_snapshot("prod", ACME_NOW + 60, artifacts) == 4364
        added = httpx.get(f"{sb.base_url}/api/v2/snapshots/{acme_api.ORG}/prod/-1").json()
    words = {
        a["name"].split("/")[-1].split(":")[0]: a["annotation"]["type"] for a in added["artifacts"]
    }
    assert words["payments"] == "exited"
    assert words["ledger"] == "unchanged"  # a scaling alone is not a change any more
    assert set(words.values()) <= acme_api.WORDS

"""The Kosli sandbox's acme organisation, in today's (2026) shapes, over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.sandbox import ACME_NOW, TUTORIAL_NOW, KosliSandbox, RunningArtifact, acme

ORG = "acme"
AUTH = {"Authorization": "Bearer sandbox-token"}
SAMPLE = Path(__file__).parents[1] / "data" / "aws-prod-snapshot-4357.json"
STORY = range(4350, 4359)
LSP_A97 = "a97ed054e38d484a0015cd658f1d593c03ea2a61"
LSP_95A = "95ab455dd7301b20c744f50b1cd015e4396aedce"
LSP_95A_FP = "1eea61094353db37c7ef3e9582e63f3427c5e01fe76b8210db985144d10088cf"
ECR = "390844186740.dkr.ecr.eu-west-1.amazonaws.com"
WORDS = {"started-compliant", "started-non-compliant", "exited", "unchanged"}

Json = Any


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with (
        KosliSandbox(org=ORG, now=lambda: ACME_NOW) as sb,
        httpx.Client(base_url=sb.base_url, headers=AUTH, timeout=5) as c,
    ):
        yield c


@pytest.fixture(scope="module")
def prod(client: httpx.Client) -> dict[int, Json]:
    """Every prod snapshot of the story, by index."""
    return {i: get(client, f"/api/v2/snapshots/{ORG}/prod/%23{i}") for i in STORY}


def get(client: httpx.Client, path: str, **params: str) -> Json:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def named(snapshot: Json, tag: str) -> Json:
    """The one artifact whose name contains `tag` (e.g. 'web:9b0e6d3')."""
    [found] = [a for a in snapshot["artifacts"] if tag in a["name"]]
    return found


def changes(snapshot: Json) -> dict[str, str]:
    """Short image name ('web:9b0e6d3') -> annotation type, for what changed."""
    return {
        a["name"].split("/")[-1].split("@")[0]: a["annotation"]["type"]
        for a in snapshot["artifacts"]
        if a["annotation"]["type"] != "unchanged"
    }


def failing_rules(artifact: Json, policy: str) -> list[Json]:
    [decision] = [d for d in artifact["policy_decisions"] if d["policy_name"] == policy]
    return [
        r for r in decision["rule_evaluations"] if not r["ignored"] and r["satisfied"] is not True
    ]


# -- the story ------------------------------------------------------------------------------------


def test_snapshot_list_and_compliance_flips(client: httpx.Client) -> None:
    rows = get(client, f"/api/v2/snapshots/{ORG}/prod", per_page="20")
    assert [r["index"] for r in rows] == list(reversed(STORY))
    assert {r["index"]: r["compliant"] for r in rows} == {
        i: i not in (4355, 4356, 4357) for i in STORY
    }
    assert rows[0]["to"] == 0
    assert 0 < ACME_NOW - rows[0]["from"] < 10 * 60  # ACME_NOW is minutes after #4358
    envs = get(client, f"/api/v2/environments/{ORG}")
    assert [(e["name"], e["type"], e["state"]) for e in envs] == [
        ("prod", "K8S", True),
        ("staging", "ECS", True),
    ]
    assert envs[0]["policies"] == ["prod-requirements", "build-process"]


def test_each_snapshot_is_one_step_of_the_story(prod: dict[int, Json]) -> None:
    assert changes(prod[4350]) == {}
    assert len(prod[4350]["artifacts"]) == 4
    assert changes(prod[4351]) == {"web:9b0e6d3": "started-compliant"}
    assert changes(prod[4352]) == {"web:1f4c2a8": "exited"}
    assert changes(prod[4353]) == {
        "languages-start-points:95ab455": "started-compliant",
        "languages-start-points:a97ed05": "exited",
    }
    assert changes(prod[4354]) == {
        "ledger:81bd004": "started-compliant",
        "ledger:3f2a1c9": "exited",
    }
    assert changes(prod[4355]) == {
        "payments:c5a81f7": "started-non-compliant",
        "payments:7d3e9b1": "exited",
    }
    assert changes(prod[4356]) == {"busybox:1.36": "started-non-compliant"}
    assert changes(prod[4357]) == {"busybox:1.36": "exited"}
    assert changes(prod[4358]) == {
        "payments:e2d4b60": "started-compliant",
        "payments:c5a81f7": "exited",
    }


def test_only_todays_words_and_shapes(prod: dict[int, Json]) -> None:
    for snap in prod.values():
        assert set(snap) >= {"is_latest", "next_snapshot_timestamp", "html_url", "applied_policies"}
        for a in snap["artifacts"]:
            assert a["annotation"]["type"] in WORDS
            assert a["deployments"] == []
            assert a["reasons_for_incompliance"] == []
            assert a["pods"] is None
            assert "@sha256:" + a["fingerprint"] in a["name"]
            if a["annotation"]["type"] == "exited":
                assert a["annotation"]["now"] == 0
            # an artifact is compliant exactly when every environment policy passes it
            assert a["compliant"] == all(d["status"] == "COMPLIANT" for d in a["policy_decisions"])
        running = [a for a in snap["artifacts"] if a["annotation"]["now"] > 0]
        assert snap["compliant"] == all(a["compliant"] for a in running)
        count = snap["artifact_compliance_count"]
        assert count == {
            "true": sum(a["compliant"] for a in running),
            "false": sum(not a["compliant"] for a in running),
            "null": 0,
        }
    assert prod[4358]["is_latest"] and prod[4358]["next_snapshot_timestamp"] is None
    assert not prod[4357]["is_latest"]
    assert prod[4357]["next_snapshot_timestamp"] == prod[4358]["timestamp"]
    assert prod[4357]["html_url"] == "https://app.kosli.com/acme/environments/prod/snapshots/4357"


def test_artifact_keys_match_the_real_sample(prod: dict[int, Json]) -> None:
    real = json.loads(SAMPLE.read_text())["artifacts"][0]
    ours = named(prod[4353], "languages-start-points:95ab455")
    assert set(real) - set(ours) == {"ecs_context"}
    assert set(ours) <= set(real)
    assert set(ours["flows"][0]) == set(real["flows"][0])
    assert set(ours["deployment_diff"]) == set(real["deployment_diff"])
    decision = ours["policy_decisions"][0]
    assert set(decision) == set(real["policy_decisions"][0])
    rule = decision["rule_evaluations"][0]
    assert set(rule) == set(real["policy_decisions"][0]["rule_evaluations"][0])
    assert set(rule["resolutions"][0]["context"]) == {"flow_name", "trail_name", "artifact_status"}


def test_languages_start_points_switches_like_the_real_sample(prod: dict[int, Json]) -> None:
    new = named(prod[4353], "languages-start-points:95ab455")
    old = named(prod[4353], "languages-start-points:a97ed05")
    assert new["name"] == f"{ECR}/languages-start-points:95ab455@sha256:{LSP_95A_FP}"
    assert new["annotation"] == {"type": "started-compliant", "was": 0, "now": 1}
    assert old["annotation"] == {"type": "exited", "was": 1, "now": 0}
    assert new["flow_name"] == "languages-start-points-ci"
    assert new["git_commit"] == LSP_95A
    [flow] = new["flows"]
    info = flow["git_commit_info"]
    assert info["message"] == (
        "Merge pull request #204 from cyber-dojo/update-csharp-nunit\n\n"
        "Ensure we have the latest csharp-nunit"
    )
    assert info["author"] == "Jon Jagger <jon@kosli.com>"
    assert info["timestamp"] == 1777955898.0
    assert new["commit_lead_time"] == 889.0  # as in the sample
    diff = new["deployment_diff"]
    assert diff["diff_url"] == (
        f"https://github.com/cyber-dojo/languages-start-points/compare/{LSP_A97}...{LSP_95A}"
    )
    assert diff["previous_fingerprint"] == old["fingerprint"]
    assert diff["previous_artifact_name"] == old["name"]
    assert diff["previous_running"] is False
    assert diff["previous_trail_name"] == LSP_A97
    assert diff["previous_template_reference_name"] == "languages-start-points"


def test_rolling_deploy_of_web_and_its_promotion_flow(prod: dict[int, Json]) -> None:
    new = named(prod[4351], "web:9b0e6d3")
    old = named(prod[4351], "web:1f4c2a8")
    assert old["annotation"] == {"type": "unchanged", "was": 2, "now": 2}
    assert new["annotation"] == {"type": "started-compliant", "was": 0, "now": 2}
    assert len(new["creationTimestamp"]) == 2
    assert new["deployment_diff"]["previous_running"] is True  # the old one still runs
    build, promotion = new["flows"]
    assert build["flow_name"] == new["flow_name"] == "web-ci"
    assert build["commit_url"].startswith("https://github.com/acme/web/commit/9b0e6d3")
    assert build["git_commit_info"]["message"].split("\n")[0] == (
        "Fix checkout button staying disabled after a declined card"
    )
    assert promotion["flow_name"] == "production-promotion"
    assert promotion["trail_name"] == "promotion-one-43"
    assert promotion["template_reference_name"] == "web"
    assert promotion["commit_url"].startswith("https://github.com/acme/prod-promotion/commit/")
    assert promotion["git_commit"] != new["git_commit"]
    assert promotion["deployment_diff"]["previous_trail_name"] == "promotion-one-42"
    assert promotion["deployment_diff"]["diff_url"].startswith(
        "https://github.com/acme/prod-promotion/compare/"
    )
    assert named(prod[4352], "web:1f4c2a8")["annotation"] == {"type": "exited", "was": 2, "now": 0}


def test_ledger_rolled_back_to_an_older_commit_with_a_gitlab_link(prod: dict[int, Json]) -> None:
    back = named(prod[4354], "ledger:81bd004")
    gone = named(prod[4354], "ledger:3f2a1c9")
    assert back["name"].startswith("registry.gitlab.com/acme/ledger:81bd004@sha256:")
    assert len(back["git_commit"]) == 40 and back["git_commit"].startswith("81bd004")
    assert len(gone["git_commit"]) == 40 and gone["git_commit"].startswith("3f2a1c9")
    older = back["flows"][0]["git_commit_info"]["timestamp"]
    assert older < gone["flows"][0]["git_commit_info"]["timestamp"]
    assert back["commit_url"] == f"https://gitlab.com/acme/ledger/-/commit/{back['git_commit']}"
    diff = back["deployment_diff"]
    assert diff["diff_url"] == (
        f"https://gitlab.com/acme/ledger/-/compare/{gone['git_commit']}...{back['git_commit']}"
    )
    assert diff["previous_git_commit_url"] == gone["commit_url"]
    assert diff["previous_artifact_compliance_state"] == "COMPLIANT"


def test_payments_starts_without_its_trivy_scan(prod: dict[int, Json]) -> None:
    broken = named(prod[4355], "payments:c5a81f7")
    assert broken["compliant"] is False
    assert prod[4355]["compliant"] is False
    assert prod[4355]["artifact_compliance_count"] == {"true": 3, "false": 1, "null": 0}
    assert failing_rules(broken, "build-process") == []
    [rule] = failing_rules(broken, "prod-requirements")
    assert rule["rule"] == {
        "type": "attestation",
        "definition": {
            "if": {"text": 'flow.tags.kind == "build"'},
            "name": "trivy-container-scan",
            "type": "generic",
            "must_be_compliant": True,
        },
    }
    assert (rule["satisfied"], rule["ignored"]) == (False, False)
    assert rule["resolutions"] == [
        {
            "type": "missing_attestation",
            "context": {
                "flow_name": "payments-ci",
                "trail_name": broken["git_commit"],
                "artifact_status": None,
            },
        }
    ]
    assert broken["flows"][0]["artifact_compliance_in_flow"] is False
    applied = {p["name"]: p for p in prod[4355]["applied_policies"]}
    assert [a["fingerprint"] for a in applied["prod-requirements"]["failing_artifacts"]] == [
        broken["fingerprint"]
    ]
    assert applied["build-process"]["failing_artifacts"] == []
    dump = applied["prod-requirements"]["policy_dump"]["artifacts"]
    assert dump["provenance"]["required"] is True
    assert [(a["name"], a["type"]) for a in dump["attestations"]] == [
        ("trivy-container-scan", "generic")
    ]


def test_a_rogue_without_provenance_comes_and_goes(prod: dict[int, Json]) -> None:
    rogue = named(prod[4356], "busybox")
    assert rogue["name"] == f"docker.io/library/busybox:1.36@sha256:{rogue['fingerprint']}"
    assert (rogue["flow_name"], rogue["git_commit"], rogue["commit_url"]) == ("", None, None)
    assert rogue["flows"] == []
    assert rogue["compliant"] is False
    assert rogue["deployment_diff"] is None
    [rule] = failing_rules(rogue, "build-process")
    assert rule["rule"]["type"] == "provenance"
    assert (rule["satisfied"], rule["ignored"]) == (False, False)
    assert [r["type"] for r in rule["resolutions"]] == ["missing_provenance"]
    assert prod[4356]["artifact_compliance_count"]["false"] == 2
    assert named(prod[4357], "busybox")["annotation"] == {"type": "exited", "was": 1, "now": 0}


def test_a_fixed_payments_makes_prod_compliant_again(prod: dict[int, Json]) -> None:
    fixed = named(prod[4358], "payments:e2d4b60")
    assert fixed["compliant"] is True
    assert all(d["status"] == "COMPLIANT" for d in fixed["policy_decisions"])
    assert (
        fixed["deployment_diff"]["previous_fingerprint"]
        == (named(prod[4358], "payments:c5a81f7")["fingerprint"])
    )
    assert fixed["deployment_diff"]["previous_artifact_compliance_state"] == "NON-COMPLIANT"
    assert prod[4358]["compliant"] is True


def test_every_start_names_the_artifact_that_ran_before_it(
    client: httpx.Client, prod: dict[int, Json]
) -> None:
    staging = {
        i: get(client, f"/api/v2/snapshots/{ORG}/staging/%23{i}") for i in (1201, 1202, 1203)
    }
    checked = 0
    for snaps in (prod, staging):
        indexes = sorted(snaps)
        for before, after in zip(indexes, indexes[1:], strict=False):
            for a in snaps[after]["artifacts"]:
                if not a["annotation"]["type"].startswith("started") or not a["flows"]:
                    continue
                for flow in a["flows"]:
                    was = [
                        b
                        for b in snaps[before]["artifacts"]
                        if b["annotation"]["now"] > 0
                        and any(
                            (f["flow_name"], f["template_reference_name"])
                            == (flow["flow_name"], flow["template_reference_name"])
                            for f in b["flows"]
                        )
                    ]
                    [previous] = was
                    diff = flow["deployment_diff"]
                    assert diff["previous_fingerprint"] == previous["fingerprint"]
                    assert diff["previous_artifact_name"] == previous["name"]
                    old = next(f for f in previous["flows"] if f["flow_name"] == flow["flow_name"])
                    assert diff["previous_git_commit"] == old["git_commit"]
                    assert diff["diff_url"].endswith(f"/{old['git_commit']}...{flow['git_commit']}")
                    checked += 1
                assert a["deployment_diff"] == a["flows"][0]["deployment_diff"]
    assert checked == 8  # web (two flows) in each env, lsp, ledger and two payments in prod


def test_every_artifact_was_built_after_its_commit_and_before_it_ran() -> None:
    dataset = acme()
    for env in dataset.environments:
        for snap in env.snapshots:
            for e in snap.entries:
                record = dataset.record(e.artifact.fingerprint)
                assert record is not None
                if record.created_at is not None:
                    assert record.flows[0].commit.timestamp < record.created_at
                    assert record.created_at < e.artifact.started_at <= snap.timestamp


# -- diff, artifacts, search ----------------------------------------------------------------------


def test_diff_staging_prod(client: httpx.Client) -> None:
    answer = get(client, f"/api/v2/env-diff/{ORG}", snappish1="staging", snappish2="prod")
    assert answer["snappish1"]["snapshot_id"] == "staging#1203"
    assert answer["snappish2"]["snapshot_id"] == "prod#4358"

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
        "payments:e2d4b60",
    ]
    assert short(answer["not-changed"]) == ["web:9b0e6d3"]  # 1 instance vs 2: not "changed"
    assert answer["changed"]["artifacts"] == []


def test_artifact_by_fingerprint_is_one_bare_object(client: httpx.Client) -> None:
    art = get(client, f"/api/v2/artifacts/{ORG}/languages-start-points-ci/fingerprint/1eea6109")
    assert isinstance(art, dict)
    assert art["fingerprint"] == LSP_95A_FP
    assert art["git_commit"] == LSP_95A
    assert art["running"] == [{"environment_name": "prod", "snapshot_index": 4358}]
    assert [h["event"] for h in art["history"]] == [
        "Artifact created",
        "Started running in prod#4353 environment",
    ]
    by_commit = get(client, f"/api/v2/artifacts/{ORG}/ledger-ci/commit_sha/81bd004")
    assert isinstance(by_commit, list) and len(by_commit) == 1
    assert by_commit[0]["commit_url"].startswith("https://gitlab.com/acme/ledger/-/commit/81bd004")


def test_artifact_in_its_promotion_flow(client: httpx.Client, prod: dict[int, Json]) -> None:
    web = named(prod[4358], "web:9b0e6d3")
    promotion = web["flows"][1]
    art = get(
        client, f"/api/v2/artifacts/{ORG}/production-promotion/fingerprint/{web['fingerprint']}"
    )
    assert (art["flow_name"], art["trail_name"]) == ("production-promotion", "promotion-one-43")
    assert art["git_commit"] == promotion["git_commit"]
    found = get(
        client,
        f"/api/v2/artifacts/{ORG}/production-promotion/commit_sha/{promotion['git_commit'][:8]}",
    )
    assert [a["fingerprint"] for a in found] == [web["fingerprint"]]


def test_no_deployment_events_in_any_history(client: httpx.Client) -> None:
    dataset = acme()
    for record in dataset.artifacts:
        found = get(client, f"/api/v2/search/{ORG}/sha/{record.fingerprint}")
        for art in found["artifacts"]:
            assert not any(h["event"].startswith("Deployment") for h in art["history"])
    ledger = get(client, f"/api/v2/search/{ORG}/sha/3f2a1c9")["artifacts"][0]
    assert ledger["exited_from"] == ["prod#4354"]
    assert ledger["running_in"] == ["staging#1203"]


# -- asserts --------------------------------------------------------------------------------------


def asserts(client: httpx.Client, org: str, fingerprint: str, **params: str) -> httpx.Response:
    return client.get(f"/api/v2/asserts/{org}/fingerprint/{fingerprint}", params=params)


def statuses(answer: Json) -> dict[str, tuple[str, bool]]:
    return {
        s["attestation_name"]: (s["status"], s["is_compliant"])
        for f in answer["flows"]
        for s in f["compliance_status"]["attestations_statuses"]
    }


def test_asserts_for_the_broken_and_the_fixed_payments(
    client: httpx.Client, prod: dict[int, Json]
) -> None:
    broken = named(prod[4355], "payments:c5a81f7")["fingerprint"]
    answer = asserts(client, ORG, broken, environment_name="prod").json()
    assert answer["compliant"] is False
    assert answer["scope"] == "environment"
    assert {e["policy_name"]: e["status"] for e in answer["policy_evaluations"]} == {
        "prod-requirements": "NON-COMPLIANT",
        "build-process": "COMPLIANT",
    }
    assert answer["policy_evaluations"] == named(prod[4355], "payments:c5a81f7")["policy_decisions"]
    [flow] = answer["flows"]
    assert (flow["flow"], flow["trail"]) == (
        "payments-ci",
        named(prod[4355], "c5a81f7")["git_commit"],
    )
    assert flow["compliance_status"]["is_compliant"] is False
    assert statuses(answer) == {
        "pull-request": ("COMPLETE", True),
        "unit-test": ("COMPLETE", True),
        "trivy-container-scan": ("MISSING", False),
    }
    types = {
        s["attestation_name"]: s["attestation_type"]
        for s in flow["compliance_status"]["attestations_statuses"]
    }
    assert types == {
        "pull-request": "pull_request",
        "unit-test": "junit",
        "trivy-container-scan": "generic",
    }
    assert answer["html_url"].startswith("https://app.kosli.com/acme/flows/payments-ci/artifacts/")
    # Staging only asks for provenance.
    assert asserts(client, ORG, broken, environment_name="staging").json()["compliant"] is True
    flow_only = asserts(client, ORG, broken).json()
    assert (flow_only["scope"], flow_only["compliant"], flow_only["policy_evaluations"]) == (
        "flow",
        False,
        [],
    )

    fixed = named(prod[4358], "payments:e2d4b60")["fingerprint"]
    answer = asserts(client, ORG, fixed, environment_name="prod").json()
    assert answer["compliant"] is True
    assert all(status == "COMPLETE" for status, _ in statuses(answer).values())


def test_asserts_for_web_the_rogue_and_unknowns(
    client: httpx.Client, prod: dict[int, Json]
) -> None:
    web = named(prod[4358], "web:9b0e6d3")["fingerprint"]
    answer = asserts(client, ORG, web, environment_name="prod").json()
    assert answer["compliant"] is True
    assert [(f["flow"], f["trail"]) for f in answer["flows"]][1] == (
        "production-promotion",
        "promotion-one-43",
    )
    only = asserts(client, ORG, web, flow_name="production-promotion").json()
    assert [f["flow"] for f in only["flows"]] == ["production-promotion"]
    by_policy = client.get(
        f"/api/v2/asserts/{ORG}/fingerprint/{web}",
        params=[("policy_name", "build-process"), ("policy_name", "prod-requirements")],
    ).json()
    assert by_policy["scope"] == "policy"
    assert [e["policy_name"] for e in by_policy["policy_evaluations"]] == [
        "build-process",
        "prod-requirements",
    ]

    rogue = named(prod[4356], "busybox")["fingerprint"]
    answer = asserts(client, ORG, rogue, environment_name="prod").json()
    assert answer["compliant"] is False
    assert answer["flows"] == []

    for response in (
        asserts(client, ORG, "0" * 64),
        asserts(client, ORG, web, environment_name="nowhere"),
        asserts(client, ORG, web, flow_name="nope-ci"),
    ):
        assert response.status_code == 404
        assert response.json()["message"]


def test_asserts_on_the_2022_cyber_dojo_dataset() -> None:
    with (
        KosliSandbox(now=lambda: TUTORIAL_NOW) as sb,
        httpx.Client(base_url=sb.base_url, headers=AUTH, timeout=5) as c,
    ):
        s190 = get(c, "/api/v2/snapshots/cyber-dojo/aws-beta/-1")
        [saver] = [a for a in s190["artifacts"] if a["reasons_for_incompliance"]]
        answer = asserts(c, "cyber-dojo", saver["fingerprint"], environment_name="aws-beta").json()
        assert answer["compliant"] is False
        assert answer["scope"] == "environment"
        assert answer["policy_evaluations"] == []  # the tutorial's environments had no policies
        assert [(f["flow"], f["trail"]) for f in answer["flows"]] == [
            ("saver", saver["git_commit"])
        ]
        assert statuses(answer)["snyk-scan"] == ("MISSING", False)
        assert statuses(answer)["unit-test"] == ("COMPLETE", True)

        creator = "860ad172ace5aee03e6a1e3492a88b3315ecac2a899d4f159f43ca7314290d5a"
        answer = asserts(c, "cyber-dojo", creator).json()
        assert answer["compliant"] is True
        assert all(status == "COMPLETE" for status, _ in statuses(answer).values())
        assert asserts(c, "cyber-dojo", "ab" * 32).status_code == 404
        # The 2022 answers keep their words.
        assert (
            get(c, "/api/v2/snapshots/cyber-dojo/aws-prod/%23176")["artifacts"][0].get("flows")
            is None
        )


# -- the sandbox ----------------------------------------------------------------------------------


def test_the_sandbox_picks_its_dataset_by_org() -> None:
    with KosliSandbox(now=lambda: TUTORIAL_NOW, token=None) as sb:
        envs = httpx.get(f"{sb.base_url}/api/v2/environments/cyber-dojo").json()
    assert [e["name"] for e in envs] == ["aws-beta", "aws-prod"]
    with KosliSandbox(org=ORG, now=lambda: ACME_NOW, token=None) as sb:
        envs = httpx.get(f"{sb.base_url}/api/v2/environments/{ORG}").json()
        assert httpx.get(f"{sb.base_url}/api/v2/environments/cyber-dojo").status_code == 403
    assert [e["name"] for e in envs] == ["prod", "staging"]


def test_added_snapshots_speak_2026() -> None:
    with KosliSandbox(org=ORG, now=lambda: ACME_NOW + 3600, token=None) as sb:
        latest = httpx.get(f"{sb.base_url}/api/v2/snapshots/{ORG}/prod/-1").json()
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
        assert sb.add_snapshot("prod", ACME_NOW + 60, artifacts) == 4359
        added = httpx.get(f"{sb.base_url}/api/v2/snapshots/{ORG}/prod/-1").json()
    words = {
        a["name"].split("/")[-1].split(":")[0]: a["annotation"]["type"] for a in added["artifacts"]
    }
    assert words["payments"] == "exited"
    assert words["ledger"] == "unchanged"  # a scaling alone is not a change any more
    assert set(words.values()) <= WORDS

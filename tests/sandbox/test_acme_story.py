"""The acme organisation's story, snapshot by snapshot, in today's (2026) Kosli shapes."""

from __future__ import annotations

import json

import httpx

from bot.sandbox import ACME_NOW, acme
from tests.sandbox.acme_api import (
    ECR,
    LSP_95A,
    LSP_95A_FP,
    LSP_A97,
    ORG,
    SAMPLE,
    STORY,
    WORDS,
    Json,
    changes,
    failing_rules,
    get,
    named,
)


def test_snapshot_list_and_compliance_flips(acme_client: httpx.Client) -> None:
    rows = get(acme_client, f"/api/v2/snapshots/{ORG}/prod", per_page="20")
    assert [r["index"] for r in rows] == list(reversed(STORY))
    assert {r["index"]: r["compliant"] for r in rows} == {
        i: i not in (4355, 4356, 4357, 4360, 4362) for i in STORY
    }
    assert rows[0]["to"] == 0
    assert 0 < ACME_NOW - rows[0]["from"] < 10 * 60  # ACME_NOW is minutes after #4363
    envs = get(acme_client, f"/api/v2/environments/{ORG}")
    assert [(e["name"], e["type"], e["state"]) for e in envs] == [
        ("prod", "K8S", True),
        ("staging", "ECS", True),
        ("eu-prod", "K8S", True),
        ("eu-staging", "ECS", True),
        ("production", "logical", True),  # compliant as prod, which it includes
    ]
    assert envs[0]["policies"] == ["prod-requirements", "build-process"]
    assert [e["included_environments"] for e in envs] == [None, None, None, None, ["prod"]]


def test_a_logical_environment_has_no_snapshots_of_its_own(acme_client: httpx.Client) -> None:
    production = get(acme_client, f"/api/v2/environments/{ORG}/production")
    assert production["last_reported_at"] is None  # as Kosli's published answer
    assert get(acme_client, f"/api/v2/snapshots/{ORG}/production") == []
    latest = acme_client.get(f"/api/v2/snapshots/{ORG}/production/-1")
    assert latest.status_code == 404


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
    # Then nothing starts or stops: the same builds change in place, in Kosli's words.
    assert changes(prod[4359]) == {"ledger:81bd004": "changed"}  # instance replaced, 1 -> 1
    assert named(prod[4359], "ledger:81bd004")["annotation"] == {
        "type": "changed",
        "was": 1,
        "now": 1,
    }
    assert changes(prod[4360]) == {"notifier:4e1a9d2": "started-non-compliant"}
    assert named(prod[4360], "notifier:4e1a9d2")["flows"] == []
    assert changes(prod[4361]) == {"notifier:4e1a9d2": "updated-provenance"}
    assert named(prod[4361], "notifier:4e1a9d2")["flow_name"] == "notifier-ci"
    assert changes(prod[4362]) == {"payments:e2d4b60": "changed"}
    [rule] = failing_rules(named(prod[4362], "payments:e2d4b60"), "prod-requirements")
    assert [r["type"] for r in rule["resolutions"]] == ["non_compliant_attestation"]
    assert changes(prod[4363]) == {"payments:e2d4b60": "changed"}
    assert named(prod[4363], "payments:e2d4b60")["compliant"]


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
    assert prod[4363]["is_latest"] and prod[4363]["next_snapshot_timestamp"] is None
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
    acme_client: httpx.Client, prod: dict[int, Json]
) -> None:
    staging = {
        i: get(acme_client, f"/api/v2/snapshots/{ORG}/staging/%23{i}") for i in (1201, 1202, 1203)
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
                assert e.artifact.started_at <= snap.timestamp
                if record.created_at is not None:
                    assert record.flows[0].commit.timestamp < record.created_at
                    # Reported before it ran, except notifier: its flow reported it after
                    # prod started it (then Kosli says `updated-provenance`).
                    late = "notifier" in record.filename
                    assert (record.created_at < e.artifact.started_at) != late
                    assert record.created_at <= snap.timestamp or not e.artifact.flow_name

"""Kosli's asserts endpoint in the sandbox: acme's policies, and the 2022 data without them."""

from __future__ import annotations

import httpx

from bot.sandbox import TUTORIAL_NOW, KosliSandbox
from tests.sandbox.acme_api import ORG, Json, get, named
from tests.sandbox.cyber_dojo_api import AUTH


def asserts(acme_client: httpx.Client, org: str, fingerprint: str, **params: str) -> httpx.Response:
    return acme_client.get(f"/api/v2/asserts/{org}/fingerprint/{fingerprint}", params=params)


def statuses(answer: Json) -> dict[str, tuple[str, bool]]:
    return {
        s["attestation_name"]: (s["status"], s["is_compliant"])
        for f in answer["flows"]
        for s in f["compliance_status"]["attestations_statuses"]
    }


def test_asserts_for_the_broken_and_the_fixed_payments(
    acme_client: httpx.Client, prod: dict[int, Json]
) -> None:
    broken = named(prod[4355], "payments:c5a81f7")["fingerprint"]
    answer = asserts(acme_client, ORG, broken, environment_name="prod").json()
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
    assert asserts(acme_client, ORG, broken, environment_name="staging").json()["compliant"] is True
    flow_only = asserts(acme_client, ORG, broken).json()
    assert (flow_only["scope"], flow_only["compliant"], flow_only["policy_evaluations"]) == (
        "flow",
        False,
        [],
    )

    fixed = named(prod[4358], "payments:e2d4b60")["fingerprint"]
    answer = asserts(acme_client, ORG, fixed, environment_name="prod").json()
    assert answer["compliant"] is True
    assert all(status == "COMPLETE" for status, _ in statuses(answer).values())


def test_asserts_for_web_the_rogue_and_unknowns(
    acme_client: httpx.Client, prod: dict[int, Json]
) -> None:
    web = named(prod[4358], "web:9b0e6d3")["fingerprint"]
    answer = asserts(acme_client, ORG, web, environment_name="prod").json()
    assert answer["compliant"] is True
    assert [(f["flow"], f["trail"]) for f in answer["flows"]][1] == (
        "production-promotion",
        "promotion-one-43",
    )
    only = asserts(acme_client, ORG, web, flow_name="production-promotion").json()
    assert [f["flow"] for f in only["flows"]] == ["production-promotion"]
    by_policy = acme_client.get(
        f"/api/v2/asserts/{ORG}/fingerprint/{web}",
        params=[("policy_name", "build-process"), ("policy_name", "prod-requirements")],
    ).json()
    assert by_policy["scope"] == "policy"
    assert [e["policy_name"] for e in by_policy["policy_evaluations"]] == [
        "build-process",
        "prod-requirements",
    ]

    rogue = named(prod[4356], "busybox")["fingerprint"]
    answer = asserts(acme_client, ORG, rogue, environment_name="prod").json()
    assert answer["compliant"] is False
    assert answer["flows"] == []

    for response in (
        asserts(acme_client, ORG, "0" * 64),
        asserts(acme_client, ORG, web, environment_name="nowhere"),
        asserts(acme_client, ORG, web, flow_name="nope-ci"),
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

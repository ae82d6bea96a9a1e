"""An artifact's evidence: GET /asserts/{org}/fingerprint/{fp} and GET /trails/{org}/{flow}/{trail}.

Guesses where no real answer was seen: the asserts endpoint's `scope` is "flow", "environment"
or "policy" (the words Kosli's CLI checks), and a 2022 dataset's flows carry the attestations
in LEGACY_ATTESTATIONS.
"""

from __future__ import annotations

import hashlib

from .artifacts import records
from .base import APP, ApiError, Json, Reader, artifact_url
from .dataset import ArtifactRecord, Attestation, Policy
from .policies import policy_decision

# The attestations a 2022 flow had; "missing evidence: NAME" reasons mark one MISSING.
LEGACY_ATTESTATIONS = (
    ("pull-request", "pull_request"),
    ("unit-test", "junit"),
    ("snyk-scan", "snyk"),
)


def asserts(api: Reader, fingerprint: str, params: dict[str, str], policy_names: list[str]) -> Json:
    """Whether an artifact is compliant: in its flows, for an environment, or for policies."""
    record = next((r for r in records(api) if r.fingerprint == fingerprint.lower()), None)
    if record is None:
        raise ApiError(404, f"Artifact with fingerprint '{fingerprint}' does not exist")
    flows = attested_flows(api, record)
    if wanted := params.get("flow_name"):
        flows = [f for f in flows if f[0] == wanted]
        if not flows:
            raise ApiError(404, f"Artifact '{fingerprint}' is not in flow '{wanted}'")
    if env_name := params.get("environment_name"):
        scope, policies = "environment", api.dataset.policies_of(api.environment(env_name))
    elif policy_names:
        scope, policies = "policy", [_policy(api, name) for name in policy_names]
    else:
        scope, policies = "flow", []
    evaluations = [policy_decision(p, record.flows) for p in policies]
    in_flows = bool(flows) and all(a.is_compliant for f in flows for a in f[2])
    # Policies decide when there are any; otherwise the artifact's own flows do.
    compliant = all(e["status"] == "COMPLIANT" for e in evaluations) if evaluations else in_flows
    return {
        "compliant": compliant,
        "scope": scope,
        "policy_evaluations": evaluations,
        "flows": [_flow_status_json(*f) for f in flows],
        "html_url": artifact_url(api.org, record.flow_name, record.fingerprint)
        if record.flow_name
        else f"{APP}/{api.org}/search?query={record.fingerprint}",
    }


def trail(api: Reader, flow: str, name: str) -> Json:
    """A trail as GET /trails/{org}/{flow}/{trail} answers (the recorded creator-ci sample's
    shape): its commit, the CI job that made it (`origin_url`) and every artifact's
    attestation statuses. Trail-level attestations are not modelled: none here."""
    found = [
        (record, attestations)
        for record in records(api)
        for f, t, attestations in attested_flows(api, record)
        if (f, t) == (flow, name)
    ]
    if not found:
        raise ApiError(404, f"Trail '{name}' does not exist in flow '{flow}'")
    first = found[0][0]
    commit = next((f.commit for f in first.flows if f.flow_name == flow), None)
    statuses = {
        _template_name(record, flow): {
            "artifact_fingerprint": record.fingerprint,
            **_flow_status_json(flow, name, attestations)["compliance_status"],
        }
        for record, attestations in found
    }
    compliant = all(s["is_compliant"] for s in statuses.values())
    status = "COMPLIANT" if compliant else "NON-COMPLIANT"
    return {
        "name": name,
        "description": "",
        "git_commit_info": {
            "sha1": commit.sha1,
            "message": commit.message,
            "author": commit.author,
            "branch": commit.branch,
            "timestamp": commit.timestamp,
            "url": commit.url,
        }
        if commit
        else {"sha1": first.git_commit, "url": first.commit_url},
        "origin_url": first.build_url,
        "created_at": first.created_at,
        "compliance_status": {
            "status": status,
            "is_compliant": compliant,
            "attestations_statuses": [],
            "artifacts_statuses": statuses,
        },
        "compliance_state": status,
        "is_compliant": compliant,
        "flow": {"name": flow, "tags": {}},
        "html_url": f"{APP}/{api.org}/flows/{flow}/trails/{name}",
    }


def attested_flows(api: Reader, record: ArtifactRecord) -> list[tuple[str, str, list[Attestation]]]:
    """(flow, trail, attestations) of each flow the artifact is in."""
    if record.flows:
        return [(f.flow_name, f.trail_name, f.attestations) for f in record.flows]
    if not record.flow_name:
        return []
    reasons = {
        reason
        for env in api.dataset.environments
        for snap in api.visible(env)
        for e in snap.entries
        if e.artifact.fingerprint == record.fingerprint
        for reason in e.artifact.reasons_for_incompliance
    }
    prefix = "missing evidence: "
    missing = {r.removeprefix(prefix) for r in reasons if r.startswith(prefix)}
    known = {name for name, _ in LEGACY_ATTESTATIONS}
    attestations = [
        Attestation(name, kind, "MISSING" if name in missing else "COMPLETE")
        for name, kind in LEGACY_ATTESTATIONS
    ] + [Attestation(name, "generic", "MISSING") for name in sorted(missing - known)]
    return [(record.flow_name, record.trail_name, attestations)]


def _policy(api: Reader, name: str) -> Policy:
    policy = next((p for p in api.dataset.policies if p.name == name), None)
    if policy is None:
        raise ApiError(404, f"Policy named '{name}' does not exist for organization '{api.org}'")
    return policy


def _flow_status_json(flow: str, trail: str, attestations: list[Attestation]) -> Json:
    compliant = all(a.is_compliant for a in attestations)
    return {
        "flow": flow,
        "trail": trail,
        "compliance_status": {
            "status": "COMPLIANT" if compliant else "NON-COMPLIANT",
            "is_compliant": compliant,
            "attestations_statuses": [
                {
                    "attestation_name": a.name,
                    "attestation_type": a.type,
                    "attestation_id": _attestation_id(flow, trail, a.name)
                    if a.status != "MISSING"
                    else None,
                    "status": a.status,
                    "is_compliant": a.is_compliant,
                    "unexpected": False,
                }
                for a in attestations
            ],
        },
    }


def _template_name(record: ArtifactRecord, flow: str) -> str:
    """The artifact's name in its flow's template: 'web', not the image name."""
    named = next((f.template_reference_name for f in record.flows if f.flow_name == flow), "")
    return named or record.flow_name or record.filename


def _attestation_id(flow: str, trail: str, name: str) -> str:
    # Stable ids in the shape Kosli shows (a UUID cut short).
    h = hashlib.sha1(f"{flow}/{trail}/{name}".encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:28]}"

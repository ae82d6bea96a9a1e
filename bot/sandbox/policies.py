"""How an environment policy judges an artifact: `policy_decisions[]` and `applied_policies[]`.

Guesses where no real answer was seen: `applied_policies[].failing_artifacts` lists
`{name, fingerprint}`, and an artifact without provenance fails a provenance rule with
resolution `missing_provenance`.
"""

from __future__ import annotations

from .base import Json
from .dataset import FlowTrail, Policy

_BUILD_FLOWS = 'flow.tags.kind == "build"'
_OTHER_FLOWS = 'flow.tags.kind != "build"'


def policy_decision(policy: Policy, flows: list[FlowTrail]) -> Json:
    """How `policy` judges an artifact in these flows (the shape of `policy_decisions[]`)."""
    rules = [_provenance_rule(policy, flows), _trail_compliance_rule(flows)] + [
        _attestation_rule(name, kind, flows) for name, kind in policy.attestations
    ]
    failed = any(not r["ignored"] and r["satisfied"] is not True for r in rules)
    return {
        "policy_name": policy.name,
        "policy_version": policy.version,
        "status": "NON-COMPLIANT" if failed else "COMPLIANT",
        "rule_evaluations": rules,
    }


def applied_policy_json(policy: Policy, running: list[Json]) -> Json:
    """A snapshot's `applied_policies[]` entry; `running` are its running artifacts' JSON."""
    failing = [
        {"name": a["name"], "fingerprint": a["fingerprint"]}
        for a in running
        for d in a["policy_decisions"]
        if d["policy_name"] == policy.name and d["status"] != "COMPLIANT"
    ]
    provenance = (
        {"required": True, "exceptions": [{"if_condition": {"text": _OTHER_FLOWS}}]}
        if policy.provenance
        else {"required": False, "exceptions": []}
    )
    attestations = [
        {"if_condition": {"text": _BUILD_FLOWS}, "name": n, "type": t, "must_be_compliant": True}
        for n, t in policy.attestations
    ]
    return {
        "id": policy.id,
        "name": policy.name,
        "version": policy.version,
        "policy_dump": {
            "schema_version": "1",
            "artifacts": {
                "provenance": provenance,
                "trail_compliance": {"required": False, "exceptions": []},
                "attestations": attestations,
            },
        },
        "failing_artifacts": failing,
    }


def _rule(kind: str, definition: Json, resolutions: list[Json]) -> Json:
    # A rule no flow applies to is ignored; otherwise every resolution must be a pass.
    ignored = all(r["type"] == "rule_not_applicable" for r in resolutions)
    passes = ("rule_satisfied", "rule_not_applicable")
    satisfied = None if ignored else all(r["type"] in passes for r in resolutions)
    return {
        "rule": {"type": kind, "definition": definition},
        "satisfied": satisfied,
        "ignored": ignored,
        "resolutions": resolutions,
    }


def _resolution(kind: str, flow: FlowTrail | None, status: str | None = None) -> Json:
    return {
        "type": kind,
        "context": {
            "flow_name": flow.flow_name if flow else None,
            "trail_name": flow.trail_name if flow else None,
            "artifact_status": status,
        },
    }


def _provenance_rule(policy: Policy, flows: list[FlowTrail]) -> Json:
    if not policy.provenance:
        return _rule(
            "provenance",
            {"required": False, "exceptions": []},
            [_resolution("rule_not_applicable", f) for f in flows],
        )
    resolutions = [
        _resolution("rule_satisfied" if f.build else "rule_not_applicable", f) for f in flows
    ]
    if not any(f.build for f in flows):
        resolutions.append(_resolution("missing_provenance", None))
    definition = {"required": True, "exceptions": [{"if": {"text": _OTHER_FLOWS}}]}
    return _rule("provenance", definition, resolutions)


def _trail_compliance_rule(flows: list[FlowTrail]) -> Json:
    # Neither bundled policy requires trail compliance; Kosli still lists the rule.
    resolutions = [
        _resolution("rule_not_applicable", f, "COMPLIANT" if f.compliant else "NON-COMPLIANT")
        for f in flows
    ]
    return _rule("trail-compliance", {"required": False, "exceptions": []}, resolutions)


def _attestation_rule(name: str, kind: str, flows: list[FlowTrail]) -> Json:
    resolutions = []
    for f in flows:
        found = next((a for a in f.attestations if a.name == name), None)
        if not f.build:
            outcome = "rule_not_applicable"
        elif found is None or found.status == "MISSING":
            outcome = "missing_attestation"
        elif not found.is_compliant:
            outcome = "non_compliant_attestation"
        else:
            outcome = "rule_satisfied"
        resolutions.append(_resolution(outcome, f))
    definition = {
        "if": {"text": _BUILD_FLOWS},
        "name": name,
        "type": kind,
        "must_be_compliant": True,
    }
    return _rule("attestation", definition, resolutions)

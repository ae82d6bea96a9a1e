"""One snapshot as GET /snapshots/{org}/{env}/{id} answers it, in 2022 or 2026 shapes.

2026 entries carry their flows, commit info, policy decisions and a deployment_diff against
the artifact they replaced; 2022 entries carry deployments and reasons for incompliance.
"""

from __future__ import annotations

from .base import APP, Json, Reader, artifact_url
from .dataset import Environment, FlowTrail, Policy, RunningArtifact, Snapshot, SnapshotEntry
from .policies import applied_policy_json, policy_decision


def snapshot_json(api: Reader, env: Environment, snap: Snapshot) -> Json:
    if api.dataset.modern:
        return _modern_snapshot_json(api, env, snap)
    return {
        "index": snap.index,
        "timestamp": snap.timestamp,
        "type": env.type,
        "user_id": snap.user_id,
        "user_name": snap.user_name,
        "compliant": snap.compliant,
        "artifacts": [_entry_json(e) for e in snap.entries],
    }


def compare_url(old_commit_url: str, old: str, new: str) -> str:
    """GitHub's /compare/OLD...NEW or GitLab's /-/compare/OLD...NEW, from a commit's URL."""
    if "/-/commit/" in old_commit_url:
        return f"{old_commit_url.split('/-/commit/')[0]}/-/compare/{old}...{new}"
    return f"{old_commit_url.split('/commit/')[0]}/compare/{old}...{new}"


def _entry_json(entry: SnapshotEntry) -> Json:
    a = entry.artifact
    return {
        "name": a.name,
        "fingerprint": a.fingerprint,
        "flow_name": a.flow_name,
        "git_commit": a.git_commit,
        "commit_url": a.commit_url,
        "compliant": a.compliant,
        "deployments": list(a.deployments),
        "creationTimestamp": [a.started_at] * a.instances,
        "pods": None,  # only K8S environments report pods
        "annotation": {
            "type": entry.annotation.type,
            "was": entry.annotation.was,
            "now": entry.annotation.now,
        },
        "reasons_for_incompliance": list(a.reasons_for_incompliance),
    }


def _modern_snapshot_json(api: Reader, env: Environment, snap: Snapshot) -> Json:
    later = [s for s in api.visible(env) if s.index > snap.index]
    policies = api.dataset.policies_of(env)
    artifacts = [_modern_entry_json(api, env, snap, e, policies) for e in snap.entries]
    running = [a for a in artifacts if a["annotation"]["now"] > 0]
    return {
        "index": snap.index,
        "is_latest": not later,
        "next_snapshot_timestamp": later[0].timestamp if later else None,
        "artifact_compliance_count": {
            "true": sum(a["compliant"] is True for a in running),
            "false": sum(a["compliant"] is False for a in running),
            "null": sum(a["compliant"] is None for a in running),
        },
        "timestamp": snap.timestamp,
        "type": env.type,
        "compliant": snap.compliant,
        "html_url": f"{APP}/{api.org}/environments/{env.name}/snapshots/{snap.index}",
        "artifacts": artifacts,
        "applied_policies": [applied_policy_json(p, running) for p in policies],
    }


def _modern_entry_json(
    api: Reader, env: Environment, snap: Snapshot, entry: SnapshotEntry, policies: list[Policy]
) -> Json:
    a = entry.artifact
    record = api.dataset.record(a.fingerprint)
    flows = a.flows if a.flows is not None else record.flows if record else []
    flows_json = [_flow_json(api, env, snap, a, f) for f in flows]
    build = next((j for f, j in zip(flows, flows_json, strict=True) if f.build), None)
    return {
        "name": a.name,
        "compliant": a.compliant,
        "deployments": [],  # Kosli dropped deployments in 2026
        "policy_decisions": [policy_decision(p, flows) for p in policies],
        "reasons_for_incompliance": [],
        "fingerprint": a.fingerprint,
        "creationTimestamp": [a.started_at] * a.instances,
        "pods": None,
        "annotation": {
            "type": entry.annotation.type,
            "was": entry.annotation.was,
            "now": entry.annotation.now,
        },
        "flow_name": a.flow_name,
        "git_commit": a.git_commit,
        "commit_url": a.commit_url,
        "html_url": artifact_url(api.org, a.flow_name, a.fingerprint) if a.flow_name else None,
        "flow_html_url": f"{APP}/{api.org}/flows/{a.flow_name}" if a.flow_name else None,
        "deployment_diff": build["deployment_diff"] if build else None,
        "commit_lead_time": build["commit_lead_time"] if build else None,
        "flows": flows_json,
    }


def _flow_json(
    api: Reader, env: Environment, snap: Snapshot, a: RunningArtifact, flow: FlowTrail
) -> Json:
    c = flow.commit
    return {
        "flow_name": flow.flow_name,
        "trail_name": flow.trail_name,
        "template_reference_name": flow.template_reference_name,
        "git_commit": c.sha1,
        "commit_url": c.url,
        "git_commit_info": {
            "sha1": c.sha1,
            "message": c.message,
            "author": c.author,
            "branch": c.branch,
            "timestamp": c.timestamp,
            "url": c.url,
        },
        "html_url": artifact_url(api.org, flow.flow_name, a.fingerprint),
        "flow_html_url": f"{APP}/{api.org}/flows/{flow.flow_name}",
        "deployment_diff": _deployment_diff(api, env, snap, a.fingerprint, flow),
        "commit_lead_time": round(a.started_at - c.timestamp, 3),
        "artifact_compliance_in_flow": flow.compliant,
        "flow_reasons_for_non_compliance": [],
    }


def _deployment_diff(
    api: Reader, env: Environment, snap: Snapshot, fingerprint: str, flow: FlowTrail
) -> Json:
    """The artifact of the same flow (and template name) that ran in `env` just before this
    one last started there; None when it has run since the first snapshot kept."""
    snaps = [s for s in api.visible(env) if s.index <= snap.index]
    starts = [
        i
        for i, s in enumerate(snaps)
        for e in s.entries
        if e.artifact.fingerprint == fingerprint and e.annotation.type.startswith("started")
    ]
    if not starts or starts[-1] == 0:
        return None
    candidates = []
    for e in [e for e in snaps[starts[-1] - 1].entries if e.running]:
        record = api.dataset.record(e.artifact.fingerprint)
        same = [
            f
            for f in (record.flows if record else [])
            if (f.flow_name, f.template_reference_name)
            == (flow.flow_name, flow.template_reference_name)
        ]
        if same and record is not None and e.artifact.fingerprint != fingerprint:
            candidates.append((e.artifact, record, same[0]))
    if not candidates:
        return None
    prev, record, prev_flow = max(candidates, key=lambda c: c[0].started_at)
    old, new = prev_flow.commit, flow.commit
    return {
        "diff_url": compare_url(old.url, old.sha1, new.sha1),
        "previous_git_commit": old.sha1,
        "previous_fingerprint": prev.fingerprint,
        "previous_artifact_name": prev.name,
        "previous_artifact_compliance_state": record.state,
        "previous_running": any(r.fingerprint == prev.fingerprint for r in snap.running()),
        "previous_git_commit_url": old.url,
        "previous_trail_name": prev_flow.trail_name,
        "previous_template_reference_name": prev_flow.template_reference_name,
    }

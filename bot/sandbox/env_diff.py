"""GET /env-diff/{org}?snappish1=..&snappish2=..: what runs in one snapshot and not the other."""

from __future__ import annotations

from .base import ApiError, Json, Reader
from .dataset import Environment, RunningArtifact, Snapshot


def env_diff(api: Reader, first: str, second: str) -> Json:
    env1, snap1 = _expression(api, first)
    env2, snap2 = _expression(api, second)
    one = {a.fingerprint: a for a in snap1.running()}
    two = {a.fingerprint: a for a in snap2.running()}
    both = [fp for fp in one if fp in two]
    changed = [
        fp
        for fp in both
        if one[fp].instances != two[fp].instances and not api.dataset.modern  # no scaling
    ]
    return {
        "snappish1": {
            "snapshot_id": f"{env1.name}#{snap1.index}",
            "artifacts": [_diff_json(one[fp], one[fp], None) for fp in one if fp not in two],
        },
        "snappish2": {
            "snapshot_id": f"{env2.name}#{snap2.index}",
            "artifacts": [_diff_json(two[fp], None, two[fp]) for fp in two if fp not in one],
        },
        "changed": {"artifacts": [_diff_json(two[fp], one[fp], two[fp]) for fp in changed]},
        "not-changed": {
            "artifacts": [_diff_json(two[fp], one[fp], two[fp]) for fp in both if fp not in changed]
        },
    }


def _expression(api: Reader, text: str) -> tuple[Environment, Snapshot]:
    """The snapshot a snappish ("prod", "prod#3", "prod~1", "prod@{...}") names."""
    seps = [c for c in "#~@" if c in text]
    if not text:
        raise ApiError(400, "snappish1 and snappish2 are both required")
    if len(seps) > 1:
        raise ApiError(
            400, f"invalid expression: {text}. Only one of '@', '~' or '#' can be present"
        )
    cut = text.index(seps[0]) if seps else len(text)
    if cut == 0:
        raise ApiError(400, f"invalid expression: {text}. Environment name is missing")
    env = api.environment(text[:cut])
    return env, api.resolve(env, text[cut:])


def _diff_json(
    a: RunningArtifact, in1: RunningArtifact | None, in2: RunningArtifact | None
) -> Json:
    count1 = in1.instances if in1 else 0
    count2 = in2.instances if in2 else 0
    return {
        "name": a.name,
        "fingerprint": a.fingerprint,
        "flow": a.flow_name,
        "commit_url": a.commit_url,
        "most_recent_timestamp": a.started_at,
        "instance_count": a.instances,
        "s1_instance_count": count1,
        "s2_instance_count": count2,
        "pods": None,
    }

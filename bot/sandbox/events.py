"""GET /environments/{org}/{env}/events as today's Kosli answers it, derived from the
snapshots' annotations: one event per artifact that started, exited, changed or had its
provenance updated, newest first, paged with Kosli's headers.

Rules the real API does not document and this fake chooses:
- 2022-era data has no event log: 404, as old orgs answer;
- `start`/`end` are inclusive; a time expression is `NOW` or `N` hour/day/week/month(s) ago;
- the `repo` and `interval` filters are ignored.
"""

from __future__ import annotations

import math
import re

from .base import APP, ApiError, Json, Reader, artifact_url
from .dataset import Environment, Snapshot, SnapshotEntry
from .snapshots import compare_url

_AGO = re.compile(r"(?P<n>\d+)\s*(?P<unit>hour|day|week|month)s?", re.IGNORECASE)
_UNIT_SECONDS = {"hour": 3600, "day": 86400, "week": 7 * 86400, "month": 30 * 86400}
MAX_PER_PAGE = 100


def events(api: Reader, env: Environment, params: dict[str, str]) -> tuple[Json, dict[str, str]]:
    """The page asked for, and the paging headers."""
    if not api.dataset.modern:
        raise ApiError(404, f"Not found: no event log for environment '{env.name}'")
    snaps = [s for s in api.visible(env) if _inside(api, s, params)]
    found = [
        _event_json(api, env, snap, entry)
        for snap in reversed(snaps)
        for entry in snap.entries
        if entry.annotation.type != "unchanged"
    ]
    if params.get("reverse", "false").lower() == "true":
        found.reverse()
    page, per_page = _paging(params)
    pages = max(1, math.ceil(len(found) / per_page))
    headers = {"X-Total-Count": str(len(found)), "X-Total-Pages": str(pages)}
    if page < pages:
        headers["Link"] = f'<?page={page + 1}&per_page={per_page}>; rel="next"'
    return found[(page - 1) * per_page : page * per_page], headers


def _inside(api: Reader, snap: Snapshot, params: dict[str, str]) -> bool:
    low = _bound(api, params.get("start"), snap)
    high = _bound(api, params.get("end"), snap)
    start_ts, end_ts = _float(params, "start_ts"), _float(params, "end_ts")
    return (
        (low is None or low <= 0)
        and (high is None or high >= 0)
        and (start_ts is None or snap.timestamp >= start_ts)
        and (end_ts is None or snap.timestamp <= end_ts)
    )


def _bound(api: Reader, text: str | None, snap: Snapshot) -> float | None:
    """Where `snap` sits against a bound: negative before it, 0 on it, positive after."""
    if text is None or text == "":
        return None
    text = text.strip()
    if text.isdigit():
        return int(text) - snap.index
    if text.upper() == "NOW":
        return api.now - snap.timestamp
    ago = _AGO.fullmatch(text)
    if ago is None:
        raise ApiError(400, f"invalid start or end: {text}")
    return api.now - int(ago["n"]) * _UNIT_SECONDS[ago["unit"].lower()] - snap.timestamp


def _float(params: dict[str, str], key: str) -> float | None:
    if key not in params:
        return None
    try:
        return float(params[key])
    except ValueError:
        raise ApiError(400, f"{key} must be a Unix time") from None


def _paging(params: dict[str, str]) -> tuple[int, int]:
    try:
        page, per_page = int(params.get("page", 1)), int(params.get("per_page", 15))
    except ValueError:
        raise ApiError(400, "page and per_page must be integers") from None
    if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
        raise ApiError(400, f"page must be at least 1, per_page from 1 to {MAX_PER_PAGE}")
    return page, per_page


def _description(entry: SnapshotEntry) -> str:
    kind, was, now = entry.annotation.type, entry.annotation.was, entry.annotation.now
    if kind.startswith("started"):
        return f"{_instances(now)} started running (from {was} to {now})"
    if kind == "exited":
        return f"{_instances(was)} stopped running (from {was} to {now})"
    return f"{_instances(now)} changed"


def _instances(count: int) -> str:
    return f"{count} instance{'s' if count != 1 else ''}"


def _event_json(api: Reader, env: Environment, snap: Snapshot, entry: SnapshotEntry) -> Json:
    a = entry.artifact
    record = api.dataset.record(a.fingerprint)
    flows = record.flows if record and a.flow_name else []
    build = next((f for f in flows if f.build), None)
    previous = _previous_build(api, env, snap, a.fingerprint, a.flow_name) if build else None
    code_diff = (
        compare_url(build.commit.url, previous, build.commit.sha1) if build and previous else None
    )
    snapshot_url = f"/snapshots/{api.org}/{env.name}/{snap.index}"
    return {
        "environment_name": env.name,
        "snapshot_index": snap.index,
        "artifact_name": a.name,
        "sha256": a.fingerprint,
        "description": _description(entry),
        "reported_at": snap.timestamp,
        "pipeline": a.flow_name or None,
        "deployments": [],
        "flows": [{"flow_name": f.flow_name, "deployments": None} for f in flows],
        "artifact_compliance": a.compliant,
        "snapshot_compliance": snap.compliant,
        "type": entry.annotation.type,
        "code_diff": code_diff,
        "_links": {
            "artifact": {
                "self": f"{APP}/api/v2/artifacts/{api.org}/{a.flow_name}"
                f"/fingerprint/{a.fingerprint}",
                "html": artifact_url(api.org, a.flow_name, a.fingerprint),
            }
            if a.flow_name
            else None,
            "snapshot": {
                "self": f"{APP}/api/v2{snapshot_url}",
                "html": f"{APP}/{api.org}/environments/{env.name}/snapshots/{snap.index}",
            },
        },
    }


def _previous_build(
    api: Reader, env: Environment, snap: Snapshot, fingerprint: str, flow: str
) -> str | None:
    """The commit of the build of `flow` that ran before this one, as Kosli's compare link
    names it; None when there was none."""
    for older in reversed([s for s in api.visible(env) if s.index < snap.index]):
        for other in older.running():
            if other.flow_name == flow and other.fingerprint != fingerprint and other.git_commit:
                return other.git_commit
    return None

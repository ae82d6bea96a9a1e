"""Artifact records as GET /artifacts/{org}/{flow}/... and GET /search/{org}/sha/... answer them,
each with where it runs, where it exited and its history, derived from the visible snapshots."""

from __future__ import annotations

import re

from .base import ApiError, Json, Reader
from .dataset import ArtifactRecord

_HEX_PREFIX = re.compile(r"[0-9a-f]{4,64}")


def records(api: Reader) -> list[ArtifactRecord]:
    """Records that exist at `now`: created by then, or (no provenance) seen running."""
    seen = {
        e.artifact.fingerprint
        for env in api.dataset.environments
        for snap in api.visible(env)
        for e in snap.entries
    }
    return [
        r
        for r in api.dataset.artifacts
        if (r.created_at is not None and r.created_at <= api.now) or r.fingerprint in seen
    ]


def flow_artifacts(api: Reader, flow: str, by: str, sha: str, trail: str | None) -> Json:
    """The artifacts of `flow` whose fingerprint (by="fingerprint") or commit starts with sha."""
    prefix = _prefix(sha, "fingerprint" if by == "fingerprint" else "commit sha")
    views = [(r, v) for r in records(api) for v in _flow_views(r) if v[0] == flow]
    if not views:
        raise ApiError(404, f"Flow named '{flow}' does not exist for organization '{api.org}'")
    found = [
        (r, v)
        for r, v in views
        if ((r.fingerprint if by == "fingerprint" else v[2]) or "").startswith(prefix)
        and (trail is None or v[1] == trail)
    ]
    if not found:
        raise ApiError(404, f"No artifact in flow '{flow}' matches {by} '{sha}'")
    answer = []
    for r, (flow_name, trail_name, git_commit, commit_url) in found:
        running, exited, derived = _whereabouts(api, r.fingerprint)
        answer.append(
            {
                "filename": r.filename,
                "flow_name": flow_name,
                "trail_name": trail_name,
                "fingerprint": r.fingerprint,
                "created_at": r.created_at,
                "git_commit": git_commit,
                "commit_url": commit_url,
                "build_url": r.build_url,
                "html_url": r.html_url,
                "state": r.state,
                "running": running,
                "exited": exited,
                "history": _history(api, r, derived),
            }
        )
    if api.dataset.modern and by == "fingerprint" and len(answer) == 1:
        return answer[0]  # today's Kosli answers one match as a bare object
    return answer


def search(api: Reader, value: str) -> Json:
    """Artifacts whose fingerprint starts with `value`, or else those whose commit does."""
    prefix = _prefix(value, "search value")
    known = records(api)
    by_fp = [r for r in known if r.fingerprint.startswith(prefix)]
    by_commit = [r for r in known if (r.git_commit or "").startswith(prefix)]
    fingerprints = sorted({r.fingerprint for r in by_fp})
    commits = sorted({r.git_commit for r in by_commit if r.git_commit})
    if not fingerprints and not commits:
        raise ApiError(404, f"No commit or fingerprint matches '{value}'")
    kind, matches, found = (
        ("fingerprint", fingerprints, by_fp) if fingerprints else ("commit", commits, by_commit)
    )
    answer = []
    for r in found:
        running, exited, derived = _whereabouts(api, r.fingerprint)
        answer.append(
            {
                "fingerprint": r.fingerprint,
                "name": r.filename,
                "flow": r.flow_name,
                "git_commit": r.git_commit,
                "has_provenance": bool(r.flow_name),
                "commit_url": r.commit_url,
                "build_url": r.build_url,
                "html_url": r.html_url,
                "compliance_state": r.state,
                "running_in": [_where(w) for w in running],
                "exited_from": [_where(w) for w in exited],
                "history": _history(api, r, derived),
            }
        )
    return {
        "resolved_to": {
            "type": kind,
            "full_match": matches[0] if len(matches) == 1 else None,
            "fingerprints": {"count": len(fingerprints), "matches": fingerprints},
            "commits": {"count": len(commits), "matches": commits},
        },
        "artifacts": answer,
    }


def _whereabouts(api: Reader, fingerprint: str) -> tuple[list[Json], list[Json], list[Json]]:
    """(running, exited, history events) of one fingerprint, from the visible snapshots."""
    running: list[Json] = []
    exited: list[Json] = []
    events: list[Json] = []
    for env in api.dataset.environments:
        snaps = api.visible(env)
        last_exit = None
        for snap in snaps:
            for e in snap.entries:
                if e.artifact.fingerprint != fingerprint:
                    continue
                where = f"{env.name}#{snap.index}"
                if e.annotation.type.startswith("started"):
                    event = f"Started running in {where} environment"
                    events.append({"event": event, "timestamp": snap.timestamp})
                elif e.annotation.type == "exited":
                    event = f"No longer running in {where} environment"
                    events.append({"event": event, "timestamp": snap.timestamp})
                    last_exit = snap.index
        if snaps and any(a.fingerprint == fingerprint for a in snaps[-1].running()):
            running.append({"environment_name": env.name, "snapshot_index": snaps[-1].index})
        elif last_exit is not None:
            exited.append({"environment_name": env.name, "snapshot_index": last_exit})
    return running, exited, events


def _history(api: Reader, record: ArtifactRecord, derived: list[Json]) -> list[Json]:
    typed = [
        {"event": h.event, "timestamp": h.timestamp}
        for h in record.history
        if h.timestamp <= api.now
        and not (api.dataset.modern and h.event.startswith("Deployment #"))
    ]
    return sorted(typed + derived, key=lambda h: h["timestamp"])


def _flow_views(r: ArtifactRecord) -> list[tuple[str, str, str | None, str | None]]:
    """(flow, trail, git commit, commit url) for each flow the record is in."""
    if r.flows:
        return [(f.flow_name, f.trail_name, f.commit.sha1, f.commit.url) for f in r.flows]
    return [(r.flow_name, r.trail_name, r.git_commit, r.commit_url)] if r.flow_name else []


def _prefix(value: str, what: str) -> str:
    prefix = value.lower()
    if not _HEX_PREFIX.fullmatch(prefix):
        raise ApiError(400, f"{what} must be 4 to 64 hexadecimal characters, got '{value}'")
    return prefix


def _where(place: Json) -> str:
    return f"{place['environment_name']}#{place['snapshot_index']}"

"""Kosli's HTTP API answered from a Dataset, as seen at one moment (no sockets here).

Rules the real API does not document and this fake chooses:
- sha and fingerprint prefixes must be 4+ hex characters (400 otherwise);
- `@{N.months.ago}` counts a month as 30 days;
- a record or snapshot later than `now` does not exist yet;
- ignored: the snapshot list's `interval`, the environment list's filters (name, type, tag, sort).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote

from .dataset import ArtifactRecord, Dataset, Environment, RunningArtifact, Snapshot, SnapshotEntry

Json = Any

_SUFFIX = re.compile(r"#(?P<nth>-?\d+)|~(?P<behind>\d+)|@\{(?P<at>[^{}]+)\}")
_AGO = re.compile(r"(?P<n>\d+)\.(?P<unit>hour|day|week|month)s?\.ago")
_UNIT_SECONDS = {"hour": 3600, "day": 86400, "week": 7 * 86400, "month": 30 * 86400}
_HEX_PREFIX = re.compile(r"[0-9a-f]{4,64}")


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Api:
    dataset: Dataset
    org: str
    now: float

    def get(self, path: str, query: str) -> Json:
        """The JSON answer for GET path?query, or ApiError."""
        params = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
        parts = [unquote(p) for p in path.strip("/").split("/")]
        match parts:
            case ["api", "v2", "environments", org]:
                self._check_org(org)
                return self.environments(params)
            case ["api", "v2", "environments", org, env]:
                self._check_org(org)
                return self.environment_json(self._env(env))
            case ["api", "v2", "snapshots", org, env]:
                self._check_org(org)
                return self.snapshot_list(self._env(env), params)
            case ["api", "v2", "snapshots", org, env, snap_id]:
                self._check_org(org)
                environment = self._env(env)
                suffix = "" if snap_id == "-1" else snap_id  # the CLI's id for the latest
                return self.snapshot_json(environment, self.resolve(environment, suffix))
            case ["api", "v2", "env-diff", org]:
                self._check_org(org)
                return self.diff(params.get("snappish1", ""), params.get("snappish2", ""))
            case ["api", "v2", "artifacts", org, flow, ("fingerprint" | "commit_sha") as by, sha]:
                self._check_org(org)
                return self.artifacts(flow, by, sha, params.get("trail"))
            case ["api", "v2", "search", org, "sha", value]:
                self._check_org(org)
                return self.search(value)
        raise ApiError(404, f"Not found: {path}")

    # -- environments --------------------------------------------------------------------------

    def _check_org(self, org: str) -> None:
        if org != self.org:
            raise ApiError(403, f"You do not have access to organization '{org}'")

    def _env(self, name: str) -> Environment:
        env = self.dataset.environment(name)
        if env is None:
            raise ApiError(
                404, f"Environment named '{name}' does not exist for organization '{self.org}'"
            )
        return env

    def visible(self, env: Environment) -> list[Snapshot]:
        return [s for s in env.snapshots if s.timestamp <= self.now]

    def environment_json(self, env: Environment) -> Json:
        snaps = self.visible(env)
        latest = snaps[-1] if snaps else None
        return {
            "name": env.name,
            "type": env.type,
            "description": env.description,
            "last_reported_at": latest.timestamp if latest else None,
            "last_modified_at": env.last_modified_at,
            "state": latest.compliant if latest else None,
            "tags": dict(env.tags),
            "policies": list(env.policies),
        }

    def environments(self, params: dict[str, str]) -> Json:
        envs = [self.environment_json(e) for e in self.dataset.environments]
        if "page" not in params and "per_page" not in params:
            return envs  # the unpaged form is a plain array
        page, per_page = _paging(params)
        return {
            "page": page,
            "per_page": per_page,
            "total_pages": math.ceil(len(envs) / per_page),
            "total_count": len(envs),
            "environments": envs[(page - 1) * per_page : page * per_page],
        }

    # -- snapshots -----------------------------------------------------------------------------

    def snapshot_list(self, env: Environment, params: dict[str, str]) -> Json:
        snaps = self.visible(env)
        rows = []
        for i, snap in enumerate(snaps):
            to = snaps[i + 1].timestamp if i + 1 < len(snaps) else 0
            rows.append(
                {
                    "index": snap.index,
                    "from": snap.timestamp,
                    "to": to,
                    "duration": round((to or self.now) - snap.timestamp, 3),
                    "compliant": snap.compliant,
                }
            )
        if params.get("reverse", "false").lower() != "true":
            rows.reverse()  # newest first by default
        page, per_page = _paging(params)
        return rows[(page - 1) * per_page : page * per_page]

    def resolve(self, env: Environment, suffix: str) -> Snapshot:
        """The snapshot a snappish suffix ("", "#N", "#-N", "~N", "@{...}") names."""
        shown = f"{env.name}{suffix}"
        snaps = self.visible(env)
        match = _SUFFIX.fullmatch(suffix)
        if suffix == "":
            found = snaps[-1:]
        elif match is None:
            raise ApiError(400, f"invalid snapshot expression: {shown}")
        elif match["nth"] is not None:
            nth = int(match["nth"])
            if nth == 0:
                raise ApiError(400, f"invalid snapshot expression: {shown}. Snapshots count from 1")
            if nth > 0:
                found = [s for s in snaps if s.index == nth]
            else:  # #-1 is the latest, #-2 the one before
                found = [snaps[nth]] if -nth <= len(snaps) else []
        elif match["behind"] is not None:
            behind = int(match["behind"])
            found = [snaps[-1 - behind]] if behind < len(snaps) else []
        else:
            at = self._moment(match["at"], shown)
            found = [s for s in snaps if s.timestamp <= at][-1:]
        if not found:
            raise ApiError(404, f"Snapshot {shown} does not exist for organization '{self.org}'")
        return found[0]

    def _moment(self, text: str, shown: str) -> float:
        ago = _AGO.fullmatch(text)
        if ago:
            return self.now - int(ago["n"]) * _UNIT_SECONDS[ago["unit"]]
        try:
            return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC).timestamp()
        except ValueError:
            raise ApiError(400, f"invalid snapshot expression: {shown}") from None

    def snapshot_json(self, env: Environment, snap: Snapshot) -> Json:
        return {
            "index": snap.index,
            "timestamp": snap.timestamp,
            "type": env.type,
            "user_id": snap.user_id,
            "user_name": snap.user_name,
            "compliant": snap.compliant,
            "artifacts": [_entry_json(e) for e in snap.entries],
        }

    # -- diff ----------------------------------------------------------------------------------

    def expression(self, text: str) -> tuple[Environment, Snapshot]:
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
        env = self._env(text[:cut])
        return env, self.resolve(env, text[cut:])

    def diff(self, first: str, second: str) -> Json:
        env1, snap1 = self.expression(first)
        env2, snap2 = self.expression(second)
        one = {a.fingerprint: a for a in snap1.running()}
        two = {a.fingerprint: a for a in snap2.running()}
        both = [fp for fp in one if fp in two]
        changed = [fp for fp in both if one[fp].instances != two[fp].instances]
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
                "artifacts": [
                    _diff_json(two[fp], one[fp], two[fp]) for fp in both if fp not in changed
                ]
            },
        }

    # -- artifacts and search ------------------------------------------------------------------

    def records(self) -> list[ArtifactRecord]:
        """Records that exist at `now`: created by then, or (no provenance) seen running."""
        seen = {
            e.artifact.fingerprint
            for env in self.dataset.environments
            for snap in self.visible(env)
            for e in snap.entries
        }
        return [
            r
            for r in self.dataset.artifacts
            if (r.created_at is not None and r.created_at <= self.now) or r.fingerprint in seen
        ]

    def whereabouts(self, fingerprint: str) -> tuple[list[Json], list[Json], list[Json]]:
        """(running, exited, history events) of one fingerprint, from the visible snapshots."""
        running: list[Json] = []
        exited: list[Json] = []
        events: list[Json] = []
        for env in self.dataset.environments:
            snaps = self.visible(env)
            last_exit = None
            for snap in snaps:
                for e in snap.entries:
                    if e.artifact.fingerprint != fingerprint:
                        continue
                    where = f"{env.name}#{snap.index}"
                    if e.annotation.type == "started":
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

    def history(self, record: ArtifactRecord, derived: list[Json]) -> list[Json]:
        typed = [
            {"event": h.event, "timestamp": h.timestamp}
            for h in record.history
            if h.timestamp <= self.now
        ]
        return sorted(typed + derived, key=lambda h: h["timestamp"])

    def artifacts(self, flow: str, by: str, sha: str, trail: str | None) -> Json:
        prefix = _prefix(sha, "fingerprint" if by == "fingerprint" else "commit sha")
        records = [r for r in self.records() if r.flow_name]
        if not any(r.flow_name == flow for r in records):
            raise ApiError(404, f"Flow named '{flow}' does not exist for organization '{self.org}'")
        found = [
            r
            for r in records
            if r.flow_name == flow
            and ((r.fingerprint if by == "fingerprint" else r.git_commit) or "").startswith(prefix)
            and (trail is None or r.trail_name == trail)
        ]
        if not found:
            raise ApiError(404, f"No artifact in flow '{flow}' matches {by} '{sha}'")
        answer = []
        for r in found:
            running, exited, derived = self.whereabouts(r.fingerprint)
            answer.append(
                {
                    "filename": r.filename,
                    "flow_name": r.flow_name,
                    "trail_name": r.trail_name,
                    "fingerprint": r.fingerprint,
                    "created_at": r.created_at,
                    "git_commit": r.git_commit,
                    "commit_url": r.commit_url,
                    "build_url": r.build_url,
                    "html_url": r.html_url,
                    "state": r.state,
                    "running": running,
                    "exited": exited,
                    "history": self.history(r, derived),
                }
            )
        return answer

    def search(self, value: str) -> Json:
        prefix = _prefix(value, "search value")
        records = self.records()
        by_fp = [r for r in records if r.fingerprint.startswith(prefix)]
        by_commit = [r for r in records if (r.git_commit or "").startswith(prefix)]
        fingerprints = sorted({r.fingerprint for r in by_fp})
        commits = sorted({r.git_commit for r in by_commit if r.git_commit})
        if not fingerprints and not commits:
            raise ApiError(404, f"No commit or fingerprint matches '{value}'")
        kind, matches, found = (
            ("fingerprint", fingerprints, by_fp) if fingerprints else ("commit", commits, by_commit)
        )
        answer = []
        for r in found:
            running, exited, derived = self.whereabouts(r.fingerprint)
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
                    "history": self.history(r, derived),
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


def _paging(params: dict[str, str]) -> tuple[int, int]:
    try:
        page, per_page = int(params.get("page", 1)), int(params.get("per_page", 15))
    except ValueError:
        raise ApiError(400, "page and per_page must be integers") from None
    if page < 1 or per_page < 1:
        raise ApiError(400, "page and per_page must be at least 1")
    return page, per_page


def _prefix(value: str, what: str) -> str:
    prefix = value.lower()
    if not _HEX_PREFIX.fullmatch(prefix):
        raise ApiError(400, f"{what} must be 4 to 64 hexadecimal characters, got '{value}'")
    return prefix


def _where(place: Json) -> str:
    return f"{place['environment_name']}#{place['snapshot_index']}"


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

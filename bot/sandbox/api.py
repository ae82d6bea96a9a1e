"""Kosli's HTTP API answered from a Dataset, as seen at one moment (no sockets here).

This module routes a GET and answers the environment and snapshot-list endpoints; the other
answers live in snapshots.py (one snapshot), events.py (an environment's event log),
env_diff.py, artifacts.py (artifacts and search), policies.py (policy decisions) and
evidence.py (asserts and trails).

Rules the real API does not document and this fake chooses:
- sha and fingerprint prefixes must be 4+ hex characters (400 otherwise);
- `@{N.months.ago}` counts a month as 30 days;
- a record or snapshot later than `now` does not exist yet;
- ignored: the snapshot list's `interval`, the environment list's filters (name, type, tag, sort).

For a 2026 dataset (see dataset.py) it answers with today's shapes: flows, commit info,
deployment_diff, policy_decisions, no deployments.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import parse_qs, unquote

from .artifacts import flow_artifacts, search
from .base import ApiError, Json
from .dataset import Dataset, Environment, Snapshot
from .env_diff import env_diff
from .events import events
from .evidence import asserts, trail
from .snapshots import snapshot_json

__all__ = ["Api", "ApiError"]

_SUFFIX = re.compile(r"#(?P<nth>-?\d+)|~(?P<behind>\d+)|@\{(?P<at>[^{}]+)\}")
_AGO = re.compile(r"(?P<n>\d+)\.(?P<unit>hour|day|week|month)s?\.ago")
_UNIT_SECONDS = {"hour": 3600, "day": 86400, "week": 7 * 86400, "month": 30 * 86400}


@dataclass
class Api:
    dataset: Dataset
    org: str
    now: float
    headers: dict[str, str] = field(default_factory=dict)  # sent with the answer (paging)

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
                return self.environment_json(self.environment(env))
            case ["api", "v2", "environments", org, env, "events"]:
                self._check_org(org)
                answer, self.headers = events(self, self.environment(env), params)
                return answer
            case ["api", "v2", "snapshots", org, env]:
                self._check_org(org)
                return self.snapshot_list(self.environment(env), params)
            case ["api", "v2", "snapshots", org, env, snap_id]:
                self._check_org(org)
                environment = self.environment(env)
                suffix = "" if snap_id == "-1" else snap_id  # the CLI's id for the latest
                return snapshot_json(self, environment, self.resolve(environment, suffix))
            case ["api", "v2", "env-diff", org]:
                self._check_org(org)
                return env_diff(self, params.get("snappish1", ""), params.get("snappish2", ""))
            case ["api", "v2", "artifacts", org, flow, ("fingerprint" | "commit_sha") as by, sha]:
                self._check_org(org)
                return flow_artifacts(self, flow, by, sha, params.get("trail"))
            case ["api", "v2", "search", org, "sha", value]:
                self._check_org(org)
                return search(self, value)
            case ["api", "v2", "trails", org, flow, name]:
                self._check_org(org)
                return trail(self, flow, name)
            case ["api", "v2", "asserts", org, "fingerprint", fingerprint]:
                self._check_org(org)
                policies = parse_qs(query).get("policy_name", [])  # repeatable
                return asserts(self, fingerprint, params, policies)
        raise ApiError(404, f"Not found: {path}")

    # -- environments --------------------------------------------------------------------------

    def _check_org(self, org: str) -> None:
        if org != self.org:
            raise ApiError(403, f"You do not have access to organization '{org}'")

    def environment(self, name: str) -> Environment:
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
        answer: Json = {
            "name": env.name,
            "type": env.type,
            "description": env.description,
            "last_reported_at": latest.timestamp if latest else None,
            "last_modified_at": env.last_modified_at,
            "state": latest.compliant if latest else self._state_of_included(env),
            "tags": dict(env.tags),
            "policies": list(env.policies),
        }
        if self.dataset.modern:  # 2022's answers had no logical environments
            answer["included_environments"] = None if env.included is None else list(env.included)
        return answer

    def _state_of_included(self, env: Environment) -> bool | None:
        """A logical environment is compliant when what it includes is (None: nothing to say)."""
        latest = [
            snaps[-1].compliant
            for name in env.included or []
            if (included := self.dataset.environment(name)) and (snaps := self.visible(included))
        ]
        return all(latest) if latest else None

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


def _paging(params: dict[str, str]) -> tuple[int, int]:
    try:
        page, per_page = int(params.get("page", 1)), int(params.get("per_page", 15))
    except ValueError:
        raise ApiError(400, "page and per_page must be integers") from None
    if page < 1 or per_page < 1:
        raise ApiError(400, "page and per_page must be at least 1")
    return page, per_page

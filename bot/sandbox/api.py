"""Kosli's HTTP API answered from a Dataset, as seen at one moment (no sockets here).

Rules the real API does not document and this fake chooses:
- sha and fingerprint prefixes must be 4+ hex characters (400 otherwise);
- `@{N.months.ago}` counts a month as 30 days;
- a record or snapshot later than `now` does not exist yet;
- ignored: the snapshot list's `interval`, the environment list's filters (name, type, tag, sort).

For a 2026 dataset (see dataset.py) it answers with today's shapes: flows, commit info,
deployment_diff, policy_decisions, no deployments. Guesses where no real answer was seen:
`applied_policies[].failing_artifacts` lists `{name, fingerprint}`; an artifact without
provenance fails a provenance rule with resolution `missing_provenance`; the asserts endpoint's
`scope` is "flow", "environment" or "policy" (the words Kosli's CLI checks), and a 2022
dataset's flows carry the attestations in LEGACY_ATTESTATIONS.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote

from .dataset import (
    ArtifactRecord,
    Attestation,
    Dataset,
    Environment,
    FlowTrail,
    Policy,
    RunningArtifact,
    Snapshot,
    SnapshotEntry,
)

Json = Any

APP = "https://app.kosli.com"
# The attestations a 2022 flow had; "missing evidence: NAME" reasons mark one MISSING.
LEGACY_ATTESTATIONS = (
    ("pull-request", "pull_request"),
    ("unit-test", "junit"),
    ("snyk-scan", "snyk"),
)
_BUILD_FLOWS = 'flow.tags.kind == "build"'
_OTHER_FLOWS = 'flow.tags.kind != "build"'

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
            case ["api", "v2", "trails", org, flow, trail]:
                self._check_org(org)
                return self.trail(flow, trail)
            case ["api", "v2", "asserts", org, "fingerprint", fingerprint]:
                self._check_org(org)
                policies = parse_qs(query).get("policy_name", [])  # repeatable
                return self.asserts(fingerprint, params, policies)
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
        if self.dataset.modern:
            return self.modern_snapshot_json(env, snap)
        return {
            "index": snap.index,
            "timestamp": snap.timestamp,
            "type": env.type,
            "user_id": snap.user_id,
            "user_name": snap.user_name,
            "compliant": snap.compliant,
            "artifacts": [_entry_json(e) for e in snap.entries],
        }

    def modern_snapshot_json(self, env: Environment, snap: Snapshot) -> Json:
        later = [s for s in self.visible(env) if s.index > snap.index]
        policies = self.dataset.policies_of(env)
        artifacts = [self.modern_entry_json(env, snap, e, policies) for e in snap.entries]
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
            "html_url": f"{APP}/{self.org}/environments/{env.name}/snapshots/{snap.index}",
            "artifacts": artifacts,
            "applied_policies": [_applied_policy_json(p, running) for p in policies],
        }

    def modern_entry_json(
        self, env: Environment, snap: Snapshot, entry: SnapshotEntry, policies: list[Policy]
    ) -> Json:
        a = entry.artifact
        record = self.dataset.record(a.fingerprint)
        flows = record.flows if record else []
        flows_json = [self.flow_json(env, snap, a, f) for f in flows]
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
            "html_url": self.artifact_url(a.flow_name, a.fingerprint) if a.flow_name else None,
            "flow_html_url": f"{APP}/{self.org}/flows/{a.flow_name}" if a.flow_name else None,
            "deployment_diff": build["deployment_diff"] if build else None,
            "commit_lead_time": build["commit_lead_time"] if build else None,
            "flows": flows_json,
        }

    def artifact_url(self, flow: str, fingerprint: str) -> str:
        return f"{APP}/{self.org}/flows/{flow}/artifacts/{fingerprint}"

    def flow_json(
        self, env: Environment, snap: Snapshot, a: RunningArtifact, flow: FlowTrail
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
            "html_url": self.artifact_url(flow.flow_name, a.fingerprint),
            "flow_html_url": f"{APP}/{self.org}/flows/{flow.flow_name}",
            "deployment_diff": self.deployment_diff(env, snap, a.fingerprint, flow),
            "commit_lead_time": round(a.started_at - c.timestamp, 3),
            "artifact_compliance_in_flow": flow.compliant,
            "flow_reasons_for_non_compliance": [],
        }

    def deployment_diff(
        self, env: Environment, snap: Snapshot, fingerprint: str, flow: FlowTrail
    ) -> Json:
        """The artifact of the same flow (and template name) that ran in `env` just before this
        one last started there; None when it has run since the first snapshot kept."""
        snaps = [s for s in self.visible(env) if s.index <= snap.index]
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
            record = self.dataset.record(e.artifact.fingerprint)
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
        changed = [
            fp
            for fp in both
            if one[fp].instances != two[fp].instances and not self.dataset.modern  # no scaling
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

    def history(self, record: ArtifactRecord, derived: list[Json]) -> list[Json]:
        typed = [
            {"event": h.event, "timestamp": h.timestamp}
            for h in record.history
            if h.timestamp <= self.now
            and not (self.dataset.modern and h.event.startswith("Deployment #"))
        ]
        return sorted(typed + derived, key=lambda h: h["timestamp"])

    def artifacts(self, flow: str, by: str, sha: str, trail: str | None) -> Json:
        prefix = _prefix(sha, "fingerprint" if by == "fingerprint" else "commit sha")
        views = [(r, v) for r in self.records() for v in _flow_views(r) if v[0] == flow]
        if not views:
            raise ApiError(404, f"Flow named '{flow}' does not exist for organization '{self.org}'")
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
            running, exited, derived = self.whereabouts(r.fingerprint)
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
                    "history": self.history(r, derived),
                }
            )
        if self.dataset.modern and by == "fingerprint" and len(answer) == 1:
            return answer[0]  # today's Kosli answers one match as a bare object
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

    # -- asserts -------------------------------------------------------------------------------

    def asserts(self, fingerprint: str, params: dict[str, str], policy_names: list[str]) -> Json:
        """Whether an artifact is compliant: in its flows, for an environment, or for policies."""
        record = next((r for r in self.records() if r.fingerprint == fingerprint.lower()), None)
        if record is None:
            raise ApiError(404, f"Artifact with fingerprint '{fingerprint}' does not exist")
        flows = self.attested_flows(record)
        if wanted := params.get("flow_name"):
            flows = [f for f in flows if f[0] == wanted]
            if not flows:
                raise ApiError(404, f"Artifact '{fingerprint}' is not in flow '{wanted}'")
        if env_name := params.get("environment_name"):
            scope, policies = "environment", self.dataset.policies_of(self._env(env_name))
        elif policy_names:
            scope, policies = "policy", [self._policy(name) for name in policy_names]
        else:
            scope, policies = "flow", []
        evaluations = [policy_decision(p, record.flows) for p in policies]
        in_flows = bool(flows) and all(a.is_compliant for f in flows for a in f[2])
        # Policies decide when there are any; otherwise the artifact's own flows do.
        compliant = (
            all(e["status"] == "COMPLIANT" for e in evaluations) if evaluations else in_flows
        )
        return {
            "compliant": compliant,
            "scope": scope,
            "policy_evaluations": evaluations,
            "flows": [_flow_status_json(*f) for f in flows],
            "html_url": self.artifact_url(record.flow_name, record.fingerprint)
            if record.flow_name
            else f"{APP}/{self.org}/search?query={record.fingerprint}",
        }

    # -- trails --------------------------------------------------------------------------------

    def trail(self, flow: str, trail: str) -> Json:
        """A trail as GET /trails/{org}/{flow}/{trail} answers (the recorded creator-ci sample's
        shape): its commit, the CI job that made it (`origin_url`) and every artifact's
        attestation statuses. Trail-level attestations are not modelled: none here."""
        found = [
            (record, attestations)
            for record in self.records()
            for f, t, attestations in self.attested_flows(record)
            if (f, t) == (flow, trail)
        ]
        if not found:
            raise ApiError(404, f"Trail '{trail}' does not exist in flow '{flow}'")
        first = found[0][0]
        commit = next((f.commit for f in first.flows if f.flow_name == flow), None)
        statuses = {
            _template_name(record, flow): {
                "artifact_fingerprint": record.fingerprint,
                **_flow_status_json(flow, trail, attestations)["compliance_status"],
            }
            for record, attestations in found
        }
        compliant = all(s["is_compliant"] for s in statuses.values())
        status = "COMPLIANT" if compliant else "NON-COMPLIANT"
        return {
            "name": trail,
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
            "html_url": f"{APP}/{self.org}/flows/{flow}/trails/{trail}",
        }

    def attested_flows(self, record: ArtifactRecord) -> list[tuple[str, str, list[Attestation]]]:
        """(flow, trail, attestations) of each flow the artifact is in."""
        if record.flows:
            return [(f.flow_name, f.trail_name, f.attestations) for f in record.flows]
        if not record.flow_name:
            return []
        reasons = {
            reason
            for env in self.dataset.environments
            for snap in self.visible(env)
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

    def _policy(self, name: str) -> Policy:
        policy = next((p for p in self.dataset.policies if p.name == name), None)
        if policy is None:
            raise ApiError(
                404, f"Policy named '{name}' does not exist for organization '{self.org}'"
            )
        return policy


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


def _applied_policy_json(policy: Policy, running: list[Json]) -> Json:
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


def _flow_views(r: ArtifactRecord) -> list[tuple[str, str, str | None, str | None]]:
    """(flow, trail, git commit, commit url) for each flow the record is in."""
    if r.flows:
        return [(f.flow_name, f.trail_name, f.commit.sha1, f.commit.url) for f in r.flows]
    return [(r.flow_name, r.trail_name, r.git_commit, r.commit_url)] if r.flow_name else []


def compare_url(old_commit_url: str, old: str, new: str) -> str:
    """GitHub's /compare/OLD...NEW or GitLab's /-/compare/OLD...NEW, from a commit's URL."""
    if "/-/commit/" in old_commit_url:
        return f"{old_commit_url.split('/-/commit/')[0]}/-/compare/{old}...{new}"
    return f"{old_commit_url.split('/commit/')[0]}/compare/{old}...{new}"


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

"""Evidence about artifacts: per-attestation status (GET /asserts/{org}/fingerprint/{fp})
and trails (GET /trails/{org}/{flow}/{trail})."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.kosli.flows import CommitInfo
from bot.kosli.parsing import get


@dataclass(frozen=True)
class AttestationStatus:
    """One attestation of one trail the artifact is in, as Kosli judged it."""

    name: str
    type: str
    status: str  # as Kosli sends it, e.g. COMPLETE, MISSING, INCOMPLETE; "" if absent
    compliant: bool | None
    unexpected: bool
    flow: str
    trail: str

    @classmethod
    def from_json(cls, data: Any, flow: str, trail: str) -> AttestationStatus:
        return cls(
            name=get(data, "attestation_name", str),
            type=get(data, "attestation_type", str, ""),
            status=get(data, "status", str, ""),
            compliant=get(data, "is_compliant", bool, None),
            unexpected=get(data, "unexpected", bool, False),
            flow=flow,
            trail=trail,
        )


@dataclass(frozen=True)
class Assertion:
    """Whether an artifact is compliant, with every flow's attestation statuses in order."""

    compliant: bool | None
    html_url: str
    attestations: tuple[AttestationStatus, ...]

    @classmethod
    def from_json(cls, data: Any) -> Assertion:
        attestations: list[AttestationStatus] = []
        for item in get(data, "flows", list, []):
            flow = get(item, "flow", str, "") or get(item, "flow_name", str, "")
            trail = get(item, "trail", str, "") or get(item, "trail_name", str, "")
            status = get(item, "compliance_status", Mapping, {})
            attestations.extend(
                AttestationStatus.from_json(a, flow, trail)
                for a in get(status, "attestations_statuses", list, [])
            )
        return cls(
            compliant=get(data, "compliant", bool, None),
            html_url=get(data, "html_url", str, ""),
            attestations=tuple(attestations),
        )


@dataclass(frozen=True)
class Trail:
    """A flow's trail (GET /trails/{org}/{flow}/{trail}): the commit it is for, the CI job that
    made it (`origin_url`: the build) and the attestation statuses of its artifacts."""

    name: str
    flow: str
    commit: CommitInfo | None
    build_url: str
    html_url: str
    compliant: bool | None
    attestations: tuple[AttestationStatus, ...]  # the trail's own, then each artifact's

    @classmethod
    def from_json(cls, data: Any, flow: str) -> Trail:
        name = get(data, "name", str)
        status = get(data, "compliance_status", Mapping, {})
        own = [
            AttestationStatus.from_json(a, flow, name)
            for a in get(status, "attestations_statuses", list, [])
        ]
        per_artifact = [
            AttestationStatus.from_json(a, flow, name)
            for artifact in get(status, "artifacts_statuses", Mapping, {}).values()
            for a in get(artifact, "attestations_statuses", list, [])
        ]
        commit = data.get("git_commit_info")
        return cls(
            name=name,
            flow=flow,
            commit=CommitInfo.from_json(commit) if isinstance(commit, Mapping) else None,
            build_url=get(data, "origin_url", str, ""),
            html_url=get(data, "html_url", str, ""),
            compliant=get(data, "is_compliant", bool, None),
            attestations=(*own, *per_artifact),
        )

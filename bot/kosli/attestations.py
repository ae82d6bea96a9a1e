"""Per-attestation status of an artifact, from GET /asserts/{org}/fingerprint/{fp}."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.kosli.models import _get


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
            name=_get(data, "attestation_name", str),
            type=_get(data, "attestation_type", str, ""),
            status=_get(data, "status", str, ""),
            compliant=_get(data, "is_compliant", bool, None),
            unexpected=_get(data, "unexpected", bool, False),
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
        for item in _get(data, "flows", list, []):
            flow = _get(item, "flow", str, "") or _get(item, "flow_name", str, "")
            trail = _get(item, "trail", str, "") or _get(item, "trail_name", str, "")
            status = _get(item, "compliance_status", Mapping, {})
            attestations.extend(
                AttestationStatus.from_json(a, flow, trail)
                for a in _get(status, "attestations_statuses", list, [])
            )
        return cls(
            compliant=_get(data, "compliant", bool, None),
            html_url=_get(data, "html_url", str, ""),
            attestations=tuple(attestations),
        )

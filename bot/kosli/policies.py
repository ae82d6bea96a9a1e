"""Environment policies' verdicts on an artifact (`policy_decisions`) and the policies a
snapshot was judged by (`applied_policies`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.kosli.parsing import get, optional_list


@dataclass(frozen=True)
class Resolution:
    """How a policy rule was resolved for one of the artifact's flows."""

    type: str
    flow: str
    trail: str
    for_control: str

    @classmethod
    def from_json(cls, data: Any) -> Resolution:
        context = get(data, "context", Mapping, {})
        return cls(
            type=get(data, "type", str, ""),
            flow=get(context, "flow_name", str, ""),
            trail=get(context, "trail_name", str, ""),
            for_control=get(context, "for_control", str, ""),
        )


@dataclass(frozen=True)
class RuleEvaluation:
    """One rule of a policy: `type` provenance, trail-compliance or attestation."""

    type: str
    name: str  # the attestation's name ('' for other rules)
    attestation_type: str
    satisfied: bool | None
    ignored: bool
    resolutions: tuple[Resolution, ...]

    @property
    def failed(self) -> bool:
        return not self.ignored and self.satisfied is not True

    @classmethod
    def from_json(cls, data: Any) -> RuleEvaluation:
        rule = get(data, "rule", Mapping, {})
        definition = get(rule, "definition", Mapping, {})
        return cls(
            type=get(rule, "type", str, ""),
            name=get(definition, "name", str, ""),
            attestation_type=get(definition, "type", str, ""),
            satisfied=get(data, "satisfied", bool, None),
            ignored=get(data, "ignored", bool, False),
            resolutions=optional_list(data, "resolutions", Resolution.from_json),
        )


@dataclass(frozen=True)
class PolicyDecision:
    """An environment policy's verdict on one artifact (`policy_decisions`)."""

    policy: str
    version: int | None
    compliant: bool | None
    rules: tuple[RuleEvaluation, ...]

    @classmethod
    def from_json(cls, data: Any) -> PolicyDecision:
        status = get(data, "status", str, "")
        return cls(
            policy=get(data, "policy_name", str, ""),
            version=get(data, "policy_version", int, None),
            compliant={"COMPLIANT": True, "NON-COMPLIANT": False}.get(status),
            rules=optional_list(data, "rule_evaluations", RuleEvaluation.from_json),
        )


@dataclass(frozen=True)
class AppliedPolicy:
    name: str
    version: int | None

    @classmethod
    def from_json(cls, data: Any) -> AppliedPolicy:
        return cls(name=get(data, "name", str), version=get(data, "version", int, None))

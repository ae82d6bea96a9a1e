"""Why an artifact is non-compliant, worded as Kosli's CLI words it (`kosli assert artifact`)."""

from __future__ import annotations

import re

from bot.kosli.models import SnapshotArtifact
from bot.kosli.policies import PolicyDecision, Resolution, RuleEvaluation

_FULL_SHA = re.compile(r"[0-9a-f]{40}")


def trail_label(flow: str, trail: str) -> str:
    """'payments-ci/3f2a1c9': trails are often named after their full commit."""
    short = trail[:7] if _FULL_SHA.fullmatch(trail) else trail
    return "/".join(part for part in (flow, short) if part)


def _trail(resolution: Resolution) -> str:
    where = trail_label(resolution.flow, resolution.trail)
    return f" {where}" if where else ""


def _resolution_words(rule: RuleEvaluation, resolution: Resolution) -> str | None:
    """One failing resolution in the CLI's words; None when it is not a failure."""
    kind = resolution.type
    if kind in ("rule_satisfied", "rule_not_applicable"):
        return None
    if kind == "missing_attestation":
        if resolution.for_control:
            return (
                f"missing required {rule.attestation_type} for control '{resolution.for_control}'"
            )
        return (
            f"missing required '{rule.name}' ({rule.attestation_type}) attestation in trail"
            f"{_trail(resolution)}"
        )
    if kind == "non_compliant_attestation":
        return f"attestation '{rule.name}' is non-compliant in trail{_trail(resolution)}"
    if kind == "non_compliant_in_trail":
        return f"artifact is not compliant in trail{_trail(resolution)}"
    if kind == "legacy_flow":
        return "comes from a legacy flow without the new attestations"
    return f"{rule.type or 'a'} rule not satisfied ({kind.replace('_', ' ')})"


def _rule_words(decision: PolicyDecision, rule: RuleEvaluation) -> list[str]:
    if rule.type == "provenance":
        return [f"no provenance (required by {decision.policy})"]
    words = [w for r in rule.resolutions if (w := _resolution_words(rule, r)) is not None]
    if not words:
        what = f"'{rule.name}' ({rule.attestation_type})" if rule.name else rule.type
        words = [f"rule {what} not satisfied"]
    return [f"{decision.policy}: {w}" for w in dict.fromkeys(words)]


def failing_rules(decisions: tuple[PolicyDecision, ...]) -> tuple[str, ...]:
    """Every failing rule of every policy, e.g. "prod-requirements: missing required
    'trivy-container-scan' (generic) attestation in trail payments-ci/9c41e2a"."""
    found = [
        words
        for decision in decisions
        for rule in decision.rules
        if rule.failed
        for words in _rule_words(decision, rule)
    ]
    return tuple(dict.fromkeys(found))


def reasons(artifact: SnapshotArtifact) -> tuple[str, ...]:
    """Today's policy decisions first; the 2022 reason list where there are none."""
    return failing_rules(artifact.decisions) or artifact.reasons

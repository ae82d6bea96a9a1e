"""Kosli's answers of both eras read into the same models; junk in optional parts costs
only those parts, never the snapshot."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.kosli.attestations import Trail
from bot.kosli.errors import KosliBadResponse
from bot.kosli.models import Snapshot, SnapshotArtifact
from tests.commands.test_on_todays_kosli import SAMPLE


def artifact_json(**fields: Any) -> dict[str, Any]:
    return {
        "name": "registry.example/app:1a2b3c4@sha256:" + "e" * 64,
        "fingerprint": "e" * 64,
        "flow_name": "app-ci",
        "git_commit": "1a2b3c4" + "0" * 33,
        "commit_url": "https://github.com/acme/app/commit/1a2b3c4" + "0" * 33,
        "compliant": True,
        "creationTimestamp": [1777956787],
        "annotation": {"type": "unchanged", "was": 1, "now": 1},
        **fields,
    }


@pytest.mark.parametrize(
    ("annotation", "running"),
    [
        ({"type": "started-compliant", "was": 0, "now": 1}, True),
        ({"type": "started-non-compliant", "was": 0, "now": 2}, True),
        ({"type": "updated-provenance", "was": 1, "now": 1}, True),
        ({"type": "unchanged", "was": 1, "now": 1}, True),
        ({"type": "started", "was": 0, "now": 1}, True),  # 2022
        ({"type": "changed", "was": 1, "now": 3}, True),  # 2022: scaled
        ({"type": "exited", "was": 1, "now": 0}, False),
    ],
)
def test_annotation_words_of_both_eras(annotation: dict[str, Any], running: bool) -> None:
    assert SnapshotArtifact.from_json(artifact_json(annotation=annotation)).running is running


@pytest.mark.parametrize(
    "junk",
    [
        {"flows": "not a list"},
        {"flows": [{"flow_name": 7}, "junk"]},
        {"flows": [{"flow_name": "app-ci", "git_commit_info": "junk", "deployment_diff": 3}]},
        {"policy_decisions": {"policy_name": "x"}},
        {"policy_decisions": [{"rule_evaluations": "junk", "status": 5}]},
        {"deployment_diff": ["junk"]},
        {"commit_lead_time": "soon"},
        {"reasons_for_incompliance": [None, 3, ""]},
        {"deployments": [], "unknown_field": {"nested": True}, "ecs_context": None},
    ],
)
def test_junk_in_optional_parts_leaves_the_rest_readable(junk: dict[str, Any]) -> None:
    artifact = SnapshotArtifact.from_json(artifact_json(**junk))
    assert artifact.running and artifact.flow == "app-ci"
    assert artifact.commit is None or artifact.commit.title == ""
    assert artifact.reasons == ()


def test_required_fields_still_refuse_nonsense() -> None:
    with pytest.raises(KosliBadResponse):
        SnapshotArtifact.from_json(artifact_json(fingerprint=None))
    with pytest.raises(KosliBadResponse):
        Snapshot.from_json("prod", {"index": "one", "timestamp": 1.0, "artifacts": []})


def test_the_real_snapshot_reads_whole() -> None:
    snapshot = Snapshot.from_json("aws-prod", json.loads(SAMPLE.read_text()))
    assert (snapshot.index, snapshot.compliant, len(snapshot.running)) == (4357, True, 10)
    assert [p.name for p in snapshot.policies] == ["snyk-scan-aws-prod", "build-process"]
    for artifact in snapshot.running:
        assert artifact.build_flow is not None
        assert artifact.build_flow.git_commit == artifact.git_commit
        assert artifact.commit is not None and artifact.commit.title
        assert all(not rule.failed for d in artifact.decisions for rule in d.rules)


def test_the_real_trail_reads_whole() -> None:
    raw = json.loads((SAMPLE.parent / "trail-creator-ci.json").read_text())
    trail = Trail.from_json(raw, "creator-ci")
    assert trail.name == "65fd2bfa2478534ea4bc5ccf30f6bfc6aab7550c"
    assert trail.build_url == "https://gitlab.com/cyber-dojo/creator/-/jobs/13932530950"
    assert trail.commit is not None
    assert trail.commit.title == "Merge branch 'fix-multijson-deprecation-warning' into 'main'"
    assert trail.commit.author_name == "Jon Jagger"
    names = [a.name for a in trail.attestations]
    assert names[:3] == ["pull-request", "branch-protection", "dast-report"]  # the trail's own
    assert {"lint", "unit-test"} <= set(names)  # the creator artifact's
    assert trail.compliant is True and all(a.compliant for a in trail.attestations)

"""Kosli's answers of both eras read into the same models; junk in optional parts costs
only those parts, never the snapshot."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.kosli.attestations import Trail
from bot.kosli.errors import KosliBadResponse
from bot.kosli.models import Artifact, Environment, Snapshot, SnapshotArtifact
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


# The same moment as Kosli sends it (a float), as its API reference types it (a string) and
# as a person or another tool might write it; junk reads as a missing time.
AUG_19 = datetime(2026, 8, 19, 14, 40, 23, 904125, tzinfo=UTC)  # 1787150423.904125
TIME_FORMS = [
    1787150423.904125,
    "1787150423.904125",
    "2026-08-19T14:40:23.904125Z",
    "2026-08-19T16:40:23.904125+02:00",
]


def _close(at: datetime | None) -> bool:
    return at is not None and abs(at - AUG_19) < timedelta(microseconds=10)


def artifact_answer(created_at: Any, history_at: Any) -> dict[str, Any]:
    """`GET /api/v2/artifacts/{org}/{flow}/fingerprint/{fp}`, shaped as today's answer."""
    return {
        "filename": "244531986313.dkr.ecr.eu-central-1.amazonaws.com/runner:85cac88",
        "flow_name": "runner-ci",
        "trail_name": "85cac88",
        "fingerprint": "f3cdc22a599ddb789e7791389a5a58b43fd9c30d3af079aec392d5962d181096",
        "created_at": created_at,
        "git_commit": "85cac88" + "0" * 33,
        "commit_url": "https://github.com/cyber-dojo/runner/commit/85cac88" + "0" * 33,
        "state": "COMPLIANT",
        "running": [{"environment_name": "aws-beta", "snapshot_index": 5114}],
        "exited": [],
        "history": [
            {"event": "Artifact created", "timestamp": history_at},
            {"event": "Started running in aws-beta#5114 environment", "timestamp": 1787150423},
        ],
    }


@pytest.mark.parametrize("form", TIME_FORMS)
def test_created_at_reads_in_every_form(form: Any) -> None:
    assert _close(Artifact.from_json(artifact_answer(form, 1)).created_at)


@pytest.mark.parametrize("form", TIME_FORMS)
def test_history_timestamp_reads_in_every_form(form: Any) -> None:
    history = Artifact.from_json(artifact_answer(1787150423, form)).history
    assert _close(history[0].timestamp) and history[1].timestamp is not None


@pytest.mark.parametrize("form", TIME_FORMS)
def test_reported_at_reads_in_every_form(form: Any) -> None:
    """`last_reported_at` of `GET /api/v2/environments/{org}` (docs' Live Example)."""
    env = Environment.from_json(
        {
            "org": "cyber-dojo",
            "name": "aws-beta",
            "type": "ECS",
            "description": "The ECS cluster for staging cyber-dojo",
            "last_modified_at": form,
            "last_reported_at": form,
            "last_changed_at": 1787118563.9915287,
            "state": True,
            "tags": {"url": "https://beta.cyber-dojo.org/"},
            "policies": ["provenance"],
            "included_environments": None,
        }
    )
    assert _close(env.last_reported_at)


@pytest.mark.parametrize("form", TIME_FORMS)
def test_snapshot_times_read_in_every_form(form: Any) -> None:
    data = json.loads(SAMPLE.read_text())
    data["timestamp"] = form
    data["artifacts"][0]["creationTimestamp"] = [form, "junk"]
    snapshot = Snapshot.from_json("aws-prod", data)
    assert _close(snapshot.timestamp) and _close(snapshot.artifacts[0].started_at)


@pytest.mark.parametrize("junk", [None, "soon", "", True, "0001-01-01T00:00:00Z", [1]])
def test_a_junk_time_is_a_missing_time(junk: Any) -> None:
    artifact = Artifact.from_json(artifact_answer(junk, junk))
    assert artifact.created_at is None and artifact.history[0].timestamp is None
    assert artifact.name.endswith("runner:85cac88")
    data = json.loads(SAMPLE.read_text())
    data["timestamp"] = junk
    with pytest.raises(KosliBadResponse, match="'timestamp' is missing"):  # as when absent
        Snapshot.from_json("aws-prod", data)

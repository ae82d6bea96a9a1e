"""The kinds that follow a build in place (restarted, provenance arrived, compliant again),
on Kosli's published answers (tests/data/README.md) and on hand-made snapshots."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from bot.domain.changes import ChangeSet, Kind, snapshot_changes
from bot.kosli.models import Snapshot
from bot.render.changes import render_alert, render_diff, render_follow_up
from bot.render.plain import blocks_to_text
from tests.commands.test_on_todays_kosli import before_from_annotations
from tests.domain.test_changes import artifact, at, snapshot
from tests.golden import assert_golden

DATA = Path(__file__).parents[1] / "data"
SNAPSHOT_5253 = DATA / "aws-prod-snapshot-5253.json"
EVENTS = DATA / "aws-prod-events.json"
SPOOLER = "244531986313.dkr.ecr.eu-central-1.amazonaws.com/spooler:dc7dea2"
COMMIT = "https://github.com/cyber-dojo/spooler/commit/dc7dea2" + "a" * 33


def real_5252_5253() -> tuple[Snapshot, Snapshot]:
    raw = json.loads(SNAPSHOT_5253.read_text())
    latest = Snapshot.from_json("aws-prod", raw)
    return before_from_annotations(latest, raw), latest


def text(message: object) -> str:
    return message.text + "\n" + blocks_to_text(message.blocks)  # type: ignore[attr-defined]


def test_diff_across_the_published_restart_names_it_and_says_it_is_no_deploy() -> None:
    before, after = real_5252_5253()
    changes = snapshot_changes(before, after)
    assert [(c.kind, c.artifact.git_commit[:7]) for c in changes.changes] == [
        (Kind.RESTARTED, "85cac88")
    ]
    message = render_diff(changes, "/kosli")
    shown = text(message)
    assert message.text == "aws-prod#5252 → aws-prod#5253: 1 restarted"
    assert "`runner:85cac88` · 3 instances replaced, same build" in shown
    assert "not a deploy" in shown and "No difference" not in shown
    assert_golden("command_diff_restart_5253", message.blocks)
    # The watcher stays quiet on it: nothing to alert.
    assert changes.alerting.is_empty


def test_the_model_agrees_with_kosli_event_log_on_the_restart() -> None:
    """Kosli's own log of #5253 has one event: runner's '3 instances changed'."""
    before, after = real_5252_5253()
    events = [e for e in json.loads(EVENTS.read_text()) if e["snapshot_index"] == after.index]
    restarted = snapshot_changes(before, after).of(Kind.RESTARTED)
    assert [(e["type"], e["sha256"], e["description"]) for e in events] == [
        ("changed", c.artifact.fingerprint, f"{c.artifact.instances} instances changed")
        for c in restarted
    ]


def provenance_changes(compliant: bool = True) -> ChangeSet:
    rogue = artifact(f"{SPOOLER}@sha256:{'f' * 64}", "", compliant=False, starts=at(1_786_425_512))
    rogue = replace(rogue, started_at=rogue.starts[0])
    traced = replace(
        rogue,
        flow="spooler-ci",
        git_commit=COMMIT.rsplit("/", 1)[1],
        commit_url=COMMIT,
        compliant=compliant,
        reasons=() if compliant else ("prod-requirements: missing required 'snyk' <!here>",),
        change="updated-provenance",
    )
    return snapshot_changes(snapshot(5250, rogue), snapshot(5251, traced))


def test_provenance_arrived_as_a_reply_and_as_its_own_message() -> None:
    changes = provenance_changes()
    reply = render_follow_up(changes, "/kosli")
    assert reply.text == "aws-prod#5251: 1 provenance arrived, now compliant"
    assert "now has provenance: flow spooler-ci · commit dc7dea2" in text(reply)
    assert_golden("alert_provenance_reply", reply.blocks)
    own = render_alert(changes, "/kosli")
    assert own.text == "aws-prod#5251: 1 provenance arrived, now compliant"
    assert_golden("alert_provenance_own", own.blocks)
    failing = render_follow_up(provenance_changes(compliant=False), "/kosli")
    assert "Still non-compliant" in text(failing) and "missing required 'snyk'" in text(failing)
    assert "<!here>" not in json.dumps(failing.blocks)  # Kosli's words are escaped


def test_compliant_again_says_allow_listed_or_late_evidence() -> None:
    busybox = artifact("docker.io/library/busybox:1.36", "", compliant=False)
    allowed = snapshot_changes(snapshot(7, busybox), snapshot(8, replace(busybox, compliant=True)))
    reply = render_follow_up(allowed, "/kosli")
    assert "still no provenance: allowed to run in aws-prod (allow-listed" in text(reply)
    assert_golden("alert_compliant_allow_listed_reply", reply.blocks)
    payments = artifact(
        "payments:c5a81f7", "payments-ci", "https://github.com/a/p/commit/" + "c" * 40
    )
    evidence = snapshot_changes(
        snapshot(7, replace(payments, compliant=False)), snapshot(8, payments)
    )
    reply = render_follow_up(evidence, "/kosli")
    assert "same build, commit" in text(reply) and "the evidence it lacked arrived" in text(reply)
    assert_golden("alert_compliant_evidence_reply", reply.blocks)

"""Kosli's event log read for the bot, on Kosli's published answer (cyber-dojo aws-prod
#5248-#5253): which snapshots need reading in full, and what happened in each."""

from __future__ import annotations

from dataclasses import replace

from bot.domain.changes import Kind, short_name
from bot.domain.events import (
    by_snapshot,
    compliance_followed,
    needs_snapshots,
    restarts,
    what_happened,
)
from bot.kosli.events import EnvironmentEvent
from bot.kosli.models import Snapshot, SnapshotArtifact
from tests.kosli.test_events import published

EVENTS = tuple(EnvironmentEvent.from_json(e) for e in published())


def running(event: EnvironmentEvent) -> SnapshotArtifact:
    return SnapshotArtifact(
        name=event.artifact_name,
        fingerprint=event.sha256,
        flow=event.pipeline,
        git_commit="",
        commit_url="",
        compliant=True,
        started_at=None,
        instances=1,
        change="unchanged",
    )


def base(*events: EnvironmentEvent) -> Snapshot:
    """aws-prod#5247: everything the log names running, compliant."""
    artifacts = {e.sha256: running(e) for e in events or EVENTS}
    return Snapshot("aws-prod", 5247, EVENTS[-1].reported_at, True, tuple(artifacts.values()))  # type: ignore[arg-type]


def test_what_happened_in_each_published_snapshot() -> None:
    happened = {i: what_happened(e) for i, e in by_snapshot(EVENTS).items()}
    assert happened == {
        5253: "runner: instances replaced",
        5252: "web, exercises-start-points: instances replaced",
        5251: "saver, creator, languages-start-points: instances replaced · "
        "spooler: provenance updated",
        5250: "dashboard, differ, custom-start-points, nginx: instances replaced · "
        "spooler: provenance updated",
        5249: "runner: instances replaced",
        5248: "differ, nginx: instances replaced",
    }


def test_starts_stops_and_trouble_keep_their_version_and_say_so() -> None:
    runner = EVENTS[0]
    events = [
        replace(runner, type="started-compliant"),
        replace(
            runner, type="exited", artifact_name=runner.artifact_name.replace("85cac88", "48bb369")
        ),
        replace(EVENTS[1], type="started-non-compliant", artifact_compliance=False),
        replace(EVENTS[2], type="changed", artifact_compliance=False),
        replace(EVENTS[3], type="started-compliant", pipeline=""),
        replace(EVENTS[4], type="<!here> renamed"),
    ]
    assert what_happened(events) == (
        "runner:85cac88: started · web:5e4b987: started, non-compliant · "
        "saver:36f0420: started, no provenance · runner:48bb369: stopped · "
        "exercises-start-points: changed, non-compliant · "
        "creator: <!here> renamed"
    )


def test_a_long_list_of_names_is_counted() -> None:
    many = [replace(EVENTS[0], artifact_name=f"svc{i}:1") for i in range(9)]
    assert (
        what_happened(many) == "svc0, svc1, svc2, svc3, svc4, svc5 and 3 more: instances replaced"
    )


def test_restarts_need_no_snapshot_provenance_does() -> None:
    # #5248, #5249, #5252, #5253 hold only restarts; #5250 and #5251 a provenance update.
    assert needs_snapshots(base(), EVENTS, 5253) == [5250, 5251]


def test_compliance_changes_and_silence_need_the_snapshot() -> None:
    flipped = [
        replace(e, artifact_compliance=False) if e.snapshot_index == 5252 else e for e in EVENTS
    ]
    assert needs_snapshots(base(), flipped, 5253) == [5250, 5251, 5252]
    environment = [
        replace(e, snapshot_compliance=False) if e.snapshot_index >= 5249 else e for e in EVENTS
    ]
    # The environment turns non-compliant at #5249 and stays so: one flip.
    assert needs_snapshots(base(), environment, 5253) == [5249, 5250, 5251]
    # A snapshot Kosli logged nothing for, and one past the log, are read in case.
    assert needs_snapshots(base(), [e for e in EVENTS if e.snapshot_index != 5249], 5254) == [
        5249, 5250, 5251, 5254,
    ]  # fmt: skip


def test_a_restart_of_a_build_the_base_did_not_run_needs_the_snapshot() -> None:
    others = [e for e in EVENTS if "runner" not in short_name(e.artifact_name)]
    # Unknown at #5249, so read there; known from then on.
    assert needs_snapshots(base(*others), EVENTS, 5253) == [5249, 5250, 5251]


def test_a_build_that_starts_then_restarts_is_known_from_its_start() -> None:
    runner = EVENTS[0]
    started = replace(runner, snapshot_index=5254, type="started-compliant", sha256="1" * 64)
    restarted = replace(started, snapshot_index=5255, type="changed")
    stopped = replace(started, snapshot_index=5256, type="exited")
    again = replace(started, snapshot_index=5257, type="changed")
    events = [*EVENTS, started, restarted, stopped, again]
    assert needs_snapshots(base(), events, 5257) == [5250, 5251, 5254, 5256, 5257]


def test_a_compliance_flip_in_place_is_not_called_a_restart() -> None:
    # Kosli logs `changed` both for runner's restart (#5253) and for a build whose
    # compliance flips where it runs: the window's older events tell them apart.
    runner = EVENTS[0]
    flip = [
        replace(runner, snapshot_index=5254, artifact_compliance=False),
        replace(runner, snapshot_index=5255, artifact_compliance=True),
    ]
    happened = by_snapshot(compliance_followed([*flip, *EVENTS]))
    assert {i: what_happened(happened[i]) for i in (5253, 5254, 5255)} == {
        5253: "runner: instances replaced",
        5254: "runner: non-compliant",
        5255: "runner: compliant again",
    }
    # With no earlier event of the build, Kosli's word stands (and a failure still shows).
    alone = what_happened(compliance_followed(flip[:1]))
    assert alone == "runner: changed, non-compliant"


def test_a_restart_only_snapshot_is_told_from_its_events() -> None:
    # #5253: runner's instances replaced; the build as #5247 last showed it running.
    before = base()
    told = restarts("aws-prod", 5253, by_snapshot(EVENTS)[5253], before)
    runner = next(a for a in before.running if a.fingerprint == EVENTS[0].sha256)
    assert (told.before, told.after, told.at) == (
        "aws-prod#5252",
        "aws-prod#5253",
        EVENTS[0].reported_at,
    )
    assert [(c.kind, c.artifact) for c in told.changes] == [(Kind.RESTARTED, runner)]
    # A build the last snapshot read does not show running is left out, not guessed.
    assert restarts("aws-prod", 5253, EVENTS[:1], base(EVENTS[1])).is_empty

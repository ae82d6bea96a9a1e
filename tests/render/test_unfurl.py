"""Unfurls: one compact attachment per link, goldens valid per slack_sdk's models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from slack_sdk.models.attachments import BlockAttachment
from slack_sdk.models.blocks import Block

from bot.domain.links import CommitLink, KosliArtifact, KosliSnapshot, KosliTrail
from bot.domain.results import (
    BuildLinked,
    Containing,
    Linked,
    Placement,
    SnapshotLinked,
    WhereResult,
)
from bot.githost.models import GitCommit
from bot.kosli.attestations import Trail
from bot.kosli.flows import CommitInfo
from bot.kosli.models import Artifact, Snapshot, SnapshotArtifact
from bot.render.unfurl import render_linked, render_unfurl
from tests.golden import assert_golden

AT = datetime(2022, 9, 6, 14, 52, 3, tzinfo=UTC)
HOST = "app.kosli.com"
CREATOR = "b7a590836cf140e17da3f01eadd5eca17d9efc65"
COMMIT_URL = f"https://github.com/cyber-dojo/creator/commit/{CREATOR}"
FINGERPRINT = "5d1c926530213dadd5c9fcbf59c8822da56e32a04b0f9c774d7cdde3cf6ba66d"


def running(name: str, compliant: bool | None = True, sha: str = CREATOR) -> SnapshotArtifact:
    return SnapshotArtifact(
        name=f"244531986313.dkr.ecr.eu-central-1.amazonaws.com/{name}:{sha[:7]}",
        fingerprint=FINGERPRINT,
        flow=name,
        git_commit=sha,
        commit_url=f"https://github.com/cyber-dojo/{name}/commit/{sha}",
        compliant=compliant,
        started_at=AT,
        instances=1,
        change="unchanged",
    )


def searched(running_in: tuple[str, ...], state: str = "COMPLIANT") -> Artifact:
    return Artifact(
        name=f"cyberdojo/creator:{CREATOR[:7]}",
        flow="creator",
        fingerprint=FINGERPRINT,
        git_commit=CREATOR,
        commit_url=COMMIT_URL,
        build_url="https://github.com/cyber-dojo/creator/actions/runs/1",
        html_url=f"https://app.kosli.com/cyber-dojo/flows/creator/artifacts/{FINGERPRINT}",
        state=state,
        created_at=AT,
        running_in=running_in,
        exited_from=(),
        history=(),
    )


SNAPSHOT_LINK = KosliSnapshot(
    f"https://{HOST}/cyber-dojo/environments/aws-prod/snapshots/177",
    HOST,
    "cyber-dojo",
    "aws-prod",
    177,
)
ARTIFACT_LINK = KosliArtifact(
    f"https://{HOST}/cyber-dojo/flows/creator/artifacts/{FINGERPRINT}",
    HOST,
    "cyber-dojo",
    "creator",
    FINGERPRINT,
)
TRAIL_LINK = KosliTrail(
    f"https://{HOST}/cyber-dojo/flows/creator-ci/trails/{CREATOR}",
    HOST,
    "cyber-dojo",
    "creator-ci",
    CREATOR,
)
COMMIT_LINK = CommitLink(COMMIT_URL, "github", "cyber-dojo/creator", CREATOR)
SERVICES = [
    "creator",
    "custom-start-points",
    "differ",
    "nginx",
    "runner",
    "saver",
    "web",
]
SNAPSHOT = Snapshot("aws-prod", 177, AT, True, tuple(running(s) for s in SERVICES))
TRAIL = Trail(
    name=CREATOR,
    flow="creator-ci",
    commit=CommitInfo(
        CREATOR, "Merge pull request #175\n\nmore", "Jon Jagger <jon@kosli.com>", "main", AT, ""
    ),
    build_url="",
    html_url="",
    compliant=False,
    attestations=(),
)
CASES: dict[str, Linked] = {
    "snapshot_latest": SnapshotLinked(SNAPSHOT_LINK, SNAPSHOT, 177),
    "snapshot_older": SnapshotLinked(
        SNAPSHOT_LINK, Snapshot("aws-prod", 177, AT, False, (running("creator", False),)), 180
    ),
    "artifact": BuildLinked(
        ARTIFACT_LINK, WhereResult(FINGERPRINT, artifacts=(searched(("aws-prod#177",)),))
    ),
    "artifact_not_running": BuildLinked(
        ARTIFACT_LINK, WhereResult(FINGERPRINT, artifacts=(searched((), "NON-COMPLIANT"),))
    ),
    "commit_from_snapshots": BuildLinked(
        COMMIT_LINK,
        WhereResult(
            CREATOR,
            placements=(
                Placement("aws-beta", 190, running("creator")),
                Placement("aws-prod", 177, running("creator", None)),
            ),
        ),
    ),
    "commit_contained": BuildLinked(
        COMMIT_LINK,
        WhereResult(
            CREATOR,
            commit=GitCommit(CREATOR, "Fix the <!here> & co", "Jon", COMMIT_URL, False),
            repository="cyber-dojo/creator",
            containing=(
                Containing(Placement("aws-prod", 177, running("creator")), "ahead", 2, 0),
                Containing(Placement("aws-beta", 190, running("creator")), "behind", 0, 1),
            ),
        ),
    ),
    "trail": BuildLinked(
        TRAIL_LINK, WhereResult(CREATOR, artifacts=(searched(("aws-prod#177",)),)), TRAIL
    ),
    "trail_without_commit": BuildLinked(
        TRAIL_LINK, None, Trail("t", "creator-ci", None, "", "", None, ())
    ),
}


def valid_attachment(attachment: dict[str, Any]) -> None:
    blocks = [Block.parse(b) for b in attachment["blocks"]]
    for block in blocks:
        assert block is not None
        block.validate_json()
    BlockAttachment(
        blocks=[b for b in blocks if b is not None],
        color=attachment.get("color"),
        fallback=attachment.get("fallback"),
    ).validate_json()


@pytest.mark.parametrize("name", CASES)
def test_unfurl_layouts(name: str) -> None:
    attachment = render_unfurl(CASES[name])
    valid_attachment(attachment)
    assert_golden(f"unfurl_{name}", attachment)
    assert len(attachment["blocks"]) <= 2  # compact


def test_what_each_unfurl_says() -> None:
    latest = render_unfurl(CASES["snapshot_latest"])
    assert latest["color"] == "good"
    assert "*Snapshot* `aws-prod#177` · :white_check_mark: compliant" in str(latest)
    assert "7 artifacts running" in str(latest) and "and 2 more" in str(latest)
    assert "the latest is `#180`" in str(render_unfurl(CASES["snapshot_older"]))
    artifact = render_unfurl(CASES["artifact"])
    assert "Runs in *aws-prod#177* :white_check_mark: compliant" in str(artifact)
    assert "Not running anywhere now." in str(render_unfurl(CASES["artifact_not_running"]))
    contained = render_unfurl(CASES["commit_contained"])
    assert "Contained in what runs in *aws-prod#177*" in str(contained)
    assert "aws-beta#190" not in str(contained)  # behind: it does not have the commit
    assert "&lt;!here&gt; &amp; co" in str(contained)
    mixed = render_unfurl(CASES["commit_from_snapshots"])
    assert "color" not in mixed  # one compliant, one unknown: no single colour
    trail = render_unfurl(CASES["trail"])
    assert trail["color"] == "danger"
    assert "Commit `b7a5908` Merge pull request #175 · Jon Jagger" in str(trail)


def test_the_shortcut_shows_a_snapshot_as_its_unfurl_says() -> None:
    message = render_linked(CASES["snapshot_latest"])
    assert message.text == "Snapshot aws-prod#177: compliant, 7 running"
    assert message.blocks == render_unfurl(CASES["snapshot_latest"])["blocks"]

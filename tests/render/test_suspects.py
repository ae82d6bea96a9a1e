"""The suspects block on hand-made rankings: hostile names from Kosli stay text, and a long
window stays inside Slack's limits with every change still listed or counted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.changes import Change, Kind
from bot.domain.suspects import Candidate, rank
from bot.kosli.models import SnapshotArtifact
from bot.render.suspects import render_suspects, suspects_blocks

START = datetime(2026, 5, 5, 15, 0, tzinfo=UTC)


def arrival(name: str, minutes: int) -> Candidate:
    artifact = SnapshotArtifact(
        name=name, fingerprint=f"{minutes:064x}", flow="", git_commit="", commit_url="",
        compliant=False, started_at=None, instances=1, change="started",
    )  # fmt: skip
    return Candidate("prod", Change(Kind.ROGUE, artifact), START - timedelta(minutes=minutes), 9)


def test_hostile_names_are_escaped() -> None:
    ranking = rank(
        [arrival("evil/<!here>:<@U1>", 5)], [], START, {"prod": ("<!channel>",)},
        ("where 1 of 1 builds ran before (<!everyone>)",),
    )  # fmt: skip
    text = str(render_suspects(ranking, "/kosli").blocks)
    assert "<!here>" not in text and "<@U1>" not in text and "<!everyone>" not in text
    assert "&lt;!here&gt;" in text


def test_a_long_window_lists_ten_lower_and_counts_the_rest() -> None:
    ranking = rank([arrival(f"svc{i}:v{i}", i + 1) for i in range(30)], [], START, {})
    blocks = suspects_blocks(ranking, marks=True)
    assert sum(1 for b in blocks if b["type"] == "actions") == 3  # Cause / Not it on the top three
    text = str(blocks)
    assert "Ranked lower:" in text and "…and 17 more" in text
    assert len(blocks) <= 50

"""`log` with Kosli's event log: each snapshot row says what happened in it (golden), on
Kosli's published answer; Kosli's words are escaped."""

from __future__ import annotations

from dataclasses import replace

from bot.domain.events import by_snapshot
from bot.domain.results import LogResult
from bot.kosli.models import SnapshotSummary
from bot.render.plain import blocks_to_text
from bot.render.queries import render_log
from tests.domain.test_events import EVENTS
from tests.golden import assert_golden


def rows() -> tuple[SnapshotSummary, ...]:
    """aws-prod #5253-#5248 as `list snapshots` would show them, timed by the events."""
    happened = by_snapshot(EVENTS)
    starts = {i: events[0].reported_at for i, events in happened.items()}
    found = []
    for index in sorted(starts, reverse=True):
        began, ended = starts[index], starts.get(index + 1)
        assert began is not None
        took = ((ended or began) - began).total_seconds() or 120.0
        found.append(SnapshotSummary(index, began, ended, took, True))
    return tuple(found)


def test_each_row_says_what_happened() -> None:
    result = LogResult("aws-prod", 1, rows(), 15, by_snapshot(EVENTS))
    message = render_log(result, "/kosli")
    assert_golden("log_events", message.blocks)
    text = blocks_to_text(message.blocks)
    assert (
        "└ saver, creator, languages-start-points: instances replaced · spooler: provenance updated"
    ) in text
    assert text.count("└ ") == 6


def test_rows_the_log_does_not_cover_stay_as_they_were() -> None:
    covered = {i: e for i, e in by_snapshot(EVENTS).items() if i >= 5252}
    text = blocks_to_text(render_log(LogResult("aws-prod", 1, rows(), 15, covered), "/k").blocks)
    assert text.count("└ ") == 2
    plain = blocks_to_text(render_log(LogResult("aws-prod", 1, rows(), 15), "/k").blocks)
    assert "└" not in plain and plain.count("*#52") == 6


def test_kosli_words_cannot_mention_or_link() -> None:
    hostile = replace(EVENTS[0], artifact_name="evil/<!here>:1", type="<https://x.io|click>")
    result = LogResult("aws-prod", 1, rows()[:1], 15, {5253: (hostile,)})
    blocks = str(render_log(result, "/kosli").blocks)
    assert "<!here>" not in blocks and "<https://x.io" not in blocks
    assert "&lt;!here&gt;: &lt;https://x.io|click&gt;" in blocks

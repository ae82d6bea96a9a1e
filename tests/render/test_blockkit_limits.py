"""Block Kit stays inside Slack's limits and never lets Kosli or user text become markup."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.domain.changes import Change, ChangeSet, Kind
from bot.domain.results import ArtifactResult, EnvsResult, WhereResult
from bot.kosli.models import Artifact, Environment, SnapshotArtifact
from bot.render import blockkit
from bot.render.changes import render_diff
from bot.render.mrkdwn import date, escape, link
from bot.render.queries import render_artifacts, render_envs, render_error, render_where

STARTED = datetime(2022, 9, 6, 14, 52, 3, tzinfo=UTC)


def running(index: int, name: str | None = None) -> SnapshotArtifact:
    return SnapshotArtifact(
        name=name or f"registry.example/service-{index}:v{index}",
        fingerprint=f"{index:064x}",
        flow=f"service-{index}",
        git_commit=f"{index:040x}",
        commit_url=f"https://github.com/acme/service-{index}/commit/{index:040x}",
        compliant=True,
        started_at=STARTED,
        instances=1,
        change="started",
    )


def test_a_long_diff_goes_in_parts_of_at_most_50_blocks_and_drops_nothing() -> None:
    started = tuple(Change(Kind.STARTED, running(i)) for i in range(80))
    changes = ChangeSet("prod#1", "prod#2", STARTED, started)
    message = render_diff(changes, "/kosli")
    assert message.text.startswith("prod#1 → prod#2: 80 started")
    sent = blockkit.parts(message.blocks)
    assert [len(blocks) for blocks in sent] == [50, 33]  # header, summary, 80 entries, buttons
    assert sum(str(blocks).count("Started") for blocks in sent) == 80
    assert sent[-1][-1]["type"] == "actions"  # the buttons end the last part


def test_many_environments_pack_into_sections_under_3000_characters() -> None:
    envs = tuple(Environment(f"env-{i:04d}", "K8S", "", STARTED, i % 2 == 0) for i in range(1000))
    message = render_envs(EnvsResult("acme", envs), "/kosli")
    assert len(message.blocks) <= 50
    for block in message.blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000


def test_kosli_text_is_escaped_and_odd_urls_are_not_linked() -> None:
    artifact = Artifact(
        name="evil<!channel>&co",
        flow="<@U123>",
        fingerprint="ab" * 32,
        git_commit="",
        commit_url="javascript:alert(1)",
        build_url="https://ci.example/run|<!here>",
        html_url="",
        state="NON-COMPLIANT",
        created_at=None,
        running_in=("prod#3",),
        exited_from=(),
        history=(),
    )
    blocks = str(render_artifacts(ArtifactResult("ab", (artifact,)), "/kosli").blocks)
    assert "<!channel>" not in blocks and "<@U123>" not in blocks and "<!here>" not in blocks
    assert "evil&lt;!channel&gt;&amp;co" in blocks
    assert "javascript:" in blocks and "<javascript:" not in blocks


def test_fallback_text_never_carries_markup_from_kosli_or_users() -> None:
    """Slack reads a message's `text` as mrkdwn too: a name must not ping the channel there."""
    artifact = Artifact(
        "<!channel>&co", "", "ab" * 32, "", "", "", "", "NON-COMPLIANT", None, (), (), ()
    )
    text = render_artifacts(ArtifactResult("ab", (artifact,)), "/kosli").text
    assert text == "&lt;!channel&gt;&amp;co: NON-COMPLIANT"
    assert render_error("I don't know `<!here>`").text == "I don't know `&lt;!here&gt;`"
    # Already escaped text is not escaped twice.
    assert render_error("a &amp; b").text == "a &amp; b"


def test_mrkdwn_helpers() -> None:
    assert escape("a<b>&c") == "a&lt;b&gt;&amp;c"
    assert link("https://x.example/c/1", "a<b") == "<https://x.example/c/1|a&lt;b>"
    assert link("ftp://x.example", "label") == "label"
    assert date(STARTED) == (
        "<!date^1662475923^{date_short_pretty} {time}|Tue, 06 Sep 2022 14:52:03 UTC>"
    )
    assert date(None) == "unknown"


def test_where_names_ten_empty_environments_and_counts_the_rest() -> None:
    empty = tuple(f"env-<{n}>" for n in range(13))
    message = render_where(WhereResult("creator", no_snapshot=empty), "/kosli")
    (line,) = [b for b in message.blocks if b["type"] == "context"]
    text = line["elements"][0]["text"]
    assert text.startswith("No snapshot yet in `env-&lt;0&gt;`, `env-&lt;1&gt;`")
    assert text.endswith("`env-&lt;9&gt;` and 3 more") and "env-&lt;10&gt;" not in text

"""`where COMMIT` when Kosli's search finds nothing or fails: the latest snapshots still say
where the commit runs, and what could not be reached is one line under it (issue 18)."""

from __future__ import annotations

from typing import Any

from bot.render.plain import blocks_to_text
from bot.sandbox import KosliSandbox
from tests.conftest import Bot
from tests.golden import assert_golden

RUNNER = "fa3d117"  # runner's build in aws-prod#177; aws-beta#190 still runs f57271f
RUNNER_FULL = "fa3d117d3b1489e9363cd1c237a0847439f8df6e"
NOBODY_LISTENS = "http://127.0.0.1:9"
RETRY_AT_ONCE = {"Retry-After": "0"}


def search_fails(kosli: KosliSandbox) -> None:
    """Every attempt of the bot's search answers 500 (the client tries three times)."""
    kosli.fail_next(500, headers=RETRY_AT_ONCE, times=3, only="/search/")


def search_finds_nothing(kosli: KosliSandbox) -> None:
    kosli.fail_next(404, body='{"message": "No commit or fingerprint matches"}', only="/search/")


def notes(answer: dict) -> list[str]:
    return [b["elements"][0]["text"] for b in answer["blocks"] if b["type"] == "context"]


def test_search_failing_and_the_git_host_down_still_name_where_it_runs(
    start_bot: Any, kosli: KosliSandbox
) -> None:
    bot = start_bot(github_api_url=NOBODY_LISTENS)
    search_fails(kosli)
    answer = bot.ask(f"where {RUNNER}")
    assert answer["response_type"] == "in_channel"
    assert answer["text"] == f"Where {RUNNER} runs: 1 found"
    text = blocks_to_text(answer["blocks"])
    assert f"*aws-prod#177* · `runner:{RUNNER}` · commit {RUNNER} (" in text
    assert "aws-beta" not in text  # not compared, so not claimed either way
    assert notes(answer) == [
        ":warning: Kosli's search failed: Kosli is having trouble (HTTP 500). The running builds"
        " were read from the latest snapshots. The other running builds were not compared with"
        " it: GitHub could not be reached."
    ]
    searched = [path for _, path in kosli.requests if "/search/" in path]
    assert len(searched) == 3  # the search was really asked, and really failed


def test_search_finding_nothing_matches_the_running_commits_by_prefix(
    bot: Bot, kosli: KosliSandbox
) -> None:
    search_finds_nothing(kosli)
    answer = bot.ask(f"where {RUNNER[:5]}")
    assert answer["response_type"] == "in_channel"
    text = blocks_to_text(answer["blocks"])
    assert text.startswith(f"Where {RUNNER[:5]} runs\n*aws-prod#177* · `runner:{RUNNER}` · ")
    assert f"https://github.com/cyber-dojo/runner/commit/{RUNNER_FULL}" in text
    # Then the git host compares the repository's other running builds with it.
    assert "⌛ *aws-beta#190* · not yet: runs `runner:f57271f`" in text
    assert notes(answer) == []
    assert answer["text"] == f"Where {RUNNER[:5]} runs: 1 found"
    assert_golden("command_where_from_snapshots", answer)


def test_with_only_the_git_host_down_the_running_build_stays_and_one_line_says_why(
    start_bot: Any, kosli: KosliSandbox
) -> None:
    bot = start_bot(github_api_url=NOBODY_LISTENS)
    search_finds_nothing(kosli)
    answer = bot.ask(f"where {RUNNER}")
    assert "*aws-prod#177* · `runner:fa3d117`" in blocks_to_text(answer["blocks"])
    assert notes(answer) == [
        ":warning: The other running builds were not compared with it: GitHub could not be reached."
    ]


def test_search_failing_on_a_commit_nothing_runs_says_both(
    start_bot: Any, kosli: KosliSandbox
) -> None:
    bot = start_bot(github_api_url=NOBODY_LISTENS)
    search_fails(kosli)
    answer = bot.ask("where e8cdc07")  # creator's culprit: no build was made of it
    assert answer["response_type"] == "ephemeral"
    assert answer["text"] == (
        "The git host could not say where `e8cdc07` is: GitHub could not be reached. "
        "Kosli's search failed: Kosli is having trouble (HTTP 500). "
        "The running builds were read from the latest snapshots."
    )


def test_search_failing_with_the_git_host_up_compares_and_says_so(
    bot: Bot, kosli: KosliSandbox
) -> None:
    search_fails(kosli)
    answer = bot.ask("where e8cdc07")
    text = blocks_to_text(answer["blocks"])
    assert "✅ *aws-prod#177* · `creator:b7a5908` has it, 3 commits later" in text
    assert [n[:33] for n in notes(answer)] == [":warning: Kosli's search failed: "]


def test_search_failing_on_something_nowhere_says_nothing_runs_and_why(
    bot: Bot, kosli: KosliSandbox
) -> None:
    search_fails(kosli)
    answer = bot.ask("where 0123abcd")
    assert answer["text"] == "Nothing running matches `0123abcd`."
    assert len(notes(answer)) == 1


def test_kosli_text_in_the_note_is_escaped(bot: Bot, kosli: KosliSandbox) -> None:
    kosli.fail_next(400, body='{"message": "<!channel> bad *sha*"}', only="/search/")
    answer = bot.ask(f"where {RUNNER}")
    (note,) = notes(answer)
    assert "<!channel>" not in note and "&lt;!channel&gt;" in note
    assert "*aws-prod#177*" in blocks_to_text(answer["blocks"])

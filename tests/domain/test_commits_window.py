"""The commits window: the commits between a replaced build and its successor, read from the
git host (the sandbox's story history, a fake GitHub, or none at all)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from bot.domain.commits_window import WindowEnds
from bot.githost import Comparison, GitHost, Repository
from bot.history import GitHistory
from bot.render.plain import blocks_to_text
from bot.sandbox import KosliSandbox
from bot.store.migrate import open_store
from testkit.fakes.slack import FakeSlack
from tests.commands.test_incidents import CHANNEL, click, open_seed_incident
from tests.conftest import Bot
from tests.golden import assert_golden

OLD = "31dee357844ab2f58a40d16f945dc5e35dcd6bc0"
NEW = "b7a590836cf140e17da3f01eadd5eca17d9efc65"
CULPRIT = "e8cdc07"


def test_commits_lists_the_commits_window_of_the_replaced_creator(bot: Bot) -> None:
    answer = bot.ask("commits aws-prod#177")
    assert answer["response_type"] == "in_channel"
    text = blocks_to_text(answer["blocks"])
    assert "`creator:31dee35` → `creator:b7a5908`" in text
    assert "*5 commits* from `31dee35` to `b7a5908`:" in text
    lines = [line for line in text.splitlines() if line.startswith("• ")]
    assert [line.split()[1][:7] for line in lines] == [
        "b7a5908", "9217db6", "076c9da", CULPRIT, "eb92e96",
    ]  # fmt: skip
    assert "Cache group ids in memory to speed up joins · Tomasz Nowak" in text
    assert "Merge pull request #214 from cyber-dojo/cache-group-ids · Priya Raman _(merge)_" in text
    assert f"<https://github.com/cyber-dojo/creator/commit/{NEW}|b7a5908>" in str(answer["blocks"])
    assert_golden("command_commits", answer["blocks"])


def test_a_snapshot_with_no_replaced_build_says_so(bot: Bot) -> None:
    answer = bot.ask("commits aws-prod#176")  # b7a5908 only started beside 31dee35
    assert "No build was replaced here" in blocks_to_text(answer["blocks"])


def test_the_commits_button_on_an_alert_answers_with_the_window(bot: Bot) -> None:
    _, replies = open_seed_incident(bot)
    click(bot, "show_commits", "aws-prod#176 aws-prod#177", replies[-1])
    answer = bot.slack.wait_for("/api/chat.postMessage", count=10)[-1].body
    assert answer["thread_ts"] == replies[-1]["thread_ts"]
    assert "*5 commits* from `31dee35` to `b7a5908`" in blocks_to_text(answer["blocks"])


def test_the_incident_thread_lists_the_commits_under_the_creator_change(bot: Bot) -> None:
    _, replies = open_seed_incident(bot)
    last = blocks_to_text(replies[-1]["blocks"])
    assert "`creator:31dee35` → `creator:b7a5908`" in last
    assert "*5 commits* from `31dee35` to `b7a5908`:" in last
    assert "Cache group ids in memory to speed up joins" in last
    assert "show_commits" not in str(replies[-1]["blocks"])  # shown already: no button


def test_compare_answers_are_kept_so_the_host_is_asked_once(bot: Bot, kosli: KosliSandbox) -> None:
    bot.ask("commits aws-prod#177", "first")
    bot.ask("commits aws-prod#177", "second")
    asked = [path for _, path in kosli.requests if path.startswith("/github/")]
    assert asked == [f"/github/repos/cyber-dojo/creator/compare/{OLD}...{NEW}"]


def test_with_the_git_host_down_the_thread_says_the_commits_could_not_be_read(
    start_bot: Any, slack: FakeSlack
) -> None:
    bot = start_bot(github_api_url="http://127.0.0.1:9")  # nobody listens there
    note = bot.ask("incident aws-prod since #169")
    assert note["text"] == "Opened an incident thread for aws-prod with 8 changes."
    replies = slack.posted(CHANNEL)[1:]
    assert len(replies) == 8  # every change, as before
    last = blocks_to_text(replies[-1]["blocks"])
    assert (
        "Commits from `31dee35` to `b7a5908` could not be read: GitHub could not be reached."
        in last
    )


class HangingHost(GitHost):
    async def compare(self, repo: Repository, base: str, head: str) -> Comparison:
        await asyncio.Event().wait()  # a git host that never answers
        raise AssertionError("unreachable")


def test_a_git_host_that_never_answers_costs_the_budget_and_no_more(tmp_path) -> None:
    async def run() -> dict[tuple[str, str], Any]:
        store = open_store(f"sqlite:///{tmp_path}/bot.db")
        history = GitHistory(store, HangingHost(), lambda: datetime.now(UTC))
        url = f"https://github.com/cyber-dojo/creator/commit/{NEW}"
        return await history.windows([WindowEnds(url, OLD, NEW)], budget=0.05)

    (window,) = asyncio.run(run()).values()
    assert window.comparison is None
    assert window.failure == "the git host did not answer in time"


def test_commits_on_a_host_the_bot_does_not_read_are_left_out(tmp_path) -> None:
    async def run() -> dict[tuple[str, str], Any]:
        store = open_store(f"sqlite:///{tmp_path}/bot.db")
        history = GitHistory(store, GitHost(), lambda: datetime.now(UTC))
        url = f"https://bitbucket.org/acme/web/commits/{NEW}"
        return await history.windows([WindowEnds(url, OLD, NEW)])

    assert asyncio.run(run()) == {}


def test_where_finds_the_running_builds_that_contain_a_commit_never_built(bot: Bot) -> None:
    answer = bot.ask(f"where {CULPRIT}")
    assert answer["response_type"] == "in_channel"
    text = blocks_to_text(answer["blocks"])
    assert text.startswith(f"Where {CULPRIT} runs\n")
    assert (
        f"{CULPRIT} (https://github.com/cyber-dojo/creator/commit/"
        "e8cdc074ce052da15a2e3e39fb43c0f6e5a84b8d) Cache group ids in memory to speed up joins"
        " · Tomasz Nowak (cyber-dojo/creator)"
    ) in text
    assert "✅ *aws-prod#177* · `creator:b7a5908` has it, 3 commits later · since" in text
    assert "⌛ *aws-beta#190* · not yet: runs `creator:bed709b`, 5 commits behind" in text
    assert answer["text"] == f"Where {CULPRIT} runs: in 1 of 2 running builds"
    assert_golden("command_where_contained", answer["blocks"])


def test_where_with_a_commit_no_repository_knows(bot: Bot) -> None:
    assert bot.ask("where 0123abcd")["text"] == "Nothing running matches `0123abcd`."


def test_where_a_commit_with_the_git_host_down_says_so(start_bot: Any) -> None:
    bot = start_bot(github_api_url="http://127.0.0.1:9")
    answer = bot.ask(f"where {CULPRIT}")
    assert answer["response_type"] == "ephemeral"
    assert answer["text"] == (
        f"The git host could not say where `{CULPRIT}` is: GitHub could not be reached."
    )

"""`suspects` against the sandbox: a slow or failing git host or Kosli search never holds the
answer up; the ranking names the facts it could not read."""

from __future__ import annotations

import threading
import time

import pytest

from bot.commands import incidents, suspects
from bot.sandbox import KosliSandbox
from tests.conftest import Bot

SEED = "suspects aws-prod since #175 at 2022-09-06T14:55"


def answer_text(answer: dict) -> str:
    return answer["text"] + str(answer["blocks"])


@pytest.fixture
def short_budgets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(suspects, "SUSPECT_BUDGET", 0.3)
    monkeypatch.setattr(incidents, "SUSPECT_GIT_BUDGET", 0.3)


@pytest.mark.usefixtures("short_budgets")
def test_a_git_host_and_a_search_that_never_answer_do_not_hold_the_ranking_up(
    bot: Bot, kosli: KosliSandbox
) -> None:
    for part in ("/search/", "/github/"):
        kosli.held[part] = threading.Event()  # released when the sandbox stops
    began = time.monotonic()
    answer = bot.ask(SEED)
    assert time.monotonic() - began < 2.5
    first = answer["blocks"][2]["text"]["text"]
    assert first.startswith("*1.* creator 31dee35 → b7a5908 · 3 min before")
    assert "never ran" not in first and "commits" not in first  # not guessed
    text = answer_text(answer)
    assert "Not read: where 1 of 1 build ran before (Kosli's search did not answer" in text
    assert "the commits of 1 replaced build (the git host did not answer in time)" in text


def test_a_failing_search_is_named_and_the_rest_still_ranks(bot: Bot, kosli: KosliSandbox) -> None:
    kosli.fail_next(500, times=5, only="/search/")
    answer = bot.ask(SEED)
    text = answer_text(answer)
    assert "Kosli's search did not say" in text
    assert "5 commits" in text  # the git host still answered


def test_suspects_on_an_unknown_environment_is_a_private_one_liner(bot: Bot) -> None:
    answer = bot.ask("suspects aws-prd at 2022-09-06T14:55")
    assert answer["response_type"] == "ephemeral"
    assert "There is no environment `aws-prd`" in answer["text"]


def test_at_a_snapshot_starts_when_it_was_taken(bot: Bot) -> None:
    """aws-prod#177 was taken at 14:53:28 UTC: creator b7a5908 began a minute and a half
    before; the window since #175 holds nothing else."""
    answer = bot.ask("suspects aws-prod since #175 at #177")
    assert "Tue, 06 Sep 2022 14:53:28 UTC" in answer["blocks"][1]["text"]["text"]
    first = answer["blocks"][2]["text"]["text"]
    assert first.startswith("*1.* creator 31dee35 → b7a5908 · 1 min before")


def test_search_is_asked_only_about_the_highest_ranked_builds(
    bot: Bot, kosli: KosliSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(suspects, "LOOKED_UP", 0)
    answer = bot.ask(SEED)
    assert "where 1 lower-ranked build ran before (not looked up)" in answer_text(answer)
    assert not [t for _, t in kosli.requests if "/search/" in t]

"""Commands that read many environments: one with no snapshot (Kosli answers 404, or 400)
is shown as having none, and the others are answered; the command never fails for it."""

from __future__ import annotations

import pytest

from bot.sandbox import KosliSandbox
from bot.sandbox.dataset import Environment
from tests.conftest import SEED_NOW, Bot


def all_text(answer: dict) -> str:
    return answer["text"] + str(answer["blocks"])


@pytest.fixture
def with_empty(kosli: KosliSandbox) -> KosliSandbox:
    """aws-dev was created and never reported: the sandbox answers 404 for its latest."""
    kosli.dataset.environments.append(Environment("aws-dev", "ECS", "never ran", SEED_NOW - 3600))
    return kosli


@pytest.mark.parametrize("status", [404, 400])
def test_where_answers_from_the_others_and_names_the_empty_one(
    bot: Bot, with_empty: KosliSandbox, status: int
) -> None:
    with_empty.fail_next(status, only="/snapshots/cyber-dojo/aws-beta/")
    answer = bot.ask("where creator")
    assert answer["response_type"] == "in_channel"
    assert answer["text"] == "Where creator runs: 1 found"
    text = all_text(answer)
    assert "*aws-prod#177* · `creator:b7a5908`" in text and "*aws-beta#" not in text
    assert answer["blocks"][-1] == {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": "No snapshot yet in `aws-beta`, `aws-dev`"}],
    }
    asked = [t for _, t in with_empty.requests if "/snapshots/cyber-dojo/" in t]
    assert sorted(t.rsplit("/", 2)[-2] for t in asked) == ["aws-beta", "aws-dev", "aws-prod"]


def test_where_with_nothing_found_still_names_the_empty_ones(
    bot: Bot, with_empty: KosliSandbox
) -> None:
    with_empty.fail_next(400, only="/snapshots/cyber-dojo/aws-prod/")
    answer = bot.ask("where no-such-service")
    assert answer["text"] == "Nothing running matches `no-such-service`."
    assert "No snapshot yet in `aws-dev`, `aws-prod`" in all_text(answer)


def test_where_says_nothing_of_empty_environments_when_there_are_none(bot: Bot) -> None:
    assert "No snapshot" not in all_text(bot.ask("where creator"))


@pytest.mark.parametrize("status", [404, 400])
def test_envs_lists_the_empty_one_as_never_reported(
    bot: Bot, with_empty: KosliSandbox, status: int
) -> None:
    with_empty.fail_next(status, only="/snapshots/cyber-dojo/aws-beta/")
    answer = bot.ask("envs")
    assert answer["response_type"] == "in_channel"
    assert answer["text"] == "3 environments in cyber-dojo"
    lines = answer["blocks"][1]["text"]["text"].splitlines()
    assert [line.split(" · ")[0] for line in lines] == ["*aws-beta*", "*aws-dev*", "*aws-prod*"]
    assert lines[1] == "*aws-dev* · ECS · never reported · :grey_question: unknown"
    assert "last report" in lines[0] and "last report" in lines[2]

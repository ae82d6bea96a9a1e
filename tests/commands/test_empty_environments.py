"""Commands that read many environments: one with no snapshot (Kosli answers 404, or 400)
is shown as having none, and the others are answered; the command never fails for it."""

from __future__ import annotations

import json

import pytest

from bot.sandbox import KosliSandbox
from bot.sandbox.dataset import Environment
from tests.conftest import SEED_NOW, Bot
from tests.golden import assert_golden


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


@pytest.mark.parametrize("status", [404, 400])
def test_watch_watches_the_others_and_names_the_empty_one(
    bot: Bot, with_empty: KosliSandbox, status: int
) -> None:
    with_empty.fail_next(status, only="/snapshots/cyber-dojo/aws-dev/")
    answer = bot.ask("watch aws-dev aws-prod")
    assert_golden("watch_with_empty", answer)
    assert answer["response_type"] == "in_channel"
    assert answer["text"].startswith("Watching aws-prod in this channel: 10 artifacts running")
    assert answer["blocks"][-1] == {
        "type": "context",
        "elements": [
            {
                "type": "mrkdwn",
                "text": ":information_source: No snapshot yet in `aws-dev`: not watched. "
                "Watch again once it reports.",
            }
        ],
    }
    listing = all_text(bot.ask("watching", "2"))
    assert "*aws-prod* · last seen" in listing and "aws-dev" not in listing


def test_watch_with_only_empty_ones_watches_nothing(bot: Bot, with_empty: KosliSandbox) -> None:
    answer = bot.ask("watch aws-dev")
    assert answer["response_type"] == "ephemeral"
    assert answer["text"] == "Kosli has no snapshot of `aws-dev` yet."
    assert "watches nothing yet" in bot.ask("watching", "2")["text"]


def test_watch_with_a_typo_watches_nothing_at_all(bot: Bot, with_empty: KosliSandbox) -> None:
    """Every name is read before any is watched: no half-done watch to undo."""
    answer = bot.ask("watch aws-prod aws-prd")
    assert answer["text"].startswith("There is no environment `aws-prd` in org `cyber-dojo`.")
    assert "watches nothing yet" in bot.ask("watching", "2")["text"]


@pytest.mark.parametrize("status", [404, 400])
def test_incident_follows_the_others_and_names_the_empty_one(
    bot: Bot, with_empty: KosliSandbox, status: int
) -> None:
    with_empty.fail_next(status, only="/snapshots/cyber-dojo/aws-dev")
    answer = bot.ask("incident aws-dev aws-prod since #175")
    assert answer["text"] == (
        "Opened an incident thread for aws-prod with 2 changes. "
        "No snapshot yet in `aws-dev`: not followed."
    )
    closed = bot.ask("incident close", "2")  # the timeline reads aws-prod alone
    assert closed["text"] == "Closed the incident; the timeline is attached in its thread."


def test_incident_with_only_empty_ones_opens_nothing(bot: Bot, with_empty: KosliSandbox) -> None:
    answer = bot.ask("incident aws-dev 1h")
    assert answer["text"] == "Kosli has no snapshot of `aws-dev` yet."
    assert not bot.slack.posted("C0INCIDENT")


@pytest.mark.parametrize("status", [None, 404, 400])
@pytest.mark.parametrize(
    "command", ["diff aws-prod aws-dev", "diff aws-dev aws-prod", "diff aws-dev", "why aws-dev"]
)
def test_a_question_about_an_empty_one_names_it(
    bot: Bot, with_empty: KosliSandbox, status: int | None, command: str
) -> None:
    """Not "could not find aws-prod and aws-dev": the one with no snapshot, whatever Kosli said."""
    if status:
        with_empty.fail_next(status, only="/snapshots/cyber-dojo/aws-dev")
        with_empty.fail_next(status, only="/env-diff/")
    answer = bot.ask(command)
    assert answer["response_type"] == "ephemeral"
    assert answer["text"] == "Kosli has no snapshot of `aws-dev` yet."


def test_a_bad_request_about_others_keeps_kosli_words(bot: Bot, with_empty: KosliSandbox) -> None:
    with_empty.fail_next(400, json.dumps({"message": "invalid snapshot expression"}))
    answer = bot.ask("diff aws-prod#176 aws-prod#177")
    assert answer["text"] == "Kosli could not read that request: invalid snapshot expression"


def test_log_of_an_empty_one_says_it_has_none(bot: Bot, with_empty: KosliSandbox) -> None:
    assert bot.ask("log aws-dev")["text"] == "Kosli has no snapshot of `aws-dev` yet."

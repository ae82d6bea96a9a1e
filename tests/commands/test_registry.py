"""The command registry: one declaration per command drives parsing, help and buttons."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.commands.catalog import COMMANDS
from bot.commands.registry import Command, Registry
from bot.domain.commands import CommandError, parse_envs, parse_help

NOW = datetime(2022, 9, 6, 14, 56, 28, tzinfo=UTC)


async def _unused(*_: object) -> None:
    raise AssertionError("not called")


def command(name: str, **extra: object) -> Command:
    return Command(name, "", "does it", name, parse_envs, _unused, **extra)  # type: ignore[arg-type]


def test_names_aliases_and_buttons_may_not_collide() -> None:
    with pytest.raises(ValueError, match="`envs` is declared twice"):
        Registry([command("envs"), command("list", aliases=("envs",))])
    with pytest.raises(ValueError, match="button `go` is declared twice"):
        Registry([command("a", buttons={"go": str}), command("b", buttons={"go": str})])


def test_help_lists_every_declared_command_in_order() -> None:
    names = [entry.name for entry in COMMANDS.help()]
    assert names == [c.name for c in COMMANDS.commands]
    assert names[0] == "diff" and names[-1] == "help"


def test_errors_carry_the_commands_usage_and_unknown_names_a_suggestion() -> None:
    with pytest.raises(CommandError) as error:
        COMMANDS.parse("log", NOW)
    assert str(error.value) == (
        "`log` needs an environment name. Usage: `log ENV [PAGE]`, for example `log aws-prod`."
    )
    with pytest.raises(CommandError, match="Did you mean `where`"):
        COMMANDS.parse("wher b7a5908", NOW)
    assert COMMANDS.parse("", NOW)[0].parse is parse_help


@pytest.mark.parametrize(
    ("action_id", "value", "text"),
    [
        ("previous_change", "aws-prod#177", "diff aws-prod#176 aws-prod#177"),
        ("previous_change", "aws-prod#x", "diff aws-prod#x"),
        ("artifact_details", "creator@5d1c9265", "artifact creator@5d1c9265"),
        ("mute_hour", "aws-prod", "mute aws-prod 1h"),
        ("close_incident", "close", "incident close"),
    ],
)
def test_every_button_stands_for_a_command(action_id: str, value: str, text: str) -> None:
    assert action_id in COMMANDS.action_ids
    assert COMMANDS.button_text(action_id, value) == text
    if value != "aws-prod#x":
        COMMANDS.parse(text, NOW)  # parses: the button leads somewhere real
    else:
        with pytest.raises(CommandError, match="Snapshots can be written as"):
            COMMANDS.parse(text, NOW)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("diff " + "a" * 50_000, "a command is at most 1,000"),
        ("log " + "a" * 300, "is not an environment name"),
        ("where " + "b" * 300, "`where` takes one commit"),
    ],
)
def test_huge_input_is_refused_with_a_reason(text: str, words: str) -> None:
    with pytest.raises(CommandError, match=words):
        COMMANDS.parse(text, NOW)

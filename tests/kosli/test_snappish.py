import pytest

from bot.kosli.snappish import Snappish, SnappishError, parse_snappish


@pytest.mark.parametrize(
    ("expression", "parsed", "segment"),
    [
        ("aws-prod", Snappish("aws-prod"), "-1"),
        ("aws-prod#176", Snappish("aws-prod", "#", "176"), "%23176"),
        # `#-N` is ours, not Kosli's: the latest goes as -1 (as the CLI sends), older ones as ~N-1.
        ("aws-prod#-1", Snappish("aws-prod", "#", "-1"), "-1"),
        ("aws-prod#-3", Snappish("aws-prod", "#", "-3"), "~2"),
        ("hadron~1", Snappish("hadron", "~", "1"), "~1"),
        (
            "hadron@{2023-07-04T11:04:02}",
            Snappish("hadron", "@", "2023-07-04T11:04:02"),
            "@%7B2023-07-04T11:04:02%7D",
        ),
        ("hadron@{2.hours.ago}", Snappish("hadron", "@", "2.hours.ago"), "@%7B2.hours.ago%7D"),
        ("hadron@{1.day.ago}", Snappish("hadron", "@", "1.day.ago"), "@%7B1.day.ago%7D"),
    ],
)
def test_accepted_forms_and_their_path_segment(expression: str, parsed: Snappish, segment: str):
    assert parse_snappish(expression) == parsed
    assert parsed.path_segment == segment
    assert str(parsed) == expression


@pytest.mark.parametrize(
    ("expression", "api_form"),
    [
        ("aws-prod", "aws-prod"),
        ("aws-prod#176", "aws-prod#176"),
        ("aws-prod#-1", "aws-prod~0"),
        ("aws-prod#-3", "aws-prod~2"),
        ("hadron~1", "hadron~1"),
        ("hadron@{2.hours.ago}", "hadron@{2.hours.ago}"),
    ],
)
def test_api_form_sends_nth_from_latest_as_behind_latest(expression: str, api_form: str) -> None:
    parsed = parse_snappish(expression)
    assert parsed.api_form == api_form
    assert str(parsed) == expression  # replies still quote what the user wrote


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("#12", "Environment name is missing"),
        ("~12", "Environment name is missing"),
        ("@12", "Environment name is missing"),
        ("aws#1~2", "Only one of '@', '~' or '#' can be present"),
        ("aws-prod#abc", "snapshot number"),
        ("aws-prod#0", "snapshot number"),
        ("aws-prod~-1", "snapshots back"),
        ("aws-prod@yesterday", "moment in braces"),
        ("aws-prod@{2023-13-04T11:04:02}", "YYYY-MM-DDTHH:MM:SS"),
        ("aws-prod@{soon}", "YYYY-MM-DDTHH:MM:SS"),
    ],
)
def test_malformed_expressions_say_why(expression: str, reason: str) -> None:
    with pytest.raises(SnappishError) as error:
        parse_snappish(expression)
    assert str(error.value).startswith(f"invalid expression: {expression}.")
    assert reason in str(error.value)


@pytest.mark.parametrize(
    ("expression", "previous"),
    [
        ("aws-prod", "aws-prod~1"),
        ("aws-prod~1", "aws-prod~2"),
        ("aws-prod#177", "aws-prod#176"),
        ("aws-prod#-1", "aws-prod#-2"),
        ("aws-prod#-3", "aws-prod#-4"),
        ("aws-prod#1", None),
        ("aws-prod@{2.hours.ago}", None),
    ],
)
def test_previous_snapshot(expression: str, previous: str | None) -> None:
    before = parse_snappish(expression).previous()
    assert (str(before) if before else None) == previous

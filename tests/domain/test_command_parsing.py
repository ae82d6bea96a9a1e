from datetime import UTC, datetime, timedelta

import pytest

from bot.commands.catalog import COMMANDS
from bot.domain.commands import (
    At,
    CloseIncident,
    CommandError,
    ExplainCompliance,
    FindArtifact,
    FindRunning,
    FindSuspects,
    Help,
    ListEnvs,
    MarkSuspect,
    OpenIncident,
    ShowDiff,
    ShowLog,
    Window,
)
from bot.kosli.snappish import Snappish


def parse_command(text: str, now: datetime | None = None) -> object:
    """The request the registry parses `text` into."""
    return COMMANDS.parse(text, now or datetime.now(UTC))[1]


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("", Help()),
        ("help", Help()),
        ("HELP", Help()),
        ("envs", ListEnvs()),
        ("env list", ListEnvs()),
        ("log aws-prod", ShowLog("aws-prod")),
        ("env log aws-prod 2", ShowLog("aws-prod", 2)),
        ("diff aws-prod", ShowDiff(Snappish("aws-prod", "~", "1"), Snappish("aws-prod"))),
        (
            "diff aws-prod#177",
            ShowDiff(Snappish("aws-prod", "#", "176"), Snappish("aws-prod", "#", "177")),
        ),
        (
            "env diff aws-prod#176  aws-prod#177",
            ShowDiff(Snappish("aws-prod", "#", "176"), Snappish("aws-prod", "#", "177")),
        ),
        ("diff aws-beta aws-prod", ShowDiff(Snappish("aws-beta"), Snappish("aws-prod"))),
        ("diff aws-prod@{1.hours.ago}", ShowDiff(None, Snappish("aws-prod", "@", "1.hours.ago"))),
        ("artifact web@480735698cb9", FindArtifact("480735698cb9", "web")),
        ("artifact get creator:B7A5908", FindArtifact("b7a5908", "creator", by_commit=True)),
        ("artifact 5d1c926530", FindArtifact("5d1c926530")),
        ("where b7a5908", FindRunning("b7a5908")),
        ("where creator", FindRunning("creator")),
        ("why aws-prod", ExplainCompliance(Snappish("aws-prod"))),
        (
            "why aws-prod#-2 payments",
            ExplainCompliance(Snappish("aws-prod", "#", "-2"), "payments"),
        ),
    ],
)
def test_commands_parse(text: str, command: object) -> None:
    assert parse_command(text) == command


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("dif aws-prod", "Did you mean `diff`?"),
        ("deploy everything", "I don't know the command `deploy`"),
        ("log", "`log` needs an environment name"),
        ("log aws-prod#3", "`log` needs an environment name"),
        ("log aws-prod zero", "The page must be a number"),
        ("diff", "`diff` takes one or two snapshots"),
        ("diff a b c", "`diff` takes one or two snapshots"),
        ("diff aws-prod#x", "Snapshots can be written as `ENV` (latest)"),
        ("diff #3", "Environment name is missing"),
        ("artifact", "`artifact` takes one artifact"),
        ("artifact web@xyz", "is not an artifact"),
        ("artifact creator", "is not a commit or fingerprint"),
        ("where", "`where` takes one commit"),
        ("envs now", "`envs` takes no arguments"),
        ("why", "`why` takes an environment"),
        ("why aws-prod a b", "`why` takes an environment"),
        ("why aws-prod ../../etc", "`why` takes an environment"),
        ("why #3", "Environment name is missing"),
    ],
)
def test_bad_input_explains_itself(text: str, message: str) -> None:
    with pytest.raises(CommandError) as error:
        parse_command(text)
    assert message in str(error.value)


NOW = datetime(2022, 9, 6, 14, 56, 28, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("incident aws-prod", OpenIncident(("aws-prod",), Window(back=timedelta(hours=4)))),
        ("incident aws-prod 2h", OpenIncident(("aws-prod",), Window(back=timedelta(hours=2)))),
        (
            "incident aws-prod aws-beta 30m",
            OpenIncident(("aws-prod", "aws-beta"), Window(back=timedelta(minutes=30))),
        ),
        ("incident aws-prod since #169", OpenIncident(("aws-prod",), Window(since_index=169))),
        (
            "incident aws-prod since 14:30",
            OpenIncident(("aws-prod",), Window(since=datetime(2022, 9, 6, 14, 30, tzinfo=UTC))),
        ),
        (
            "incident aws-prod since 15:00",  # later than now today: yesterday's
            OpenIncident(("aws-prod",), Window(since=datetime(2022, 9, 5, 15, 0, tzinfo=UTC))),
        ),
        (
            "incident aws-prod since 2022-09-05T08:00",
            OpenIncident(("aws-prod",), Window(since=datetime(2022, 9, 5, 8, 0, tzinfo=UTC))),
        ),
        ("incident close", CloseIncident()),
        (
            "incident aws-prod since #169 at 14:55",
            OpenIncident(
                ("aws-prod",),
                Window(since_index=169),
                At(moment=datetime(2022, 9, 6, 14, 55, tzinfo=UTC)),
            ),
        ),
        (
            "suspects aws-prod since #175 at 14:55",
            FindSuspects(
                ("aws-prod",),
                Window(since_index=175),
                At(moment=datetime(2022, 9, 6, 14, 55, tzinfo=UTC)),
            ),
        ),
        (
            "suspects aws-prod aws-beta 2h at #177",
            FindSuspects(("aws-prod", "aws-beta"), Window(back=timedelta(hours=2)), At(index=177)),
        ),
        (
            "suspects aws-prod at 2022-09-06T15:00",
            FindSuspects(
                ("aws-prod",),
                Window(back=timedelta(hours=4)),
                At(moment=datetime(2022, 9, 6, 15, 0, tzinfo=UTC)),
            ),
        ),
        ("suspects prod", FindSuspects(("prod",))),
        (
            "mark cause aws-prod 860AD172ace5 creator:b7a5908",
            MarkSuspect(True, "aws-prod", "860ad172ace5", "creator:b7a5908"),
        ),
        ("mark not-it aws-prod 860ad172ace5", MarkSuspect(False, "aws-prod", "860ad172ace5")),
    ],
)
def test_incident_windows(text: str, command: object) -> None:
    assert parse_command(text, NOW) == command


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("incident", "`incident` needs an environment"),
        ("incident 2h", "`incident` needs an environment"),
        ("incident aws-prod since lunch", "After `since` comes a UTC time"),
        ("incident aws-prod since", "After `since` comes a UTC time"),
        ("suspects aws-prod at noon", "After `at` comes a UTC time"),
        ("suspects at 14:55", "`suspects` needs an environment"),
        ("mark guilty aws-prod 860ad172ace5", "`mark` takes `cause` or `not-it`"),
        ("mark cause aws-prod <!here>", "is not a fingerprint"),
    ],
)
def test_bad_incident_input(text: str, message: str) -> None:
    with pytest.raises(CommandError) as error:
        parse_command(text, NOW)
    assert message in str(error.value)

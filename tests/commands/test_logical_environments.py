"""Logical environments (Kosli's `type: logical`, as cyber-dojo's `production` and `staging`):
the acme sandbox's `production` includes prod; the tests add `everything` (prod, staging and a
`dev` that never reported) and `nothing` (includes none). Through signed slash commands."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from bot.domain.results import MuteResult
from bot.kosli import models
from bot.render.plain import blocks_to_text
from bot.render.subscriptions import render_mute
from bot.sandbox import ACME_NOW, KosliSandbox
from bot.sandbox.dataset import Environment
from tests.conftest import SANDBOX_TOKEN, Bot
from tests.golden import assert_golden

MODIFIED = ACME_NOW - 86400
CHANNEL = "C0INCIDENT"


@pytest.fixture
def kosli() -> Iterator[KosliSandbox]:
    """acme, with two more logical environments and one physical one never reported."""
    with KosliSandbox(org="acme", token=SANDBOX_TOKEN, now=lambda: ACME_NOW) as sandbox:
        sandbox.dataset.environments += [
            Environment("dev", "K8S", "acme dev: never reported", MODIFIED),
            Environment(
                "everything",
                "logical",
                "<!here> all of acme",
                MODIFIED,
                included=["prod", "staging", "dev"],
            ),
            Environment(
                "nothing", "logical", "created with no environments", MODIFIED, included=[]
            ),
        ]
        yield sandbox


@pytest.fixture
def bot(start_bot: Callable[..., Bot]) -> Bot:
    return start_bot(kosli_org="acme")


def text_of(answer: dict[str, Any]) -> str:
    return answer["text"] + "\n" + blocks_to_text(answer["blocks"])


def snapshot_requests(kosli: KosliSandbox) -> list[str]:
    return [t.split("?")[0] for _, t in kosli.requests if "/snapshots/acme/" in t]


def test_envs_shows_what_each_logical_environment_includes(bot: Bot) -> None:
    answer = bot.ask("envs")
    assert_golden("logical_envs", answer)
    lines = answer["blocks"][1]["text"]["text"].splitlines()
    assert "*everything* · logical · includes `prod`, `staging` and `dev` · " in lines[3]
    assert lines[4].startswith("*nothing* · logical · includes no environments yet · ")
    # Its compliance is what it includes, and it never reports itself.
    assert lines[6] == "*production* · logical · includes `prod` · :white_check_mark: compliant"


def test_watch_a_logical_environment_watches_what_it_includes(bot: Bot) -> None:
    answer = bot.ask("watch production")
    assert_golden("logical_watch", answer)
    assert answer["response_type"] == "in_channel"
    assert answer["text"].startswith("Watching prod in this channel: 5 artifacts running at #4363")
    assert (
        "`production` is a logical environment: watching what it includes, `prod`."
        in (answer["text"])
    )
    listing = text_of(bot.ask("watching", "2"))
    assert "*prod* · last seen *#4363*" in listing and "production" not in listing
    again = bot.ask("watch production prod", "3")  # prod once, though named twice
    assert again["text"].startswith("Already watching `prod` here (since snapshot #4363).")
    assert again["text"].count("Already watching") == 1


def test_watch_several_included_leaves_out_the_one_never_reported(
    bot: Bot, kosli: KosliSandbox
) -> None:
    answer = bot.ask("watch everything")
    assert_golden("logical_watch_several", answer)
    text = text_of(answer)
    assert "Watching prod in this channel" in text and "Watching staging in this channel" in text
    assert "watching what it includes, `prod`, `staging` and `dev`." in text
    assert "No snapshot yet in `dev`: not watched. Watch again once it reports." in text
    listing = text_of(bot.ask("watching", "2"))
    assert listing.startswith("This channel watches 2 environments")
    assert "*prod* · last seen" in listing and "*staging* · last seen" in listing


def test_watch_a_logical_environment_that_includes_none_says_so(
    bot: Bot, kosli: KosliSandbox
) -> None:
    answer = bot.ask("watch nothing")
    assert_golden("logical_watch_nothing", answer)
    assert answer["response_type"] == "ephemeral"
    assert answer["text"] == (
        "`nothing` is a logical environment that includes no environments yet: nothing to watch."
    )
    assert "watches nothing yet" in bot.ask("watching", "2")["text"]


@pytest.mark.parametrize(
    ("command", "golden", "expected"),
    [
        ("diff production", "logical_diff", "it includes `prod`. Try `diff prod`."),
        ("log production", "logical_log", "it includes `prod`. Try `log prod`."),
        ("why production", "logical_why", "it includes `prod`. Try `why prod`."),
        (
            "diff everything#3 everything#4",
            "logical_diff_several",
            "it includes `prod`, `staging` and `dev`. Try `diff prod`.",
        ),
        ("diff staging production", None, "it includes `prod`. Try `diff prod`."),
        ("log nothing", None, "includes no environments yet: it has no snapshots."),
    ],
)
def test_one_line_says_which_environments_to_use(
    bot: Bot, command: str, golden: str | None, expected: str
) -> None:
    answer = bot.ask(command)
    if golden:
        assert_golden(golden, answer)
    assert answer["response_type"] == "ephemeral"
    assert "is a logical environment" in answer["text"] and answer["text"].endswith(expected)
    assert len(answer["blocks"]) == 1


def test_where_counts_each_running_build_once(bot: Bot, kosli: KosliSandbox) -> None:
    answer = bot.ask("where web")
    assert answer["text"] == "Where web runs: 2 found"  # prod and staging, not production too
    text = text_of(answer)
    assert "prod#4363" in text and "staging#1203" in text
    assert "No snapshot yet in `dev`" in text  # the physical one that never reported
    assert "production" not in text and "everything" not in text and "nothing" not in text
    latest = snapshot_requests(kosli)
    assert sorted(latest) == [
        f"/api/v2/snapshots/acme/{env}/-1"
        for env in ("dev", "eu-prod", "eu-staging", "prod", "staging")
    ]


def test_incident_on_a_logical_environment_follows_what_it_includes(bot: Bot) -> None:
    answer = bot.ask("incident everything since 2026-05-04T14:00")
    assert_golden("logical_incident", answer)
    assert answer["text"] == (
        "Opened an incident thread for prod, staging with 11 changes. "
        "`everything` is a logical environment: following what it includes, "
        "`prod`, `staging` and `dev`. No snapshot yet in `dev`: not followed."
    )
    parent = bot.slack.posted(CHANNEL)[0]
    assert parent["text"].startswith("Incident: what changed in prod, staging")
    busy = bot.ask("incident prod 1h", "2")  # prod is in the thread just opened
    assert "An incident thread for prod is already open here" in busy["text"]


def test_incident_on_a_logical_environment_that_includes_none(bot: Bot) -> None:
    answer = bot.ask("incident nothing since 2026-05-04T14:00")
    assert answer["text"] == (
        "`nothing` is a logical environment that includes no environments yet: nothing to follow."
    )
    assert not bot.slack.posted(CHANNEL)


def test_names_kosli_lists_as_included_are_escaped(bot: Bot, kosli: KosliSandbox) -> None:
    included = ["<!here>", "prod"]
    kosli.dataset.environments.append(
        Environment("odd", "logical", "", MODIFIED, included=included)
    )
    envs = str(bot.ask("envs")["blocks"])
    watch = bot.ask("watch odd", "2")
    incident = bot.ask("incident odd since 2026-05-05T14:00", "3")
    diff = bot.ask("diff odd", "4")
    for answer in (watch, incident, diff):
        assert "&lt;!here&gt;" in answer["text"]
    for shown in (envs, str(watch), str(incident), str(diff)):
        assert "<!here>" not in shown and "&lt;!here&gt;" in shown


def test_unwatch_a_logical_environment_unwatches_what_it_includes(bot: Bot) -> None:
    bot.ask("watch everything staging")
    unwatched = bot.ask("unwatch everything", "2")
    assert_golden("logical_unwatch", unwatched)
    assert unwatched["response_type"] == "in_channel"
    assert unwatched["text"] == "Stopped watching `prod` and `staging` here"
    assert "watches nothing yet" in bot.ask("watching", "3")["text"]
    again = bot.ask("unwatch everything", "4")
    assert_golden("logical_unwatch_again", again)
    assert again["text"] == (
        "This channel was not watching `everything`, "
        "a logical environment that includes `prod`, `staging` and `dev`."
    )
    assert bot.ask("unwatch nothing", "5")["text"] == (
        "This channel was not watching `nothing`, "
        "a logical environment that includes no environments yet."
    )


def test_where_by_search_leaves_logical_environments_out(bot: Bot, kosli: KosliSandbox) -> None:
    """Should Kosli's search name a logical environment where a build runs, that build is
    still shown once: in the physical environment."""
    found = httpx.get(
        f"{kosli.base_url}/api/v2/search/acme/sha/9b0e6d3",
        headers={"Authorization": f"Bearer {SANDBOX_TOKEN}"},
    ).json()
    (web,) = found["artifacts"]
    web["running_in"] = [*web["running_in"], "production#4358", "everything"]
    kosli.fail_next(200, json.dumps(found), only="/search/")
    answer = bot.ask("where 9b0e6d3")
    assert answer["text"] == "Where 9b0e6d3 runs: 1 found"
    text = text_of(answer)
    assert "production" not in text and "everything" not in text
    assert "*prod#4363*, *staging#1203*" in text


def test_mute_and_unmute_a_logical_environment_act_on_what_it_includes(bot: Bot) -> None:
    none_yet = bot.ask("mute everything 1h")
    assert_golden("logical_mute_none", none_yet)
    assert none_yet["text"] == (
        "This channel watches nothing `everything` includes (`prod`, `staging` and `dev`). "
        "Start with `/kosli watch everything`."
    )
    bot.ask("watch everything", "2")
    muted = bot.ask("mute everything 1h", "3")
    assert muted["response_type"] == "in_channel"
    assert muted["text"].startswith("`prod` and `staging` muted until ")
    assert "muted `prod` and `staging`, what the logical environment `everything` includes: " in (
        text_of(muted)
    )
    listing = text_of(bot.ask("watching", "4"))
    assert listing.count("🔕 muted until") == 2
    unmuted = bot.ask("unmute everything", "5")
    assert_golden("logical_unmute", unmuted)
    assert unmuted["text"] == "`prod` and `staging` unmuted"
    assert "🔕" not in text_of(bot.ask("watching", "6"))


def test_mute_of_a_logical_environment_layout() -> None:
    """The slash command's mute ends at the wall clock's time: its layout, at a fixed one."""
    everything = models.Environment(
        "everything", "logical", "", None, None, ("prod", "staging", "dev")
    )
    until = datetime(2026, 5, 5, 15, 30, tzinfo=UTC)
    result = MuteResult("everything", until, True, "U0ONCALL", 0, everything, ("prod", "staging"))
    message = render_mute(result, "/kosli")
    assert_golden("logical_mute", {"text": message.text, "blocks": message.blocks})

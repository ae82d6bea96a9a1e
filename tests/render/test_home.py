"""The Home tab: goldens valid per slack_sdk's View, and within Slack's 100 blocks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk.models.views import View

from bot.domain.results import ChannelHome, EnvProgress, HomeResult, OpenIncident, Watched
from bot.render.home import MAX_HOME_BLOCKS, render_home
from tests.golden import assert_golden

AT = datetime(2022, 9, 6, 14, 52, 3, tzinfo=UTC)
CONNECTION = ("cyber-dojo", "https://app.kosli.com")


def valid(view: dict[str, Any]) -> dict[str, Any]:
    View(**view).validate_json()  # also parses and validates every block
    assert len(view["blocks"]) <= MAX_HOME_BLOCKS
    return view


def watching(env: str, index: int, **kw: Any) -> tuple[Watched, EnvProgress | None]:
    compliant = kw.pop("compliant", True)
    return Watched(env, index, **kw), EnvProgress(index, compliant=compliant)


ONE = ChannelHome("C0PROD", (watching("aws-prod", 177),))
SEVERAL = (
    ONE,
    ChannelHome(
        "C0BETA",
        (
            watching("aws-beta", 190, muted_until=AT + timedelta(hours=2), compliant=False),
            (Watched("aws-dev", 1, risky_only=True), None),
        ),
        (
            OpenIncident(
                ("aws-beta",), AT, "U0ONCALL", "https://fake-slack.example/archives/C0BETA/p1"
            ),
        ),
    ),
    ChannelHome(
        "C0GONE",
        (watching("aws-prod", 170, paused_reason="not_in_channel", compliant=None),),
        (OpenIncident(("aws-prod",), AT, "U0ONCALL", ""),),
    ),
)


def test_home_layouts() -> None:
    cases = {
        "empty": HomeResult(CONNECTION, (), admin=True),
        "one_channel": HomeResult(CONNECTION, (ONE,), admin=True),
        "several_channels": HomeResult(CONNECTION, SEVERAL, admin=True),
        "not_admin": HomeResult(CONNECTION, SEVERAL, admin=False),
        "not_connected": HomeResult(None, (), admin=True),
    }
    for name, result in cases.items():
        assert_golden(f"home_{name}", valid(render_home(result, "/kosli")))


def test_admins_get_buttons_that_name_channel_and_environment() -> None:
    view = valid(render_home(HomeResult(CONNECTION, SEVERAL, admin=True), "/kosli"))
    buttons = [e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]
    pressed = [(b["action_id"], b["value"]) for b in buttons]
    assert pressed == [
        ("home_unwatch", "C0PROD aws-prod"),
        ("home_unmute", "C0BETA aws-beta"),  # only a muted watch can be unmuted
        ("home_unwatch", "C0BETA aws-beta"),
        ("home_unwatch", "C0BETA aws-dev"),
        ("home_unwatch", "C0GONE aws-prod"),
    ]
    assert view["blocks"][1]["accessory"]["action_id"] == "home_connect"
    text = str(view)
    assert "<https://fake-slack.example/archives/C0BETA/p1|Incident in aws-beta>" in text
    assert ":mute: muted until <!date^" in text
    assert "risky changes only" in text and "paused: not_in_channel" in text


def test_others_see_the_same_without_any_button() -> None:
    view = valid(render_home(HomeResult(CONNECTION, SEVERAL, admin=False), "/kosli"))
    assert "actions" not in [b["type"] for b in view["blocks"]]
    assert "accessory" not in view["blocks"][1]


def test_a_notice_says_what_a_click_could_not_do() -> None:
    notice = "Only the bot's admins may use `unwatch` like that here. <!here> &amp; co"
    view = valid(render_home(HomeResult(CONNECTION, (ONE,), admin=True), "/kosli", notice))
    assert view["blocks"][2]["elements"][0]["text"] == (
        ":warning: Only the bot's admins may use `unwatch` like that here. &lt;!here&gt; &amp; co"
    )


def test_too_many_watches_are_cut_at_100_blocks_saying_how_many() -> None:
    channels = tuple(
        ChannelHome(f"C{c:04d}", tuple(watching(f"env-{c}-{e}", e) for e in range(5)))
        for c in range(30)
    )
    view = valid(render_home(HomeResult(CONNECTION, channels, admin=True), "/kosli"))
    assert len(view["blocks"]) <= MAX_HOME_BLOCKS
    shown = sum(1 for b in view["blocks"] if b["type"] == "actions")
    note = view["blocks"][-1]["elements"][0]["text"]
    assert note.startswith(f"…and {150 - shown} more watched environments in ")
    assert "a Home tab holds 100 blocks" in note


def test_one_channel_too_big_for_the_tab_is_shown_in_part() -> None:
    big = ChannelHome("C0BIG", tuple(watching(f"env-{e}", e) for e in range(80)))
    view = valid(render_home(HomeResult(CONNECTION, (big,), admin=True), "/kosli"))
    blocks = view["blocks"]
    assert blocks[-2]["type"] == "actions"  # no watch is shown without its buttons
    shown = sum(1 for b in blocks if b["type"] == "actions")
    assert blocks[-1]["elements"][0]["text"].startswith(
        f"…and {80 - shown} more watched environments not shown"
    )

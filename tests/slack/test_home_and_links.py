"""The Home tab, unfurls and the "Where is this running?" shortcut, through signed requests to
the served bot, against the sandbox Kosli and the fake Slack."""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.sandbox import KosliSandbox
from testkit.fakes.slack import FakeSlack
from testkit.seed import SANDBOX_TOKEN
from testkit.signing import signed_action, signed_json
from tests.conftest import Bot
from tests.golden import assert_golden

CHANNEL = "C0INCIDENT"
USER = "U0ONCALL"
CREATOR = "b7a590836cf140e17da3f01eadd5eca17d9efc65"
CREATOR_FINGERPRINT = "860ad172ace5aee03e6a1e3492a88b3315ecac2a899d4f159f43ca7314290d5a"
_events = itertools.count(1)


def event(bot: Bot, payload: dict[str, Any]) -> None:
    body, headers = signed_json(
        {
            "type": "event_callback",
            "team_id": "T1",
            "api_app_id": "A0KOSLIBOT",
            "event_id": f"Ev{next(_events):04d}",
            "event_time": 1,
            "event": payload,
        }
    )
    assert bot.post(body, headers).status_code == 200


def interaction(bot: Bot, payload: dict[str, Any]) -> None:
    body, headers = signed_action(
        {"team": {"id": "T1"}, "api_app_id": "A0KOSLIBOT", "trigger_id": "1.2.3", **payload}
    )
    assert bot.post(body, headers).status_code == 200


def open_home(bot: Bot, user: str = USER, count: int = 1) -> dict[str, Any]:
    event(bot, {"type": "app_home_opened", "user": user, "channel": "D0BOT", "tab": "home"})
    bot.slack.wait_for("/api/views.publish", count)
    view = bot.slack.home_views[user]
    View(**view).validate_json()
    return view


def press(bot: Bot, action_id: str, value: str, user: str = USER) -> None:
    interaction(
        bot,
        {
            "type": "block_actions",
            "user": {"id": user},
            "container": {"type": "view", "view_id": "V0HOME"},
            "view": {"id": "V0HOME", "type": "home"},
            "actions": [{"action_id": action_id, "value": value, "type": "button"}],
        },
    )


def shortcut(bot: Bot, text: str, user: str = USER) -> None:
    interaction(
        bot,
        {
            "type": "message_action",
            "callback_id": "where_running",
            "user": {"id": user},
            "channel": {"id": CHANNEL},
            "message": {"type": "message", "user": "U0OTHER", "text": text, "ts": "1.000300"},
            "message_ts": "1.000300",
            "response_url": bot.slack.response_url("shortcut"),
        },
    )


def valid_blocks(blocks: list[dict[str, Any]]) -> None:
    for block in blocks:
        parsed = Block.parse(block)
        assert parsed is not None
        parsed.validate_json()


def test_the_home_tab_shows_what_each_channel_watches_and_the_connection(bot: Bot) -> None:
    assert "No channel watches anything yet" in str(open_home(bot))
    bot.ask("watch aws-prod")
    bot.ask("mute aws-prod 30m", "2")
    view = open_home(bot, count=2)
    text = str(view)
    assert f"*<#{CHANNEL}>*" in text
    assert "`aws-prod` · last snapshot `#177` · :white_check_mark: compliant" in text
    assert ":mute: muted until" in text
    assert "Connected to Kosli org `cyber-dojo`" in text
    assert SANDBOX_TOKEN not in text and "xoxb-test-bot-token" not in text
    buttons = [
        e["action_id"] for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert buttons == ["home_unmute", "home_unwatch"]  # everyone is an admin without ADMIN_USER_IDS


def test_the_messages_tab_publishes_nothing(bot: Bot) -> None:
    event(bot, {"type": "app_home_opened", "user": USER, "channel": "D0BOT", "tab": "messages"})
    bot.ask("help")  # a later request has been answered: the event was dropped by then
    assert bot.slack.api_calls("views.publish") == []


def test_open_incidents_link_to_their_threads(bot: Bot) -> None:
    bot.ask("incident aws-prod since #175")
    (parent,) = [m for m in bot.slack.posted(CHANNEL) if m["thread_ts"] is None]
    view = open_home(bot)
    permalink = f"https://fake-slack.example/archives/{CHANNEL}/p{parent['ts'].replace('.', '')}"
    assert f"<{permalink}|Incident in aws-prod>" in str(view)


def test_unmute_and_unwatch_buttons_tell_the_channel_and_republish(bot: Bot) -> None:
    bot.ask("watch aws-prod")
    bot.ask("mute aws-prod 30m", "2")
    before = len(bot.slack.posted(CHANNEL))
    press(bot, "home_unmute", f"{CHANNEL} aws-prod")
    bot.slack.wait_for("/api/views.publish")
    assert "muted until" not in str(bot.slack.home_views[USER])
    press(bot, "home_unwatch", f"{CHANNEL} aws-prod")
    bot.slack.wait_for("/api/views.publish", 2)
    told = [m["text"] for m in bot.slack.posted(CHANNEL)[before:]]
    assert len(told) == 2 and "aws-prod" in told[0] and "aws-prod" in told[1]
    assert "`aws-prod`" not in str(bot.slack.home_views[USER])
    assert bot.runtime is not None
    assert asyncio.run(bot.runtime.store.subscriptions.find()) == []


def test_only_admins_get_buttons_and_a_forged_click_is_refused(start_bot) -> None:
    bot = start_bot(admin_user_ids="U0ADMIN")
    bot.ask("watch aws-prod")
    view = open_home(bot)
    assert "actions" not in [b["type"] for b in view["blocks"]]
    press(bot, "home_unwatch", f"{CHANNEL} aws-prod")
    bot.slack.wait_for("/api/views.publish", 2)
    assert "Only the bot's admins may use `unwatch`" in str(bot.slack.home_views[USER])
    assert bot.runtime is not None
    assert [s.env for s in asyncio.run(bot.runtime.store.subscriptions.find())] == ["aws-prod"]
    admin_view = open_home(bot, "U0ADMIN", count=3)
    assert "home_unwatch" in str(admin_view)


def link_shared(bot: Bot, *urls: str) -> None:
    event(
        bot,
        {
            "type": "link_shared",
            "channel": CHANNEL,
            "user": USER,
            "message_ts": "1.000200",
            "source": "conversations_history",
            "links": [{"domain": url.split("/")[2], "url": url} for url in urls],
        },
    )


def test_kosli_and_commit_links_of_the_org_unfurl_others_do_not(
    bot: Bot, kosli: KosliSandbox
) -> None:
    snapshot = f"{kosli.base_url}/cyber-dojo/environments/aws-prod/snapshots/176"
    artifact = f"{kosli.base_url}/cyber-dojo/flows/creator/artifacts/{CREATOR_FINGERPRINT}?x=1"
    trail = f"{kosli.base_url}/cyber-dojo/flows/creator/trails/{CREATOR}"
    commit = f"https://github.com/cyber-dojo/creator/commit/{CREATOR}"
    other_org = f"{kosli.base_url}/another-org/environments/aws-prod/snapshots/176"
    other_repo = f"https://github.com/torvalds/linux/commit/{'1' * 40}"
    link_shared(bot, snapshot, artifact, trail, commit, other_org)
    link_shared(bot, other_repo)
    (call,) = bot.slack.wait_for("/api/chat.unfurl")
    body = call.body
    assert (body["channel"], body["ts"]) == (CHANNEL, "1.000200")
    unfurls = body["unfurls"]
    assert set(unfurls) == {snapshot, artifact, trail, commit}
    for attachment in unfurls.values():
        valid_blocks(attachment["blocks"])
    assert "the latest is `#177`" in str(unfurls[snapshot])
    assert "Runs in *aws-prod#177* :white_check_mark: compliant" in str(unfurls[artifact])
    assert "*Commit* `b7a5908` of `cyber-dojo/creator`" in str(unfurls[commit])
    assert "*Trail*" in str(unfurls[trail])
    bot.ask("help")  # the other event has been taken by now
    assert len(bot.slack.api_calls("chat.unfurl")) == 1  # nothing for the other repository


def test_a_commit_no_build_was_made_of_unfurls_with_the_builds_that_contain_it(bot: Bot) -> None:
    culprit = (
        "https://github.com/cyber-dojo/creator/commit/e8cdc074ce052da15a2e3e39fb43c0f6e5a84b8d"
    )
    link_shared(bot, culprit)
    (call,) = bot.slack.wait_for("/api/chat.unfurl")
    shown = str(call.body["unfurls"][culprit])
    assert "Cache group ids in memory to speed up joins" in shown
    assert "Contained in what runs in *aws-prod#177* :white_check_mark: compliant" in shown
    assert "aws-beta" not in shown  # it runs a build from before the commit


def test_a_link_in_the_composer_unfurls_by_its_unfurl_id(bot: Bot) -> None:
    commit = f"https://github.com/cyber-dojo/creator/commit/{CREATOR}"
    event(
        bot,
        {
            "type": "link_shared",
            "channel": "COMPOSER",
            "user": USER,
            "message_ts": "U0ONCALL-1",
            "unfurl_id": "C0INCIDENT.U0ONCALL.1",
            "source": "composer",
            "links": [{"domain": "github.com", "url": commit}],
        },
    )
    (call,) = bot.slack.wait_for("/api/chat.unfurl")
    assert call.body["unfurl_id"] == "C0INCIDENT.U0ONCALL.1" and "ts" not in call.body


def private_answers(slack: FakeSlack, count: int = 1) -> list[dict[str, Any]]:
    return [c.body for c in slack.wait_for("/api/chat.postEphemeral", count)]


def test_the_shortcut_answers_where_privately(bot: Bot) -> None:
    shortcut(bot, "did <https://github.com/cyber-dojo/creator/commit/b7a5908|this> go out?")
    (answer,) = private_answers(bot.slack)
    assert (answer["channel"], answer["user"]) == (CHANNEL, USER)
    blocks = answer["blocks"]
    blocks = blocks if isinstance(blocks, list) else json.loads(blocks)
    valid_blocks(blocks)
    assert_golden("shortcut_where_commit", {"text": answer["text"], "blocks": blocks})
    assert answer["text"] == "Where b7a5908 runs: 1 found"


def test_the_shortcut_on_a_snapshot_link_and_a_message_with_nothing(
    bot: Bot, kosli: KosliSandbox
) -> None:
    snapshot = f"{kosli.base_url}/cyber-dojo/environments/aws-prod/snapshots/177"
    shortcut(bot, f"<{snapshot}>")
    (described,) = private_answers(bot.slack)
    assert described["text"] == "Snapshot aws-prod#177: compliant, 10 running"
    shortcut(bot, "the deploy looks fine to me, 1234567")
    nothing = private_answers(bot.slack, 2)[1]
    assert nothing["text"].startswith("I found nothing to look up in that message")
    shortcut(bot, snapshot.replace("/cyber-dojo/", "/another-org/"))
    other = private_answers(bot.slack, 3)[2]
    assert other["text"] == "That link is to Kosli org `another-org`; this bot reads `cyber-dojo`."


def test_the_shortcut_where_the_bot_is_not_a_member_answers_in_a_dm(bot: Bot) -> None:
    bot.slack.closed[CHANNEL] = "not_in_channel"
    shortcut(bot, "b7a5908")
    bot.slack.wait_for("/api/chat.postMessage")
    (dm,) = bot.slack.posted(USER)
    assert dm["text"] == "Where b7a5908 runs: 1 found"


def test_a_home_button_with_a_value_no_channel_has_is_out_of_date(bot: Bot) -> None:
    press(bot, "home_unwatch", "<!here> aws-prod")
    bot.slack.wait_for("/api/views.publish")
    assert "That button is out of date" in str(bot.slack.home_views[USER])
    assert bot.slack.posted(CHANNEL) == []


def test_an_unfurl_slack_refuses_is_logged_and_the_next_goes_through(bot: Bot, caplog) -> None:
    caplog.set_level("WARNING")
    commit = f"https://github.com/cyber-dojo/creator/commit/{CREATOR}"
    bot.slack.fail_next("/api/chat.unfurl", 200, {"ok": False, "error": "cannot_unfurl_url"})
    link_shared(bot, commit)
    bot.slack.wait_for("/api/chat.unfurl")
    link_shared(bot, commit)
    bot.slack.wait_for("/api/chat.unfurl", 2)
    assert len(bot.slack.unfurled) == 1
    assert "chat.unfurl refused: cannot_unfurl_url" in caplog.text
    assert "Traceback" not in caplog.text

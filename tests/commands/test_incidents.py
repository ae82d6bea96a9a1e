"""Incident threads through signed slash commands, buttons and @mentions, against the sandbox."""

from __future__ import annotations

import asyncio
import hashlib
import time
from dataclasses import replace
from typing import Any

from freezegun import freeze_time
from sqlalchemy.exc import OperationalError

from bot.render.plain import blocks_to_text
from bot.runtime import Runtime
from bot.sandbox import KosliSandbox
from testkit.fakes.slack import FakeSlack
from testkit.signing import signed_action, signed_json
from testkit.story import MINER, SEED_ALERTS, report_with
from tests.conftest import SEED_NOW, Bot, settings_for
from tests.golden import assert_golden

CHANNEL = "C0INCIDENT"
CREATOR_OLD = (
    "https://github.com/cyber-dojo/creator/commit/31dee357844ab2f58a40d16f945dc5e35dcd6bc0"
)
CREATOR_NEW = (
    "https://github.com/cyber-dojo/creator/commit/b7a590836cf140e17da3f01eadd5eca17d9efc65"
)


def open_seed_incident(bot: Bot) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """`incident aws-prod since #169`: returns the parent and its thread replies."""
    note = bot.ask("incident aws-prod since #169 at 2022-09-06T14:55")
    assert note["response_type"] == "ephemeral"
    assert note["text"] == "Opened an incident thread for aws-prod with 8 changes."
    parent, *replies = bot.slack.posted(CHANNEL)
    assert parent["thread_ts"] is None
    assert {r["thread_ts"] for r in replies} == {parent["ts"]}
    return parent, replies


def click(bot: Bot, action_id: str, value: str, message: dict[str, Any]) -> None:
    payload = {
        "type": "block_actions",
        "team": {"id": "T1"},
        "user": {"id": "U0ONCALL"},
        "api_app_id": "A0KOSLIBOT",
        "channel": {"id": CHANNEL},
        "container": {"type": "message", "message_ts": message["ts"], "channel_id": CHANNEL},
        "message": {"ts": message["ts"], "thread_ts": message.get("thread_ts")},
        "trigger_id": "1.2.3",
        "actions": [{"type": "button", "action_id": action_id, "value": value, "action_ts": "1.0"}],
    }
    body, headers = signed_action(payload)
    assert bot.post(body, headers).status_code == 200


def mention(bot: Bot, text: str, thread_ts: str, retry: bool = False) -> int:
    """Each text is its own event (its own event_id); sending it again is Slack's retry."""
    payload = {
        "type": "event_callback",
        "team_id": "T1",
        "api_app_id": "A0KOSLIBOT",
        "event_id": "Ev" + hashlib.sha1(text.encode()).hexdigest()[:12],
        "event_time": int(time.time()),
        "event": {
            "type": "app_mention",
            "user": "U0ONCALL",
            "text": text,
            "ts": "1700000999.000100",
            "thread_ts": thread_ts,
            "channel": CHANNEL,
            "event_ts": "1700000999.000100",
        },
    }
    body, headers = signed_json(payload)
    if retry:
        headers = {**headers, "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    return bot.post(body, headers).status_code


def test_the_seed_incident_thread(bot: Bot) -> None:
    parent, replies = open_seed_incident(bot)
    assert parent["text"] == "Incident: what changed in aws-prod: 8 changes"
    assert [r["text"] for r in replies] == [
        "aws-prod#170: 1 started",
        *SEED_ALERTS,
    ]
    last = str(replies[-1]["blocks"])
    assert "`creator:31dee35` → `creator:b7a5908`" in last
    assert f"<{CREATOR_OLD}|31dee35>" in last and f"<{CREATOR_NEW}|b7a5908>" in last
    assert "/compare/31dee357844ab2f58a40d16f945dc5e35dcd6bc0...b7a5908" in last
    assert "actions/runs/" in last and "|build>" in last  # build links from Kosli's artifacts
    assert_golden("incident_parent", parent["blocks"])
    assert_golden("incident_reply", replies[-1]["blocks"])


def test_previous_change_walks_back_one_snapshot(bot: Bot) -> None:
    _, replies = open_seed_incident(bot)
    click(bot, "previous_change", "aws-prod#176", replies[-1])
    (answer,) = bot.slack.wait_for("/api/chat.postMessage", count=10)[-1:]
    assert answer.body["thread_ts"] == replies[-1]["thread_ts"]
    assert answer.body["text"] == "aws-prod#175 → aws-prod#176: 1 started"
    assert "creator:b7a5908" in str(answer.body["blocks"])


def test_artifact_details_and_mute_buttons_answer_in_the_thread(bot: Bot) -> None:
    bot.ask("watch aws-prod", "w")
    _, replies = open_seed_incident_after_watch(bot)
    click(bot, "artifact_details", "creator@860ad172ace5", replies[-1])
    click(bot, "mute_hour", "aws-prod", replies[-1])
    posts = bot.slack.wait_for("/api/chat.postMessage", count=11)[-2:]
    assert {p.body["thread_ts"] for p in posts} == {replies[-1]["thread_ts"]}
    texts = sorted(p.body["text"] for p in posts)  # the two clicks are answered concurrently
    assert texts[0].startswith("aws-prod muted until ")
    assert texts[1] == "creator:b7a5908: COMPLIANT"


def open_seed_incident_after_watch(bot: Bot) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    note = bot.ask("incident aws-prod since #169 at 2022-09-06T14:55")
    assert note["text"] == "Opened an incident thread for aws-prod with 8 changes."
    parent, *replies = bot.slack.posted(CHANNEL)
    return parent, replies


def test_a_mention_in_the_thread_is_answered_in_the_thread(bot: Bot) -> None:
    parent, _ = open_seed_incident(bot)
    assert mention(bot, "<@UKOSLIBOT> diff #175 #176", parent["ts"]) == 200
    answer = bot.slack.wait_for("/api/chat.postMessage", count=10)[-1].body
    assert answer["thread_ts"] == parent["ts"]
    assert answer["text"] == "aws-prod#175 → aws-prod#176: 1 started"
    assert mention(bot, "<@UKOSLIBOT> where b7a5908", parent["ts"]) == 200
    where = bot.slack.wait_for("/api/chat.postMessage", count=11)[-1].body
    assert (where["thread_ts"], where["text"]) == (parent["ts"], "Where b7a5908 runs: 1 found")


def test_a_retried_mention_is_not_answered_twice(bot: Bot) -> None:
    parent, _ = open_seed_incident(bot)
    assert mention(bot, "<@UKOSLIBOT> envs", parent["ts"], retry=True) == 200
    assert mention(bot, "<@UKOSLIBOT> envs", parent["ts"]) == 200
    bot.slack.wait_for("/api/chat.postMessage", count=10)
    assert len(bot.slack.api_calls("chat.postMessage")) == 10


def test_a_retry_whose_first_delivery_never_arrived_is_answered(bot: Bot) -> None:
    parent, _ = open_seed_incident(bot)
    assert mention(bot, "<@UKOSLIBOT> envs", parent["ts"], retry=True) == 200
    answer = bot.slack.wait_for("/api/chat.postMessage", count=10)[-1].body
    assert (answer["thread_ts"], answer["text"]) == (parent["ts"], "2 environments in cyber-dojo")


def test_a_bad_mention_gets_a_private_answer(bot: Bot) -> None:
    parent, _ = open_seed_incident(bot)
    assert mention(bot, "<@UKOSLIBOT> dif #175", parent["ts"]) == 200
    (private,) = bot.slack.wait_for("/api/chat.postEphemeral")
    assert private.body["user"] == "U0ONCALL" and private.body["thread_ts"] == parent["ts"]
    assert "Did you mean `diff`?" in private.body["text"]


def test_close_posts_a_summary_and_attaches_the_timeline(bot: Bot) -> None:
    parent, _ = open_seed_incident(bot)
    with freeze_time("2022-09-06 15:10:00", real_asyncio=True):  # the closing time is shown
        click(bot, "close_incident", "close", parent)
        summary = bot.slack.wait_for("/api/chat.postMessage", count=10)[-1].body
    assert summary["thread_ts"] == parent["ts"]
    assert summary["text"] == "Incident closed: aws-prod, 8 changes"
    bot.slack.wait_for("/api/files.completeUploadExternal")
    (timeline,) = bot.slack.files
    assert (timeline["channel_id"], timeline["thread_ts"]) == (CHANNEL, parent["ts"])
    assert timeline["title"].startswith("Timeline: aws-prod from 2022-09-05")
    content = timeline["content"]
    assert content.startswith("# Incident timeline: aws-prod")
    assert "### aws-prod#177: 1 replaced" in content
    assert f"[31dee35]({CREATOR_OLD})" in content and f"[b7a5908]({CREATOR_NEW})" in content
    assert_golden("incident_close", summary["blocks"])
    again = bot.ask("incident close", "again")
    assert again["text"] == "There is no open incident in this channel."
    # So the watcher routes nothing there any more.
    assert asyncio.run(bot_runtime(bot).store.incidents.still_open()) == []


CREATOR_B7A5908 = (
    "aws-prod 860ad172ace5aee03e6a1e3492a88b3315ecac2a899d4f159f43ca7314290d5a creator:b7a5908"
)


def roll_creator_back(kosli: KosliSandbox) -> None:
    """aws-prod#178 at 14:56 UTC, after the incident's start: creator back on 31dee35."""
    environment = kosli.dataset.environment("aws-prod")
    assert environment is not None
    before = next(s for s in environment.snapshots if s.index == 175).running()
    at = SEED_NOW - 60
    kosli.add_snapshot(
        "aws-prod",
        at,
        [replace(a, started_at=at - 20) if "creator" in a.name else a for a in before],
    )


def test_cause_and_a_later_rollback_are_the_close_messages_cause_and_fix(
    bot: Bot, kosli: KosliSandbox
) -> None:
    parent, _ = open_seed_incident(bot)
    with freeze_time("2022-09-06 14:58:00", real_asyncio=True):  # when it was marked
        click(bot, "suspect_cause", CREATOR_B7A5908, parent)
        marked = bot.slack.wait_for("/api/chat.postMessage", count=10)[-1].body
    assert marked["thread_ts"] == parent["ts"]
    assert marked["text"] == "`creator:b7a5908` in aws-prod marked the cause."
    assert marked["blocks"][0]["text"]["text"] == (
        "`creator:b7a5908` in aws-prod marked the cause by <@U0ONCALL> at 14:58 UTC."
    )
    assert_golden("incident_mark", marked["blocks"])
    roll_creator_back(kosli)
    with freeze_time("2022-09-06 15:10:00", real_asyncio=True):
        click(bot, "close_incident", "close", parent)
        summary = bot.slack.wait_for("/api/chat.postMessage", count=11)[-1].body
    text = blocks_to_text(summary["blocks"])
    assert (
        "Cause: creator 31dee35 → b7a5908 (aws-prod#176), marked by <@U0ONCALL> at 14:58 UTC."
    ) in summary["blocks"][0]["text"]["text"]
    assert "Fix: creator b7a5908 → 31dee35 (aws-prod#178, 14:55 UTC), proposed" in text
    assert_golden("incident_close_cause_fix", summary["blocks"])
    bot.slack.wait_for("/api/files.completeUploadExternal")
    (timeline,) = bot.slack.files
    assert "## Cause and fix" in timeline["content"]
    assert (
        "- Cause: creator 31dee35 → b7a5908 (aws-prod#176), marked by U0ONCALL"
        in (timeline["content"])
    )
    marks = asyncio.run(bot_runtime(bot).store.incidents.marks(1))
    assert [(m.by, m.cause, m.name) for m in marks] == [("U0ONCALL", True, "creator:b7a5908")]


def test_not_it_and_a_mark_outside_a_thread(bot: Bot) -> None:
    parent, _ = open_seed_incident(bot)
    click(bot, "suspect_not_it", CREATOR_B7A5908, parent)
    marked = bot.slack.wait_for("/api/chat.postMessage", count=10)[-1].body
    assert marked["text"] == "`creator:b7a5908` in aws-prod marked not it."
    elsewhere = bot.ask("mark cause aws-prod 860ad172ace5", "outside")
    assert elsewhere["response_type"] == "ephemeral"
    assert "Mark a suspect inside its incident thread" in elsewhere["text"]


def bot_runtime(bot: Bot) -> Runtime:
    assert bot.runtime is not None
    return bot.runtime


def test_incident_errors_are_private(bot: Bot, slack: FakeSlack) -> None:
    unknown = bot.ask("incident aws-prd since #169")
    assert unknown["response_type"] == "ephemeral"
    assert "There is no environment `aws-prd`" in unknown["text"]
    slack.closed[CHANNEL] = "not_in_channel"
    closed = bot.ask("incident aws-prod since #169", "2")
    assert "invite me (`/invite` and my name), then retry" in closed["text"]
    # The row went with the post.
    assert asyncio.run(bot_runtime(bot).store.incidents.still_open()) == []


def test_alerts_flow_into_the_open_thread_also_after_a_restart(
    bot: Bot, kosli: KosliSandbox, slack: FakeSlack, tmp_path
) -> None:
    parent, _ = open_seed_incident(bot)
    report_with(kosli, MINER)

    async def restarted() -> None:  # a new process on the same database
        runtime = Runtime.build(settings_for(kosli, slack, f"sqlite:///{tmp_path}/bot.db"))
        async with runtime.running(watch=False):
            await runtime.watcher.run_cycle()
            await runtime.watcher.run_cycle()

    asyncio.run(restarted())
    alert = slack.posted(CHANNEL)[-1]
    assert (alert["thread_ts"], alert["text"]) == (
        parent["ts"],
        "aws-prod#178: 1 rogue, now non-compliant",
    )
    assert len(slack.posted(CHANNEL)) == 10  # the parent, 8 replies, and the alert once
    assert "xmrig" in blocks_to_text(alert["blocks"])


def test_a_second_thread_on_the_same_environment_points_at_the_first(bot: Bot) -> None:
    open_seed_incident(bot)
    again = bot.ask("incident aws-prod since #175", "2")  # or Slack replaying the command
    assert again["response_type"] == "ephemeral"
    assert "An incident thread for aws-prod is already open here" in again["text"]
    assert len(asyncio.run(bot_runtime(bot).store.incidents.still_open(CHANNEL))) == 1
    other = bot.ask("incident aws-beta since #189", "3")  # another environment is fine
    assert other["text"] == "Opened an incident thread for aws-beta with 1 change."


def fail_upload(bot: Bot) -> None:
    bot.slack.fail_next(
        "/api/files.getUploadURLExternal", 200, {"ok": False, "error": "fatal_error"}
    )
    failed = bot.ask("incident close", "failed")
    assert failed["response_type"] == "ephemeral"
    assert failed["text"] == (
        "The incident is closed, but I could not attach the timeline yet (fatal_error). "
        "I will keep trying, or try `/kosli incident close` again."
    )
    store = bot_runtime(bot).store
    assert asyncio.run(store.incidents.still_open(CHANNEL)) == []  # no more live alerts go there
    assert [i.state for i in asyncio.run(store.incidents.closing(CHANNEL))] == ["closing"]
    assert not any("Incident closed" in (m["text"] or "") for m in bot.slack.posted(CHANNEL))


def test_a_failed_timeline_upload_is_attached_by_a_later_watch_cycle(
    bot: Bot, kosli: KosliSandbox, slack: FakeSlack, tmp_path
) -> None:
    parent, _ = open_seed_incident(bot)
    fail_upload(bot)

    async def later_cycles() -> None:  # another process on the same database, twice
        runtime = Runtime.build(settings_for(kosli, slack, f"sqlite:///{tmp_path}/bot.db"))
        async with runtime.running(watch=False):
            await runtime.services.incidents.finish_closing()
            await runtime.services.incidents.finish_closing()

    asyncio.run(later_cycles())
    assert [f["thread_ts"] for f in slack.files] == [parent["ts"]]
    summaries = [m for m in slack.posted(CHANNEL) if m["text"].startswith("Incident closed")]
    assert [m["thread_ts"] for m in summaries] == [parent["ts"]]
    assert "<@U0ONCALL>" in str(summaries[0]["blocks"])  # who closed it, not who retried
    assert asyncio.run(bot_runtime(bot).store.incidents.closing()) == []
    again = bot.ask("incident close", "again")
    assert again["text"] == "There is no open incident in this channel."


def test_closing_again_attaches_a_failed_timeline(bot: Bot) -> None:
    parent, _ = open_seed_incident(bot)
    fail_upload(bot)
    closed = bot.ask("incident close", "3")
    assert closed["text"] == "Closed the incident; the timeline is attached in its thread."
    bot.slack.wait_for("/api/files.completeUploadExternal")
    assert [f["thread_ts"] for f in bot.slack.files] == [parent["ts"]]
    assert asyncio.run(bot_runtime(bot).store.incidents.closing()) == []


def test_thread_replies_refused_with_429_are_sent_by_a_later_cycle(
    bot: Bot, kosli: KosliSandbox, slack: FakeSlack, tmp_path
) -> None:
    slack.limit_after[CHANNEL] = 1  # the parent goes, then Slack says 429 for a while
    slack.rate_limited[CHANNEL] = 30
    note = bot.ask("incident aws-prod since #169 at 2022-09-06T14:55")
    assert note["text"] == "Opened an incident thread for aws-prod with 8 changes."
    (parent,) = slack.posted(CHANNEL)
    slack.rate_limited[CHANNEL] = 0

    async def later_cycle() -> None:  # a restarted process sends what the outbox kept
        runtime = Runtime.build(settings_for(kosli, slack, f"sqlite:///{tmp_path}/bot.db"))
        async with runtime.running(watch=False):
            await runtime.watcher.run_cycle()
            await runtime.watcher.run_cycle()

    asyncio.run(later_cycle())
    _, *replies = slack.posted(CHANNEL)
    assert [r["text"] for r in replies] == ["aws-prod#170: 1 started", *SEED_ALERTS]
    assert {r["thread_ts"] for r in replies} == {parent["ts"]}


def test_a_parent_whose_record_fails_is_taken_back(bot: Bot, monkeypatch) -> None:
    async def database_gone(*args: object) -> None:
        raise OperationalError("UPDATE incidents", {}, Exception("database is locked"))

    store = bot_runtime(bot).store
    monkeypatch.setattr(store.incidents, "posted", database_gone)
    failed = bot.ask("incident aws-prod since #169 at 2022-09-06T14:55")
    assert failed["response_type"] == "ephemeral"
    assert failed["text"].startswith("The bot's database is not answering right now")
    bot.slack.wait_for("/api/chat.delete")
    assert bot.slack.posted(CHANNEL) == []  # no thread with a Close button and no record
    assert asyncio.run(store.incidents.still_open()) == []
    monkeypatch.undo()
    again = bot.ask("incident aws-prod since #169", "again")  # nothing stands in the way
    assert again["text"] == "Opened an incident thread for aws-prod with 8 changes."


def test_a_button_with_a_damaged_value_says_it_is_out_of_date(bot: Bot) -> None:
    parent, replies = open_seed_incident(bot)
    click(bot, "artifact_details", "not an artifact <!channel>", replies[-1])
    (private,) = bot.slack.wait_for("/api/chat.postEphemeral")
    assert (
        private.body["text"] == "That button is out of date. Type a command instead: `/kosli help`."
    )
    assert private.body["user"] == "U0ONCALL"

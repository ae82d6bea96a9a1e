"""Slash commands: the 3-second ack, and faults that must stay friendly."""

from __future__ import annotations

import hashlib
import re
import sqlite3
import threading
import time

import psycopg

from bot.sandbox import RunningArtifact
from testkit.seed import SEED_NOW
from testkit.signing import SIGNING_SECRET
from testkit.story import report_with
from tests import db
from tests.conftest import SANDBOX_TOKEN, Bot


def test_ack_does_not_wait_for_a_slow_kosli(bot: Bot, kosli) -> None:
    kosli.gate = threading.Event()  # Kosli holds every answer until the gate opens
    started = time.monotonic()
    response = bot.command_request("diff aws-prod")
    acked_in = time.monotonic() - started
    assert response.status_code == 200
    assert acked_in < 3.0, f"ack took {acked_in:.2f}s"
    assert bot.slack.responses() == []  # the answer cannot have come yet
    kosli.gate.set()
    answer = bot.slack.wait_for("/response/1")[0].body
    assert answer["response_type"] == "in_channel"
    assert "aws-prod#176 → aws-prod#177" in answer["text"]


def test_kosli_timeout_is_reported_kindly(start_bot, kosli) -> None:
    bot = start_bot(kosli_timeout="0.2")
    kosli.gate = threading.Event()
    try:
        answer = bot.ask("log aws-prod")
    finally:
        kosli.gate.set()
    assert answer["response_type"] == "ephemeral"
    assert "Kosli is not answering right now (Kosli did not answer in time)" in answer["text"]


def test_kosli_down_is_reported_kindly(start_bot, kosli) -> None:
    bot = start_bot(kosli_host="http://127.0.0.1:9")  # nothing listens on port 9
    answer = bot.ask("envs")
    assert answer["response_type"] == "ephemeral"
    assert "Kosli is not answering right now (Kosli could not be reached)" in answer["text"]


def test_kosli_server_errors_and_garbage_are_reported_kindly(bot: Bot, kosli) -> None:
    kosli.fail_next(503, times=5)
    assert "Kosli is having trouble (HTTP 503)" in bot.ask("envs", "a")["text"]
    kosli.fail_next(200, body="<html>not json</html>")
    assert "could not read" in bot.ask("envs", "b")["text"]
    kosli.fail_next(401, body='{"message": "Invalid token"}')
    assert "refused the bot's API token for org `cyber-dojo`" in bot.ask("envs", "c")["text"]
    # and the bot is still serving afterwards
    assert bot.ask("envs", "d")["response_type"] == "in_channel"


def test_unknown_environment_suggests_close_names(bot: Bot) -> None:
    answer = bot.ask("diff aws-prd")
    assert answer["response_type"] == "ephemeral"
    assert "There is no environment `aws-prd` in org `cyber-dojo`" in answer["text"]
    assert "`aws-prod`" in answer["text"]


def test_bad_input_gets_ephemeral_help(bot: Bot) -> None:
    answer = bot.ask("diff aws-prod#abc")
    assert answer["response_type"] == "ephemeral"
    assert "invalid expression: aws-prod#abc" in answer["text"]
    assert "Traceback" not in str(answer)


def test_user_text_is_escaped(bot: Bot) -> None:
    answer = bot.ask("<!channel>&friends")
    shown = answer["blocks"][0]["text"]["text"]
    assert "`&lt;!channel&gt;&amp;friends`" in shown
    assert "<!channel>" not in shown


def test_secrets_never_reach_logs_or_messages(start_bot, kosli, caplog) -> None:
    caplog.set_level("DEBUG")
    bot = start_bot()
    kosli.fail_next(500, times=5)
    bot.ask("envs", "x")
    bot.ask("log aws-prod", "y")
    assert len(caplog.records) > 0
    shown = caplog.text + str([call.body for call in bot.slack.calls])
    for secret in ("xoxb-test-bot-token", SANDBOX_TOKEN, SIGNING_SECRET):
        assert secret not in shown


def test_a_failed_response_url_is_retried(bot: Bot) -> None:
    bot.slack.fail_next("/response/1", 500, {"ok": False})
    assert bot.command_request("envs").status_code == 200
    failed, answered = bot.slack.wait_for("/response/1", count=2)
    assert failed.body == answered.body  # the same answer, posted again
    assert answered.body["text"] == "2 environments in cyber-dojo"
    assert bot.slack.api_calls("chat.postEphemeral") == []


def test_an_answer_the_response_url_will_not_take_goes_privately(bot: Bot) -> None:
    for _ in range(3):
        bot.slack.fail_next("/response/1", 404, {"ok": False, "error": "expired_url"})
    assert bot.command_request("envs").status_code == 200
    (private,) = [c.body for c in bot.slack.wait_for("/api/chat.postEphemeral")]
    assert private["user"] == "U0ONCALL" and private["channel"] == "C0INCIDENT"
    assert private["text"] == "2 environments in cyber-dojo"


def test_a_locked_database_does_not_hold_other_users_acks(start_bot, tmp_path) -> None:
    """Database work runs off the event loop: while a `watch` waits on a write-locked SQLite
    file, another user's command is still acked within Slack's 3 seconds."""
    database = tmp_path / "locked.db"
    bot = start_bot(database_url=f"sqlite:///{database}")
    locker = sqlite3.connect(database, isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")  # a write lock held by another process, say
    try:
        assert bot.command_request("watch aws-prod", "watch").status_code == 200
        started = time.monotonic()
        acked = bot.command_request("envs", "envs")
        acked_in = time.monotonic() - started
        assert acked.status_code == 200
        assert acked_in < 3.0, f"ack took {acked_in:.2f}s behind a locked database"
        assert (
            bot.slack.wait_for("/response/envs")[0].body["text"] == "2 environments in cyber-dojo"
        )
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    watched = bot.slack.wait_for("/response/watch")[0].body
    assert watched["text"].startswith("Watching aws-prod in this channel")


def test_a_command_needing_a_locked_database_says_so_within_seconds(start_bot, tmp_path) -> None:
    """A file locked for longer than the store waits (5 s): the asker hears why, privately,
    and commands that need only Kosli keep working meanwhile."""
    database = tmp_path / "locked.db"
    bot = start_bot(database_url=f"sqlite:///{database}")
    locker = sqlite3.connect(database, isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        assert bot.command_request("watch aws-prod", "watch").status_code == 200
        assert bot.ask("envs", "envs")["text"] == "2 environments in cyber-dojo"
        (answer,) = bot.slack.wait_for("/response/watch", timeout=15)
        answered_in = time.monotonic() - started
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert answer.body["response_type"] == "ephemeral"
    assert answer.body["text"] == (
        "The bot's database is not answering right now, so I could not do that. "
        "Try again in a minute."
    )
    assert answered_in < 8, f"the answer took {answered_in:.1f}s"
    again = bot.ask("watch aws-prod", "again")  # the lock is gone: all is well again
    assert again["text"].startswith("Watching aws-prod in this channel")


def test_a_stalled_postgresql_is_reported_within_seconds(start_bot) -> None:
    """Another session holds a lock on our table: the statement timeout (5 s) ends the wait."""
    with db.postgres_schema() as url:
        bot = start_bot(database_url=url)
        with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as blocker:
            blocker.execute("LOCK TABLE subscriptions IN ACCESS EXCLUSIVE MODE")
            started = time.monotonic()
            answer = bot.ask("watch aws-prod", "watch")
            answered_in = time.monotonic() - started
            assert bot.ask("envs", "envs")["text"] == "2 environments in cyber-dojo"
            blocker.rollback()
        assert answer["text"].startswith("The bot's database is not answering right now")
        assert answered_in < 8, f"the answer took {answered_in:.1f}s"


def test_a_long_answer_says_how_many_more_and_where_to_see_them(bot: Bot, kosli) -> None:
    """320 newly started artifacts pass what a response_url takes (5 posts of 50 blocks): the
    last post says how many were left out and how to list them all, none vanish silently."""
    started = [
        RunningArtifact(
            name=f"registry.example/batch-{n}:1",
            fingerprint=hashlib.sha256(f"batch-{n}".encode()).hexdigest(),
            flow_name="",
            git_commit=None,
            commit_url=None,
            compliant=False,
            instances=1,
            started_at=SEED_NOW - 60,
        )
        for n in range(320)
    ]
    after = report_with(kosli, *started)
    assert bot.command_request(f"diff aws-prod#{after - 1} aws-prod#{after}").status_code == 200
    posts = [c.body for c in bot.slack.wait_for("/response/1", count=5)]
    assert len(posts) == 5 and all(len(p["blocks"]) <= 50 for p in posts)
    blocks = [b for p in posts for b in p["blocks"]]
    shown = sum("batch-" in str(b) for b in blocks)
    note = blocks[-1]["elements"][0]["text"]
    more = int(re.search(r"…and (\d+) more not shown", note)[1])
    assert shown + more == 320
    assert f"`kosli diff snapshots aws-prod#{after - 1} aws-prod#{after}`" in note

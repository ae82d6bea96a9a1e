"""Every command, through a signed request, against the sandbox Kosli, answered on response_url."""

from __future__ import annotations

import pytest

from bot.sandbox import KosliSandbox
from bot.sandbox.dataset import Environment
from tests.conftest import SEED_NOW, Bot
from tests.golden import assert_golden

CREATOR_OLD = "31dee357844ab2f58a40d16f945dc5e35dcd6bc0"
CREATOR_NEW = "b7a590836cf140e17da3f01eadd5eca17d9efc65"


def all_text(answer: dict) -> str:
    return answer["text"] + str(answer["blocks"])


@pytest.mark.parametrize(
    ("golden", "text"),
    [
        ("help", "help"),
        ("envs", "envs"),
        ("log", "log aws-prod"),
        ("diff_latest", "diff aws-prod"),
        ("diff_176_177", "diff aws-prod#176 aws-prod#177"),
        ("diff_175_176", "env diff aws-prod#175 aws-prod#176"),
        ("diff_175_177_replaced", "diff aws-prod#175 aws-prod#177"),
        ("diff_beta_prod", "diff aws-beta#189 aws-prod#169"),
        (
            "artifact",
            "artifact web@480735698cb9e468bb16c4265fedb7507640d236b3ab53cf2e3ec09d3bd72063",
        ),
        ("artifact_by_commit_prefix", "artifact 31dee35"),
        ("where_commit", "where b7a5908"),
        ("where_service", "where creator"),
        ("suspects_seed", "suspects aws-prod since #175 at 2022-09-06T14:55"),
    ],
)
def test_reply_layouts(bot: Bot, golden: str, text: str) -> None:
    answer = bot.ask(text)
    assert_golden(f"command_{golden}", answer)
    expected_type = "ephemeral" if golden == "help" else "in_channel"
    assert answer["response_type"] == expected_type
    assert len(answer["blocks"]) <= 50


def test_seed_story_suspects_name_creator_first_with_its_reasons(bot: Bot) -> None:
    answer = bot.ask("suspects aws-prod since #175 at 2022-09-06T14:55")
    first = answer["blocks"][2]["text"]["text"]
    assert first.startswith(
        "*1.* creator 31dee35 → b7a5908 · 3 min before · never ran in aws-beta · 5 commits"
    )
    assert "Evidence, not proof." in all_text(answer)


def test_seed_story_latest_diff_is_the_finished_creator_rollout(bot: Bot) -> None:
    answer = bot.ask("diff aws-prod")
    assert answer["text"].startswith("aws-prod#176 → aws-prod#177: 1 replaced")
    text = all_text(answer)
    assert f"https://github.com/cyber-dojo/creator/commit/{CREATOR_OLD}|31dee35>" in text
    assert "31dee35 stopped; b7a5908, already running at #176, now runs alone" in text


def test_seed_story_previous_diff_shows_creator_started(bot: Bot) -> None:
    answer = bot.ask("diff aws-prod#176")
    assert answer["text"].startswith("aws-prod#175 → aws-prod#176: 1 started")
    assert "creator:b7a5908" in all_text(answer)


def test_two_snapshots_apart_the_creator_change_is_one_replacement(bot: Bot) -> None:
    answer = bot.ask("diff aws-prod#175 aws-prod#177")
    assert answer["text"].startswith("aws-prod#175 → aws-prod#177: 1 replaced")
    compare = f"https://github.com/cyber-dojo/creator/compare/{CREATOR_OLD}...{CREATOR_NEW}"
    assert f"<{compare}|compare>" in all_text(answer)


def test_cross_environment_diff(bot: Bot) -> None:
    text = all_text(bot.ask("diff aws-beta#189 aws-prod#169"))
    assert "web:c3ada4d" in text and "web:6b1b6bc" in text
    assert "Different version" in text


def test_log_reads_like_kosli_env_log(bot: Bot) -> None:
    answer = bot.ask("log aws-prod")
    text = all_text(answer)
    rows = [b["text"]["text"] for b in answer["blocks"] if b["type"] == "section"]
    lines = "\n".join(rows).splitlines()
    assert [line.split()[0] for line in lines] == [f"*#{n}*" for n in range(177, 162, -1)]
    assert "→ now  ·  3 minutes" in lines[0]
    for index, words in ((176, "59 seconds"), (172, "about a minute"), (169, "one day")):
        assert words in lines[177 - index], lines[177 - index]
    assert "14 hours" in lines[-1]
    assert "log aws-prod 2" in text


def test_log_pages(bot: Bot) -> None:
    answer = bot.ask("log aws-prod 2")
    assert "No snapshots on page 2" in answer["text"]


def test_artifact_history(bot: Bot) -> None:
    text = all_text(
        bot.ask("artifact get web@480735698cb9e468bb16c4265fedb7507640d236b3ab53cf2e3ec09d3bd72063")
    )
    for expected in (
        "cyberdojo/web:c3ada4d",
        "https://github.com/cyber-dojo/web/actions/runs/2998616599",
        "COMPLIANT",
        "Deployment #50 to aws-beta environment",
        "Started running in aws-beta#188 environment",
    ):
        assert expected in text


def test_where_a_commit_runs(bot: Bot) -> None:
    text = all_text(bot.ask("where b7a5908"))
    assert "*aws-prod#177*" in text and "creator:b7a5908" in text


def test_unknown_snapshot(bot: Bot) -> None:
    answer = bot.ask("diff aws-prod#900")
    assert answer["response_type"] == "ephemeral"
    assert "Kosli could not find the snapshots `aws-prod#899` and `aws-prod#900`" in answer["text"]


def test_other_command_name(start_bot) -> None:
    bot = start_bot(slack_command="/kbot")
    answer = bot.ask("help")
    assert "`/kbot diff ENV | A B`" in all_text(answer)


def test_diff_at_a_moment_compares_with_the_snapshot_before(bot: Bot) -> None:
    answer = bot.ask("diff aws-prod@{2022-09-06T14:53:00}")
    assert answer["text"].startswith("aws-prod#175 → aws-prod#176: 1 started")


def test_log_of_unknown_environment_suggests(bot: Bot) -> None:
    answer = bot.ask("log aws-beat")
    assert answer["response_type"] == "ephemeral"
    assert (
        "There is no environment `aws-beat` in org `cyber-dojo`. Did you mean `aws-beta`"
        in (answer["text"])
    )


def test_a_snapshot_older_than_kosli_keeps_is_not_found(bot: Bot) -> None:
    answer = bot.ask("diff aws-prod#163")  # the sandbox keeps #163 onwards: #162 is unknown
    assert answer["response_type"] == "ephemeral"
    assert "Kosli could not find the snapshots `aws-prod#162` and `aws-prod#163`" in answer["text"]


def test_the_first_snapshot_has_nothing_before_it(bot: Bot, kosli: KosliSandbox) -> None:
    kosli.dataset.environments.append(Environment("aws-dev", "ECS", "new", SEED_NOW - 3600))
    assert kosli.add_snapshot("aws-dev", SEED_NOW - 60, []) == 1
    answer = bot.ask("diff aws-dev")
    assert answer["response_type"] == "ephemeral"
    assert answer["text"] == "aws-dev#1 is the first snapshot: nothing before it"


def test_version_says_what_runs_and_where_but_no_secret(bot: Bot) -> None:
    answer = bot.ask("version")
    assert answer["response_type"] == "ephemeral"
    text = all_text(answer)
    assert text.startswith("kosli-incident-bot 0.1.0 · Kosli http://127.0.0.1:")
    assert "org `cyber-dojo` · database sqlite" in text
    assert "sandbox-kosli-token" not in text and "xoxb-" not in text


def test_fifty_kilobytes_of_text_is_refused_kindly_without_asking_kosli(
    bot: Bot, kosli: KosliSandbox
) -> None:
    answer = bot.ask("log " + "a" * 50_000)
    assert answer["response_type"] == "ephemeral"
    assert "a command is at most 1,000" in answer["text"]
    assert kosli.requests == []

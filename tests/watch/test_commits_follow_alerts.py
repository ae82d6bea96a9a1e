"""Commits follow alerts: the watcher posts an alert at once and replies under it with the
commits between the old and the new build when the git host answers, or says it could not."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.render.plain import blocks_to_text
from bot.runtime import Runtime
from bot.sandbox import KosliSandbox
from testkit.fakes.slack import FakeSlack
from testkit.story import SEED_ALERTS
from tests.conftest import SEED_NOW, settings_for
from tests.fakes.githost import FakeGitHost, Reply, recorded, recorded_headers
from tests.watch.helpers import CHANNEL, Clock, top_level, watch

OLD = "31dee357844ab2f58a40d16f945dc5e35dcd6bc0"
NEW = "b7a590836cf140e17da3f01eadd5eca17d9efc65"


def replay(
    kosli: KosliSandbox, slack: FakeSlack, clock: Clock, url: str, cycles: int, **settings: str
) -> None:
    """Watch aws-prod from #170, let #171-#177 arrive, run the watcher `cycles` times."""

    async def main() -> None:
        runtime = Runtime.build(settings_for(kosli, slack, url, **settings))
        async with runtime.running(watch=False):
            await watch(runtime, "aws-prod")
            clock.now = SEED_NOW
            for _ in range(cycles):
                await runtime.watcher.run_cycle()

    asyncio.run(main())


def replies_under(slack: FakeSlack, alert: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in slack.posted(CHANNEL) if m["thread_ts"] == alert["ts"]]


def test_the_replaced_creator_alert_gets_its_commits_in_its_thread_once(
    kosli: KosliSandbox, slack: FakeSlack, clock: Clock, tmp_path
) -> None:
    replay(kosli, slack, clock, f"sqlite:///{tmp_path}/bot.db", cycles=3)
    alerts = top_level(slack)
    assert [a["text"] for a in alerts] == SEED_ALERTS
    (commits,) = replies_under(slack, alerts[-1])  # once, though three cycles ran
    assert commits["text"] == "Commits behind aws-prod#177"
    text = blocks_to_text(commits["blocks"])
    assert "creator:31dee35 → creator:b7a5908" in text
    assert "*5 commits* from `31dee35` to `b7a5908`:" in text
    assert "Cache group ids in memory to speed up joins · Tomasz Nowak" in text
    # Started-only snapshots have no build replaced: nothing follows them.
    assert replies_under(slack, alerts[-2]) == []


def test_a_fake_github_gives_the_alert_its_commits(
    kosli: KosliSandbox, slack: FakeSlack, clock: Clock, tmp_path
) -> None:
    github = FakeGitHost().start()
    try:
        github.route(
            f"/repos/cyber-dojo/creator/compare/{OLD}...{NEW}",
            Reply(
                200,
                recorded("github-compare-ahead.json"),
                recorded_headers("github-compare-ahead.json"),
            ),
        )
        url = f"sqlite:///{tmp_path}/bot.db"
        replay(kosli, slack, clock, url, cycles=3, github_api_url=github.url)
    finally:
        github.stop()
    (commits,) = replies_under(slack, top_level(slack)[-1])
    text = blocks_to_text(commits["blocks"])
    assert "*5 commits* from `31dee35` to `b7a5908`:" in text
    assert "Merge pull request #214 from cyber-dojo/cache-group-ids · Priya Raman _(merge)_" in text
    # The other services' builds are unknown to this GitHub: their replies say so.
    runner = replies_under(slack, top_level(slack)[0])
    assert "could not be read: GitHub has no such commit" in blocks_to_text(runner[0]["blocks"])


def test_with_the_git_host_down_alerts_arrive_as_before_and_then_say_so(
    kosli: KosliSandbox, slack: FakeSlack, clock: Clock, tmp_path
) -> None:
    url = f"sqlite:///{tmp_path}/bot.db"
    replay(kosli, slack, clock, url, cycles=1, github_api_url="http://127.0.0.1:9")
    assert [a["text"] for a in top_level(slack)] == SEED_ALERTS  # nothing waited for git
    assert [m for m in slack.posted(CHANNEL) if m["thread_ts"]] == []  # asked again later
    replay(kosli, slack, clock, url, cycles=3, github_api_url="http://127.0.0.1:9")
    (commits,) = replies_under(slack, top_level(slack)[-1])
    assert blocks_to_text(commits["blocks"]).endswith(
        "Commits from `31dee35` to `b7a5908` could not be read: GitHub could not be reached. "
        f"compare (https://github.com/cyber-dojo/creator/compare/{OLD}...{NEW})"
    )

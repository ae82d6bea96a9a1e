"""Diff, alert, incident thread and timeline file tell the same story for every pair of
consecutive snapshots, in the 2022 tutorial's data and in today's (acme) data."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from bot.commands.dispatch import answer
from bot.render.plain import blocks_to_markdown
from bot.runtime import Runtime
from bot.sandbox import ACME_NOW, KosliSandbox
from testkit.fakes.slack import FakeSlack
from testkit.seed import SANDBOX_TOKEN, SEED_NOW, settings_for
from tests.watch.helpers import Clock, watch

WATCHING = "C0WATCH"
INCIDENT = "C0INCIDENT"
BUILD_LINK = re.compile(r" · <[^|>]+\|build>")
# The commits between old and new build: threads and the timeline show them, alerts and diffs
# offer them behind the Commits button.
BISECT = re.compile(
    r"^(\*\d+ commits?\* from|Commits from|`\w+` is (\d+ commits? behind|on another))"
)

STORIES = [
    ("cyber-dojo", "aws-prod", SEED_NOW),
    ("cyber-dojo", "aws-beta", SEED_NOW),
    ("acme", "prod", ACME_NOW),
    ("acme", "staging", ACME_NOW),
]


def sections(blocks: list[dict[str, Any]]) -> list[str]:
    """What a message says, change by change, without the build links and commits only
    threads add."""
    return [
        BUILD_LINK.sub("", b["text"]["text"])
        for b in blocks
        if b["type"] == "section" and not BISECT.match(b["text"]["text"])
    ]


@pytest.mark.parametrize(("org", "env", "now"), STORIES)
def test_every_consecutive_pair_reads_the_same_everywhere(
    org: str, env: str, now: float, slack: FakeSlack, tmp_path
) -> None:
    clock = Clock(now)
    with KosliSandbox(org=org, token=SANDBOX_TOKEN, now=clock) as kosli:
        environment = kosli.dataset.environment(env)
        assert environment is not None
        first = environment.snapshots[0]
        indexes = [s.index for s in environment.snapshots[1:]]
        clock.now = first.timestamp + 1  # the channel starts watching at the first snapshot
        settings = settings_for(kosli, slack, f"sqlite:///{tmp_path}/bot.db", kosli_org=org)

        async def tell_the_story(runtime: Runtime) -> dict[int, dict[str, Any]]:
            services = runtime.services
            await watch(runtime, env, channel=WATCHING)
            clock.now = now
            await runtime.watcher.run_cycle()
            diffs = {}
            for index in indexes:
                reply = await answer(f"diff {env}#{index - 1} {env}#{index}", services, "C", "U")
                diffs[index] = reply.message
            await answer(f"incident {env} since #{first.index}", services, INCIDENT, "U")
            await answer("incident close", services, INCIDENT, "U")
            return diffs

        async def main() -> dict[int, Any]:
            runtime = Runtime.build(settings)
            async with runtime.running(watch=False):
                return await tell_the_story(runtime)

        diffs = asyncio.run(main())

    alerts = {  # the alerts, not the commits replied under them
        int(m["text"].split(":")[0].rpartition("#")[2]): m
        for m in slack.posted(WATCHING)
        if not m["thread_ts"]
    }
    parent, *replies = slack.posted(INCIDENT)
    thread = {int(m["text"].split(":")[0].rpartition("#")[2]): m for m in replies[:-1]}
    timeline = slack.files[0]["content"]
    changed = [i for i in indexes if diffs[i].text.split(": ", 1)[1] != "no difference"]
    assert changed, "a story with no changes proves nothing"
    # A restart alone is in the diff and the thread (the window's timeline) but alerts no one.
    quiet = [i for i in changed if re.fullmatch(r"\d+ restarted", diffs[i].text.split(": ")[1])]
    assert sorted(thread) == changed
    assert sorted(alerts) == [i for i in changed if i not in quiet]
    for index in quiet:
        assert sections(thread[index]["blocks"]) == sections(diffs[index].blocks)
    for index in sorted(alerts):
        alert, reply, diff = alerts[index], thread[index], diffs[index]
        said = alert["text"].split(": ", 1)[1]
        assert diff.text == f"{env}#{index - 1} → {env}#{index}: {said}", index
        assert reply["text"] == alert["text"]
        # Header and context differ by design (title, date line, "Details"); every change
        # entry and the compliance line are the same blocks.
        assert sections(alert["blocks"]) == sections(diff.blocks) == sections(reply["blocks"])
        assert f"`/kosli diff {env}#{index - 1} {env}#{index}`" in str(alert["blocks"])
        # The timeline file holds the same reply, as Markdown.
        markdown = blocks_to_markdown(reply["blocks"], heading="###")
        assert all(line in timeline for line in markdown.splitlines() if line), index
    # Kosli records no deployments: nothing claims one (a restart says it is none).
    told = str([*alerts.values(), *thread.values(), timeline]).replace("not a deploy", "")
    assert "deploy" not in told.lower()

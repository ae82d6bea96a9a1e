"""Today's Kosli (2026 shapes): the acme sandbox through signed Slack requests and the watcher,
and the real recorded aws-prod#4357 answer, unchanged."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot.domain.changes import snapshot_changes
from bot.kosli.models import Snapshot
from bot.render.changes import render_alert
from bot.render.plain import blocks_to_text
from bot.runtime import Runtime
from bot.sandbox import ACME_NOW, KosliSandbox
from testkit.fakes.slack import FakeSlack
from tests.conftest import SANDBOX_TOKEN, Bot, settings_for
from tests.golden import assert_golden
from tests.watch.helpers import Clock, watch

SAMPLE = Path(__file__).parents[1] / "data" / "aws-prod-snapshot-4357.json"
CHANNEL = "C0INCIDENT"


@pytest.fixture
def clock() -> Clock:
    return Clock(ACME_NOW)


@pytest.fixture
def kosli(clock: Clock) -> Iterator[KosliSandbox]:
    """Overrides conftest's cyber-dojo sandbox: every test here talks to acme."""
    with KosliSandbox(org="acme", token=SANDBOX_TOKEN, now=clock) as sandbox:
        yield sandbox


@pytest.fixture
def bot(start_bot: Callable[..., Bot]) -> Bot:
    return start_bot(kosli_org="acme")


def text_of(answer: dict[str, Any]) -> str:
    return answer["text"] + "\n" + blocks_to_text(answer["blocks"])


@pytest.mark.parametrize(
    ("golden", "command"),
    [
        ("rollout_finished", "diff prod#4352"),
        ("replaced", "diff prod#4353"),
        ("rolled_back", "diff prod#4354"),
        ("non_compliant", "diff prod#4355"),
        ("rogue", "diff prod#4356"),
        ("staging_prod", "diff staging prod"),
        ("why", "why prod#4356"),
        ("artifact", "artifact payments-ci:c5a81f7"),
        ("where", "where payments"),
        ("log", "log prod"),  # each row says what happened, from Kosli's event log
        ("suspects_eu", "suspects eu-prod at 2026-05-05T12:00"),
    ],
)
def test_reply_layouts_on_todays_kosli(bot: Bot, golden: str, command: str) -> None:
    answer = bot.ask(command)
    assert_golden(f"today_{golden}", answer)
    assert answer["response_type"] == "in_channel"
    assert "@sha256:" not in answer["text"]


def test_suspects_rank_the_culprit_above_the_nearer_innocent_changes(bot: Bot) -> None:
    """eu-prod: a restart 7 minutes before and a build that ran a day in eu-staging first are
    nearer; the hotfix that never ran anywhere before, 21 minutes from commit, is first."""
    answer = bot.ask("suspects eu-prod at 2026-05-05T12:00")
    lines = [b["text"]["text"] for b in answer["blocks"][2:5]]
    assert lines[0].startswith(
        "*1.* search 2a9f4c1 → 6c2e0b7 · 2 h before · never ran in eu-staging, prod, staging · "
        "commit to eu-prod in 21 min"
    )
    assert lines[1].startswith(
        "*2.* indexer 0d7b3e5 → 9e41a6f · 40 min before · ran one day in eu-staging first"
    )
    assert lines[2].startswith("*3.* search 6c2e0b7 restarted · 7 min before · same build")


def test_names_commits_and_kosli_links_in_a_diff(bot: Bot) -> None:
    text = text_of(bot.ask("diff prod#4353"))
    assert text.startswith("prod#4352 → prod#4353: 1 replaced")
    assert "`languages-start-points:a97ed05` → `languages-start-points:95ab455`" in text
    assert "Merge pull request #204 from cyber-dojo/update-csharp-nunit_ · Jon Jagger" in text
    assert "compare (https://github.com/cyber-dojo/languages-start-points/compare/a97ed05" in text
    assert "sha256" not in text and "dkr.ecr" not in text


def test_a_rollback_is_called_one_with_gitlab_links(bot: Bot) -> None:
    text = text_of(bot.ask("diff prod#4353 prod#4354"))
    assert text.startswith("prod#4353 → prod#4354: 1 rolled back")
    assert "*ledger* rolled back 3f2a1c9 → 81bd004" in text
    assert "https://gitlab.com/acme/ledger/-/compare/3f2a1c9" in text


def test_promotion_flow_is_context_not_the_commit(bot: Bot) -> None:
    text = text_of(bot.ask("diff prod#4351"))
    assert "flow web-ci · commit 9b0e6d3 (https://github.com/acme/web/commit/9b0e6d3" in text
    assert "Promoted in production-promotion / promotion-one-43" in text
    assert "prod-promotion/commit" not in text


def test_why_names_the_policy_and_the_missing_attestation(bot: Bot) -> None:
    text = text_of(bot.ask("why prod#4355 payments"))
    assert "Why prod#4355 is non-compliant" in text
    assert (
        "prod-requirements: missing required 'trivy-container-scan' (generic) attestation "
        "in trail payments-ci/c5a81f7" in text
    )
    assert "❌ trivy-container-scan (generic) missing" in text
    assert "✅ unit-test (junit) complete" in text
    compliant = text_of(bot.ask("why prod", response="2"))
    assert "In `prod#4363`, every running artifact is compliant." in compliant
    nothing = text_of(bot.ask("why prod nosuchservice", response="3"))
    assert "Nothing running in `prod#4363` matches `nosuchservice`." in nothing


def test_artifact_by_fingerprint_answered_as_one_object(bot: Bot, kosli: KosliSandbox) -> None:
    prod = kosli.dataset.environment("prod")
    assert prod is not None
    payments = next(
        e.artifact for e in prod.snapshots[-1].entries if "payments:e2d4b60" in e.artifact.name
    )
    text = text_of(bot.ask(f"artifact payments-ci@{payments.fingerprint[:12]}"))
    assert text.startswith("payments:e2d4b60: COMPLIANT")
    assert f"Image `{payments.name}`" in text  # the full name stays in the details
    assert "✅ trivy-container-scan (generic) complete" in text


def test_incident_build_links_come_from_the_build_flows_trail(
    bot: Bot, kosli: KosliSandbox
) -> None:
    assert bot.ask("incident prod since #4352")["text"].startswith("Opened an incident thread")
    parent, *replies = bot.slack.posted(CHANNEL)
    (reply,) = [r for r in replies if r["text"] == "prod#4353: 1 replaced"]
    build = "https://github.com/cyber-dojo/languages-start-points/actions/runs/"
    assert build in str(reply["blocks"])
    trail = "/api/v2/trails/acme/languages-start-points-ci/95ab455dd7301b20c744f50b1cd015e4396aedce"
    assert trail in [path for _, path in kosli.requests]


def test_the_watcher_on_todays_kosli(
    kosli: KosliSandbox, slack: FakeSlack, clock: Clock, tmp_path: Path
) -> None:
    prod = kosli.dataset.environment("prod")
    assert prod is not None
    clock.now = prod.snapshots[0].timestamp + 1
    settings = settings_for(kosli, slack, f"sqlite:///{tmp_path}/bot.db", kosli_org="acme")

    async def main() -> None:
        runtime = Runtime.build(settings)
        async with runtime.running(watch=False):
            await watch(runtime, "prod")
            clock.now = ACME_NOW
            await runtime.watcher.run_cycle()

    asyncio.run(main())
    alerts = [m for m in slack.posted(CHANNEL) if not m["thread_ts"]]  # not the commits under
    assert [a["text"] for a in alerts] == [
        "prod#4351: 1 started",
        "prod#4352: 1 replaced",
        "prod#4353: 1 replaced",
        "prod#4354: 1 rolled back",
        "prod#4355: 1 non-compliant, 1 replaced, now non-compliant",
        "prod#4356: 1 rogue",
        "prod#4357: 1 stopped",
        "prod#4358: 1 replaced, now compliant",
        # #4359 (a restart) alerts no one. The follow-ups come in the same catch-up as the
        # alerts they resolve, not yet posted then: they go as their own messages.
        "prod#4360: 1 rogue, now non-compliant",
        "prod#4361: 1 provenance arrived, now compliant",
        "prod#4362: 1 non-compliant, now non-compliant",
        "prod#4363: 1 compliant again, now compliant",
    ]
    for alert, golden in zip(
        alerts[2:6], ("replaced", "rolled_back", "non_compliant", "rogue"), strict=True
    ):
        assert_golden(f"today_alert_{golden}", alert["blocks"])
    assert "deploy" not in str(alerts).lower()


def before_from_annotations(latest: Snapshot, raw: dict[str, Any]) -> Snapshot:
    """The snapshot before a recorded one, read back from its annotations (`was`)."""
    was = {a["fingerprint"]: a["annotation"]["was"] for a in raw["artifacts"]}
    running = tuple(
        replace(a, instances=was[a.fingerprint], change="unchanged")
        for a in latest.artifacts
        if was[a.fingerprint] > 0
    )
    return replace(latest, index=latest.index - 1, artifacts=running)


def test_the_real_recorded_snapshot_reads_as_one_compliant_replacement() -> None:
    raw = json.loads(SAMPLE.read_text())
    latest = Snapshot.from_json("aws-prod", raw)
    changes = snapshot_changes(before_from_annotations(latest, raw), latest)
    message = render_alert(changes, "/kosli")
    text = message.text + "\n" + blocks_to_text(message.blocks)
    assert message.text == "aws-prod#4357: 1 replaced"
    assert "`languages-start-points:a97ed05` → `languages-start-points:95ab455`" in text
    assert "Merge pull request #204 from cyber-dojo/update-csharp-nunit_ · Jon Jagger" in text
    assert (
        "compare (https://github.com/cyber-dojo/languages-start-points/compare/"
        "a97ed054e38d484a0015cd658f1d593c03ea2a61...95ab455dd7301b20c744f50b1cd015e4396aedce)"
    ) in text
    assert "deploy" not in text.lower() and "sha256" not in text
    assert "non-compliant" not in text
    assert_golden("today_alert_real_4357", message.blocks)


def test_the_watch_baseline_names_what_needs_attention(
    bot: Bot, kosli: KosliSandbox, clock: Clock
) -> None:
    prod = kosli.dataset.environment("prod")
    assert prod is not None
    clock.now = next(s for s in prod.snapshots if s.index == 4356).timestamp + 60
    answer = bot.ask("watch prod")
    assert_golden("today_watch_baseline", answer)
    text = text_of(answer)
    assert "From snapshot *#4356*" in text and "Needs attention now" in text
    assert "no provenance (required by build-process)" in text
    assert "missing required 'trivy-container-scan' (generic) attestation" in text
    assert "sha256" not in text and "deploy" not in text.lower()


def test_log_says_what_happened_or_stays_plain_when_the_event_log_fails(
    bot: Bot, kosli: KosliSandbox
) -> None:
    text = text_of(bot.ask("log prod"))
    assert "*#4355*" in text and "└ payments:c5a81f7: started, non-compliant · " in text
    kosli.fail_next(503, only="/events", times=3, headers={"Retry-After": "0"})
    plain = text_of(bot.ask("log prod", response="2"))
    assert "*#4358*" in plain and "└" not in plain

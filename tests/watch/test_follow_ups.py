"""Follow-ups on acme's prod (today's Kosli shapes), snapshot by snapshot, against the sandbox
Kosli and the fake Slack: a restart posts nothing; a rogue build's provenance and a build's
return to compliance reply under the alerts that told of them, and reach open incidents."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.commands.dispatch import answer
from bot.render.plain import blocks_to_text
from bot.runtime import Runtime
from bot.sandbox import KosliSandbox
from testkit.fakes.slack import FakeSlack
from testkit.seed import SANDBOX_TOKEN, settings_for
from tests.db import outbox_rows
from tests.golden import assert_golden
from tests.watch.helpers import CHANNEL, Clock, watch

INCIDENT = "C0WARROOM"


@pytest.fixture
def acme_prod() -> Iterator[tuple[KosliSandbox, Clock, dict[int, float]]]:
    clock = Clock(0)
    with KosliSandbox(org="acme", token=SANDBOX_TOKEN, now=clock) as sandbox:
        prod = sandbox.dataset.environment("prod")
        assert prod is not None
        yield sandbox, clock, {s.index: s.timestamp for s in prod.snapshots}


def text(message: dict[str, Any]) -> str:
    return message["text"] + "\n" + blocks_to_text(message["blocks"])


def test_a_rogue_alert_gets_its_provenance_as_a_reply_and_a_restart_posts_nothing(
    acme_prod: tuple[KosliSandbox, Clock, dict[int, float]], slack: FakeSlack, tmp_path: Path
) -> None:
    kosli, clock, at = acme_prod
    url = f"sqlite:///{tmp_path}/bot.db"
    settings = settings_for(kosli, slack, url, kosli_org="acme")

    async def main() -> None:
        runtime = Runtime.build(settings)
        async with runtime.running(watch=False):

            async def arrives(index: int) -> None:
                clock.now = at[index] + 1
                await runtime.watcher.run_cycle()

            clock.now = at[4358] + 1
            await watch(runtime, "prod")
            await arrives(4359)  # ledger's instance replaced: a restart
            assert slack.posted(CHANNEL) == [] and outbox_rows(runtime.store) == []
            await arrives(4360)  # notifier runs with no provenance
            await answer("incident prod since #4358", runtime.services, INCIDENT, "U0ONCALL")
            for index in (4361, 4362, 4363):
                await arrives(index)

    asyncio.run(main())
    rogue, traced, failing, compliant = slack.posted(CHANNEL)
    assert rogue["text"] == "prod#4360: 1 rogue, now non-compliant" and not rogue["thread_ts"]
    # Provenance arrived: under the rogue alert, naming the flow and the commit.
    assert traced["thread_ts"] == rogue["ts"]
    assert traced["text"] == "prod#4361: 1 provenance arrived, now compliant"
    said = text(traced)
    assert "`notifier:4e1a9d2`" in said and "flow notifier-ci" in said
    assert "commit 4e1a9d2 (https://github.com/acme/notifier/commit/4e1a9d2" in said
    assert_golden("today_provenance_reply", traced["blocks"])
    # A build that turns non-compliant while it keeps running is alerted with its reasons;
    # its return to compliance (late evidence) is said under that alert.
    assert failing["text"] == "prod#4362: 1 non-compliant, now non-compliant"
    assert not failing["thread_ts"]
    assert "attestation 'trivy-container-scan' is non-compliant" in text(failing)
    assert compliant["thread_ts"] == failing["ts"]
    assert compliant["text"] == "prod#4363: 1 compliant again, now compliant"
    assert "the evidence it lacked arrived" in text(compliant)
    assert_golden("today_compliant_again_reply", compliant["blocks"])
    # The open incident's thread hears each one too, the restart only in its opening window.
    thread = [m["text"] for m in slack.posted(INCIDENT)[1:]]
    assert thread == [
        "prod#4359: 1 restarted",
        "prod#4360: 1 rogue, now non-compliant",
        "prod#4361: 1 provenance arrived, now compliant",
        "prod#4362: 1 non-compliant, now non-compliant",
        "prod#4363: 1 compliant again, now compliant",
    ]


def test_kosli_actions_saying_allow_listed_words_the_return_to_compliance_so(
    acme_prod: tuple[KosliSandbox, Clock, dict[int, float]], slack: FakeSlack, tmp_path: Path
) -> None:
    """Without Kosli's word, payments' return to compliance is late evidence (it has a
    flow); with a Kosli Actions allow-listing of that build, it is said as one."""
    kosli, clock, at = acme_prod
    settings = settings_for(kosli, slack, f"sqlite:///{tmp_path}/bot.db", kosli_org="acme")
    prod = kosli.dataset.environment("prod")
    assert prod is not None
    (payments,) = [a.fingerprint for a in prod.snapshots[-1].running() if "/payments:" in a.name]

    async def main() -> None:
        runtime = Runtime.build(settings)
        async with runtime.running(watch=False):
            clock.now = at[4361] + 1
            await watch(runtime, "prod")
            clock.now = at[4362] + 1
            await runtime.watcher.run_cycle()
            runtime.watcher.heard_allow_listed("prod", "f" * 64)  # another build: no effect
            runtime.watcher.heard_allow_listed("prod", payments)
            clock.now = at[4363] + 1
            await runtime.watcher.run_cycle()

    asyncio.run(main())
    failing, compliant = slack.posted(CHANNEL)
    assert compliant["thread_ts"] == failing["ts"]
    said = text(compliant)
    assert "`payments:" in said and "allow-listed in prod (Kosli Actions said so)" in said
    assert "evidence it lacked" not in said
    assert_golden("today_allow_listed_reply", compliant["blocks"])

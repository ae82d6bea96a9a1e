"""Who hears what of one snapshot: the news to channels (risky-only ones only of trouble),
follow-ups apart to every channel, everything to open threads."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from bot.domain.changes import snapshot_changes
from bot.store.models import AlertKind
from bot.store.records import SubscriptionRecord
from bot.watch.router import Router, rendered
from bot.watch.settings import WatchSettings
from tests.domain.test_changes import artifact, snapshot

NOW = datetime(2026, 5, 5, 15, 0, tzinfo=UTC)


def sub(channel: str, risky_only: bool = False) -> SubscriptionRecord:
    return SubscriptionRecord(channel, "aws-prod", "U1", NOW, 1, risky_only, None, None)


def route(before, after, *subs: SubscriptionRecord):
    changes = snapshot_changes(before, after).alerting
    router = Router(store=None, settings=WatchSettings())  # type: ignore[arg-type]  # unused
    return router.change(rendered(changes, "/kosli"), list(subs), [], NOW)


def test_an_environment_turning_non_compliant_alone_is_still_news() -> None:
    web = artifact("web:1", "web-ci")
    alerts = route(snapshot(2, web, compliant=True), snapshot(3, web, compliant=False), sub("C1"))
    assert [(a.kind, a.text) for a in alerts] == [
        (AlertKind.CHANGE, "aws-prod#3: now non-compliant")
    ]


def test_follow_ups_go_apart_to_every_channel_and_news_names_its_troubles() -> None:
    rogue = artifact("spooler:dc7dea2", "", compliant=False)
    traced = replace(rogue, flow="spooler-ci", compliant=True)
    bad = artifact("payments:c5a81f7", "payments-ci", compliant=False)
    alerts = route(
        snapshot(2, rogue, compliant=False),
        snapshot(3, traced, bad, compliant=False),
        sub("C1"),
        sub("C2", risky_only=True),
    )
    assert [(a.channel_id, a.kind, a.text, a.troubles, a.follows) for a in alerts] == [
        ("C1", AlertKind.CHANGE, "aws-prod#3: 1 non-compliant, 1 started", (bad.fingerprint,), ()),
        ("C2", AlertKind.CHANGE, "aws-prod#3: 1 non-compliant, 1 started", (bad.fingerprint,), ()),
        ("C1", AlertKind.FOLLOW_UP, "aws-prod#3: 1 provenance arrived", (), (rogue.fingerprint,)),
        ("C2", AlertKind.FOLLOW_UP, "aws-prod#3: 1 provenance arrived", (), (rogue.fingerprint,)),
    ]
    assert alerts[2].reply is not None and "now has provenance" in str(alerts[2].reply[1])


def test_a_restart_alone_is_no_alert() -> None:
    runner = artifact("runner:85cac88", "runner-ci", instances=3)
    restarted = replace(runner, change="changed", was=3)
    assert route(snapshot(2, runner), snapshot(3, restarted), sub("C1")) == []

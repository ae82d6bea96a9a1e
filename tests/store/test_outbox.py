"""The outbox on SQLite and PostgreSQL: alerts recorded with the high-water mark, claimed by
one sender, settled once."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from bot.domain.commits_window import ReplacedBuild, WindowEnds
from bot.store.models import AlertKind
from bot.store.outbox import NewAlert
from bot.store.records import IncidentRecord, SubscriptionRecord
from bot.store.store import Store
from tests.db import outbox_rows
from tests.store.examples import NOW, TTL, alert, made, new_incident, states

# The store is awaited: these tests run on an event loop (anyio's plugin, asyncio).
pytestmark = pytest.mark.anyio


async def test_advance_records_alerts_and_moves_the_mark(store: Store) -> None:
    await store.subscriptions.subscribe("C1", "prod", "U1", 10, NOW)

    inserted = await store.outbox.advance(
        "prod", 12, made(alert(11), alert(12, held=True)), NOW + TTL
    )

    assert inserted == 2
    recorded = outbox_rows(store)
    assert [(a.snapshot_index, a.held, a.state) for a in recorded] == [
        (11, False, "pending"),
        (12, True, "pending"),
    ]
    assert recorded[0].blocks == [{"n": 11}]
    assert recorded[0].created_at == NOW + TTL
    state = await store.environments.state("prod")
    assert (state.last_seen_index, state.last_polled_at) == (12, NOW + TTL)


async def test_advance_routes_to_whoever_hears_as_its_transaction_reads(store: Store) -> None:
    """The watchers and threads are read in the same transaction as the change is recorded:
    a mute or a thread committed before it counts, and nothing else is asked for them."""
    await store.subscriptions.subscribe("C1", "prod", "U1", 10, NOW)
    await store.subscriptions.subscribe("C2", "prod", "U1", 10, NOW)
    await store.subscriptions.subscribe("C3", "beta", "U1", 10, NOW)
    following = await store.incidents.open(new_incident())
    other = await store.incidents.open(replace(new_incident(), envs=["beta"]))
    heard: list[tuple[list[str], list[int]]] = []

    def route(
        subscriptions: list[SubscriptionRecord], incidents: list[IncidentRecord]
    ) -> list[NewAlert]:
        heard.append(([s.channel_id for s in subscriptions], [i.id for i in incidents]))
        return [alert(11, channel=s.channel_id) for s in subscriptions]

    assert await store.outbox.advance("prod", 11, route, NOW) == 2
    assert heard == [(["C1", "C2"], [following.id])]
    assert other.id not in heard[0][1]
    assert await store.outbox.advance("prod", 12, None, NOW) == 0  # nothing changed: no alert
    assert (await store.environments.state("prod")).last_seen_index == 12


async def test_advance_skips_an_alert_already_recorded(store: Store) -> None:
    await store.subscriptions.subscribe("C1", "prod", "U1", 10, NOW)
    await store.outbox.add([alert(11, text="first")], NOW)

    inserted = await store.outbox.advance(
        "prod", 12, made(alert(11, text="second"), alert(12)), NOW
    )

    assert inserted == 1
    assert [(a.snapshot_index, a.text) for a in outbox_rows(store)] == [(11, "first"), (12, "#12")]
    assert (await store.environments.state("prod")).last_seen_index == 12


async def test_advance_never_goes_backwards(store: Store) -> None:
    await store.subscriptions.subscribe("C1", "prod", "U1", 10, NOW)

    assert await store.outbox.advance("prod", 10, made(alert(10)), NOW) == 0
    assert await store.outbox.advance("prod", 9, made(alert(9)), NOW) == 0

    assert outbox_rows(store) == []
    state = await store.environments.state("prod")
    assert (state.last_seen_index, state.last_polled_at) == (10, None)
    assert await store.outbox.advance("nowhere", 1, made(alert(1, env="nowhere")), NOW) == 0


async def test_advance_is_all_or_nothing(store: Store) -> None:
    await store.subscriptions.subscribe("C1", "prod", "U1", 10, NOW)
    unstorable = alert(12, blocks=[{"n": object()}])  # fails mid-way, like a lost connection

    with pytest.raises(Exception, match="JSON serializable"):
        await store.outbox.advance("prod", 12, made(alert(11), unstorable), NOW)

    assert (await store.environments.state("prod")).last_seen_index == 10
    assert outbox_rows(store) == []


async def test_a_snapshot_judged_again_alerts_once_per_new_compliance(store: Store) -> None:
    """Replicas racing over the same re-judged snapshot: the first to record it alerts."""
    await store.subscriptions.subscribe("C1", "prod", "U1", 10, NOW)
    await store.outbox.advance("prod", 11, None, NOW, compliant=True)
    lost = alert(11, kind=AlertKind.NOW_NON_COMPLIANT)
    back = alert(11, kind=AlertKind.NOW_COMPLIANT)

    assert await store.outbox.reevaluate("prod", 11, False, made(lost), NOW) == 1
    assert await store.outbox.reevaluate("prod", 11, False, made(lost), NOW) == 0
    assert await store.outbox.reevaluate("prod", 10, True, made(back), NOW) == 0  # not the last
    assert await store.outbox.reevaluate("prod", 11, True, made(back), NOW) == 1

    kinds = [(a.snapshot_index, a.kind) for a in outbox_rows(store)]
    assert kinds == [(11, "now_noncompliant"), (11, "now_compliant")]
    assert (await store.environments.state("prod")).last_seen_compliant is True


async def test_a_compliance_never_read_is_recorded_without_alerts(store: Store) -> None:
    await store.subscriptions.subscribe("C1", "prod", "U1", 10, NOW)

    assert await store.outbox.reevaluate("prod", 10, False, None, NOW) == 0

    assert outbox_rows(store) == []
    assert (await store.environments.state("prod")).last_seen_compliant is False


async def test_environments_advancing_together_fail_alone(store: Store) -> None:
    """Advances awaited side by side share one transaction; one that fails rolls back alone,
    and only its caller hears of it."""
    for env in ("a", "b", "c"):
        await store.subscriptions.subscribe("C1", env, "U1", 10, NOW)
    unstorable = alert(11, env="b", blocks=[{"n": object()}])

    results = await asyncio.gather(
        store.outbox.advance("a", 11, made(alert(11, env="a")), NOW),
        store.outbox.advance("b", 11, made(unstorable), NOW),
        store.outbox.advance("c", 11, made(alert(11, env="c"), alert(11, "C2", "c")), NOW),
        store.outbox.advance("a", 12, None, NOW),  # after "a"#11 in the same batch: in order
        return_exceptions=True,
    )

    assert results[0] == 1 and results[2] == 2 and results[3] == 0
    assert isinstance(results[1], Exception) and "JSON serializable" in str(results[1])
    marks = [(await store.environments.state(env)).last_seen_index for env in "abc"]
    assert marks == [12, 10, 11]
    assert [(a.env, a.channel_id) for a in outbox_rows(store)] == [
        ("a", "C1"),
        ("c", "C1"),
        ("c", "C2"),
    ]


async def test_alerts_sent_side_by_side_are_marked_each_by_its_claimant(store: Store) -> None:
    await store.outbox.add([alert(1), alert(2, "C2"), alert(3, "C3")], NOW)
    first, second = await store.outbox.claim("a", NOW, TTL, limit=2)
    (third,) = await store.outbox.claim("b", NOW, TTL)

    await asyncio.gather(
        store.outbox.mark_sent(first.id, "a", "1.1", NOW),
        store.outbox.mark_sent(second.id, "a", "2.2", NOW),
        store.outbox.mark_sent(third.id, "a", "3.3", NOW),  # not "a"'s claim: left alone
    )

    assert [(a.state, a.slack_ts) for a in outbox_rows(store)] == [
        ("sent", "1.1"),
        ("sent", "2.2"),
        ("sending", None),
    ]


async def test_claim_takes_the_oldest_sendable_alerts_first(store: Store) -> None:
    await store.outbox.add([alert(3), alert(1), alert(2, held=True), alert(4)], NOW)

    first = await store.outbox.claim("a", NOW, TTL, limit=2)
    rest = await store.outbox.claim("a", NOW, TTL)

    assert [o.snapshot_index for o in first] == [3, 1]
    assert [o.snapshot_index for o in rest] == [4]
    assert first[0].key == "C1/prod/change/3"
    assert (first[0].text, first[0].blocks, first[0].created_at) == ("#3", [{"n": 3}], NOW)
    assert (first[0].claimed_at, first[0].uncertain) == (NOW, False)
    assert states(store) == {1: "sending", 2: "pending", 3: "sending", 4: "sending"}


async def test_claim_leaves_the_channels_told_to_skip_untouched(store: Store) -> None:
    await store.outbox.add([alert(1), alert(2, channel="C2"), alert(3)], NOW)

    claimed = await store.outbox.claim("a", NOW, TTL, skip={"C1"})

    assert [o.snapshot_index for o in claimed] == [2]
    assert states(store) == {1: "pending", 2: "sending", 3: "pending"}
    assert [row.attempts for row in outbox_rows(store)] == [0, 1, 0]


async def test_a_claim_is_exclusive_across_replicas(
    store: Store, open_replica: Callable[[], Store]
) -> None:
    """Three replicas claim at once: every alert is claimed by exactly one of them, once."""
    replicas = {"a": store, "b": open_replica(), "c": open_replica()}
    await store.outbox.add([alert(number) for number in range(1, 31)], NOW)
    claims: dict[str, list[int]] = {}
    together = threading.Barrier(len(replicas))

    def claim(owner: str) -> None:
        together.wait(timeout=10)
        got = asyncio.run(replicas[owner].outbox.claim(owner, NOW, TTL))
        claims[owner] = [item.snapshot_index for item in got]

    threads = [threading.Thread(target=claim, args=(owner,)) for owner in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(n for got in claims.values() for n in got) == list(range(1, 31))
    rows = outbox_rows(store)
    assert {a.attempts for a in rows} == {1}
    assert {a.claimed_by for a in rows} <= set(replicas)


async def test_an_expired_claim_is_reclaimed_as_uncertain(
    store: Store, open_replica: Callable[[], Store]
) -> None:
    other = open_replica()
    await store.outbox.add([alert(1)], NOW)
    [claimed] = await store.outbox.claim("a", NOW, TTL)

    assert await other.outbox.claim("b", NOW + timedelta(seconds=59), TTL) == []
    [reclaimed] = await other.outbox.claim("b", NOW + timedelta(seconds=61), TTL)

    assert reclaimed.id == claimed.id
    assert reclaimed.uncertain is True
    [row] = outbox_rows(store)
    assert (row.claimed_by, row.attempts) == ("b", 2)
    assert row.claimed_until == NOW + timedelta(seconds=121)


async def test_a_channel_waits_while_another_replica_holds_one_of_its_alerts(
    store: Store, open_replica: Callable[[], Store]
) -> None:
    """A sender that takes over before a dead one's claim has expired leaves that channel
    alone until it does: the channel's later alerts must not go before the one held."""
    other = open_replica()
    await store.outbox.add([alert(1), alert(2), alert(3, channel="C2")], NOW)
    await store.outbox.claim("a", NOW, TTL, limit=1)  # "a" dies holding #1

    taken = await other.outbox.claim("b", NOW + timedelta(seconds=1), TTL)
    assert [o.snapshot_index for o in taken] == [3]

    later = await other.outbox.claim("b", NOW + TTL + timedelta(seconds=1), TTL)
    assert [(o.snapshot_index, o.uncertain) for o in later] == [(1, True), (2, False)]


async def test_mark_sent_only_by_the_current_claimant(
    store: Store, open_replica: Callable[[], Store]
) -> None:
    other = open_replica()
    await store.outbox.add([alert(1)], NOW)
    [mine] = await store.outbox.claim("a", NOW, TTL)
    await other.outbox.claim("b", NOW + 2 * TTL, TTL)

    await store.outbox.mark_sent(mine.id, "a", "111.1", NOW + 2 * TTL)  # too late: "b" owns it now
    assert states(store) == {1: "sending"}

    await other.outbox.mark_sent(mine.id, "b", "222.2", NOW + 3 * TTL)
    [sent] = outbox_rows(store)
    assert (sent.state, sent.slack_ts, sent.sent_at) == ("sent", "222.2", NOW + 3 * TTL)
    assert sent.claimed_until is None
    assert await store.outbox.claim("a", NOW + timedelta(days=1), TTL) == []


async def test_unclaim_puts_the_alert_back(store: Store) -> None:
    await store.outbox.add([alert(1)], NOW)
    [claimed] = await store.outbox.claim("a", NOW, TTL)

    await store.outbox.unclaim(claimed.id, "b")
    assert await store.outbox.claim("b", NOW, TTL) == []

    await store.outbox.unclaim(claimed.id, "a")
    [row] = outbox_rows(store)
    assert (row.state, row.claimed_by, row.claimed_until) == ("pending", None, None)
    assert claimed.uncertain is False  # never tried before
    [again] = await store.outbox.claim("b", NOW, TTL)
    # A failed attempt may have posted part of a long alert: the next one checks first.
    assert (again.id, again.uncertain) == (claimed.id, True)
    assert outbox_rows(store)[0].attempts == 2


async def test_drop_pending_drops_a_channels_unsent_alerts(store: Store) -> None:
    await store.outbox.add([alert(1), alert(2), alert(3), alert(4, held=True)], NOW)
    await store.outbox.add([alert(9, channel="C2")], NOW)
    first, second, _ = await store.outbox.claim("a", NOW, TTL, limit=3)
    await store.outbox.mark_sent(first.id, "a", "1.1", NOW)
    await store.outbox.unclaim(second.id, "a")  # 1 sent, 2 pending, 3 sending, 4 held

    assert await store.outbox.drop_pending("C1") == 3

    assert states(store) == {1: "sent", 2: "dropped", 3: "dropped", 4: "dropped", 9: "pending"}
    assert [o.channel_id for o in await store.outbox.claim("a", NOW + timedelta(days=1), TTL)] == [
        "C2"
    ]


async def test_release_held_hands_back_held_alerts_in_snapshot_order(store: Store) -> None:
    await store.outbox.add([alert(7, held=True), alert(5, held=True), alert(6, held=True)], NOW)
    await store.outbox.add([alert(8), alert(4, held=True, env="staging")], NOW)

    [unheld] = await store.outbox.claim("a", NOW, TTL)
    await store.outbox.mark_sent(unheld.id, "a", "8.8", NOW)
    released = await store.outbox.release_held("C1", "prod")

    assert [a.snapshot_index for a in released] == [5, 6, 7]
    assert states(store) == {
        4: "pending",
        5: "summarised",
        6: "summarised",
        7: "summarised",
        8: "sent",
    }
    assert await store.outbox.release_held("C1", "prod") == []
    assert await store.outbox.claim("a", NOW + timedelta(days=1), TTL) == []


# ---- what the database refuses -----------------------------------------------------------

REPLACED = (
    ReplacedBuild("creator:31de → creator:b7a5", WindowEnds("https://g/c/b7a5", "31de", "b7a5")),
)


async def test_an_alert_is_recorded_once_per_channel_and_per_incident(store: Store) -> None:
    incident = await store.incidents.open(new_incident())
    await store.incidents.posted(incident.id, "9.9", [], NOW)
    in_thread = alert(5, incident_id=incident.id, thread_ts="9.9")

    assert await store.outbox.add([alert(5), in_thread], NOW) == 2
    assert await store.outbox.add([alert(5), in_thread, alert(5, kind=AlertKind.OUTAGE)], NOW) == 1
    assert [(a.kind, a.incident_id) for a in outbox_rows(store)] == [
        ("change", None),
        ("change", incident.id),
        ("outage", None),
    ]


async def test_commits_wait_under_the_change_they_follow(store: Store) -> None:
    await store.outbox.add([alert(5, commits=REPLACED), alert(6)], NOW)

    change, _, commits = outbox_rows(store, commits=True)  # after every alert of the snapshot
    assert (commits.kind, commits.state, commits.parent_id) == ("commits", "waiting", change.id)
    [waiting] = await store.outbox.waiting()
    assert (waiting.commits, waiting.parent_ts, waiting.parent_gone) == (REPLACED, None, False)
    [claimed, _] = await store.outbox.claim("a", NOW, TTL)
    await store.outbox.mark_sent(claimed.id, "a", "5.5", NOW)
    assert [w.parent_ts for w in await store.outbox.waiting()] == ["5.5"]
    # Written once with its change: a replica recording the same change adds neither.
    assert await store.outbox.add([alert(5, commits=REPLACED)], NOW) == 0


@pytest.mark.parametrize(
    "column, value",
    [("kind", "bisect"), ("kind", "thread/1"), ("state", "lost"), ("parent_id", 999),
     ("incident_id", 999)],
)  # fmt: skip
def test_the_database_refuses_a_wrong_kind_or_state_and_a_missing_parent(
    store: Store, column: str, value: object
) -> None:
    row = {"channel_id": "C1", "env": "prod", "kind": "change", "snapshot_index": 1}
    row |= {"text": "", "blocks": "[]", "created_at": NOW, "state": "pending", "held": False}
    row |= {"attempts": 0, column: value}
    with pytest.raises(IntegrityError), store.engine.begin() as connection:
        connection.execute(
            text(
                f"INSERT INTO alerts ({', '.join(row)}) VALUES ({', '.join(':' + c for c in row)})"
            ),
            row,
        )
    assert outbox_rows(store) == []


def follow_up(index: int, *fingerprints: str, channel: str = "C1", **fields: object) -> NewAlert:
    own = alert(index, channel=channel, kind=AlertKind.FOLLOW_UP, text=f"own #{index}")
    reply = (f"reply #{index}", [{"reply": index}])
    return replace(own, follows=fingerprints, reply=reply, **fields)


async def test_a_follow_up_replies_under_the_posted_alert_that_told_of_its_trouble(
    store: Store,
) -> None:
    await store.outbox.add([alert(5, troubles=("rogue-a", "rogue-b")), alert(6)], NOW)
    sent = {a.snapshot_index: a for a in outbox_rows(store)}
    # Not posted yet (a catch-up alerts and resolves at once): its own message.
    await store.outbox.add([follow_up(7, "rogue-a")], NOW)
    claimed = await store.outbox.claim("me", NOW, TTL)
    await store.outbox.mark_sent(sent[5].id, "me", "5.5", NOW)
    await store.outbox.add(
        [
            follow_up(8, "rogue-a"),  # under #5
            follow_up(8, "rogue-a", channel="C2"),  # C2 never heard of it
            follow_up(9, "rogue-a", "never-told"),  # not all told in one alert
            follow_up(10, "rogue-b", held=True),  # muted: summarised later, as its own
        ],
        NOW,
    )
    rows = [
        (a.channel_id, a.snapshot_index, a.text, a.thread_ts, a.parent_id)
        for a in outbox_rows(store)
        if a.kind == AlertKind.FOLLOW_UP
    ]
    assert [a.snapshot_index for a in claimed] == [5, 6, 7]
    assert rows == [
        ("C1", 7, "own #7", None, None),
        ("C1", 8, "reply #8", "5.5", sent[5].id),
        ("C2", 8, "own #8", None, None),
        ("C1", 9, "own #9", None, None),
        ("C1", 10, "own #10", None, None),
    ]

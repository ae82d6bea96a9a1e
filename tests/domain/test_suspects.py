"""The suspects scorer on small hand-made windows: each reason moves a change up or down as
the issue states it, ties go to the change nearer the start, and every reason is shown."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.changes import Change, ChangeSet, Kind
from bot.domain.suspects import (
    WEIGHTS,
    Candidate,
    Fact,
    Mark,
    Sighting,
    Size,
    candidates,
    flagged,
    proposed_fix,
    rank,
    sightings,
    verdict,
)
from bot.kosli.models import HistoryEvent, SnapshotArtifact
from bot.kosli.policies import PolicyDecision, Resolution, RuleEvaluation

START = datetime(2026, 5, 5, 15, 0, tzinfo=UTC)
ELSEWHERE = {"prod": ("staging",)}


def build(service: str, tag: str, **extra: object) -> SnapshotArtifact:
    name = f"registry.example/{service}:{tag}"
    values: dict[str, object] = {
        "name": name,
        "fingerprint": hashlib.sha256(name.encode()).hexdigest(),
        "flow": f"{service}-ci",
        "git_commit": tag * 5,
        "commit_url": "",
        "compliant": True,
        "started_at": None,
        "instances": 1,
        "change": "unchanged",
    }
    values.update(extra)
    return SnapshotArtifact(**values)  # type: ignore[arg-type]


def minutes_before(n: float) -> datetime:
    return START - timedelta(minutes=n)


def new_build(
    service: str = "web", tag: str = "bbbbbbb", before: float = 30, **facts: object
) -> Candidate:
    """A replaced build that ran nowhere else first, unless `facts` say otherwise."""
    facts.setdefault("sightings", ())
    change = Change(Kind.REPLACED, build(service, tag), previous=build(service, "aaaaaaa"))
    return Candidate("prod", change, minutes_before(before), 10, **facts)  # type: ignore[arg-type]


def order(*found: Candidate) -> list[str]:
    return [s.candidate.label for s in rank(found, (), START, ELSEWHERE).suspects]


def reasons_of(c: Candidate) -> list[str]:
    return [r.words for r in rank([c], (), START, ELSEWHERE).suspects[0].reasons if r.words]


def score(c: Candidate) -> float:
    return rank([c], (), START, ELSEWHERE).suspects[0].score


def test_nearer_is_more_suspect_but_never_decisive_on_its_own() -> None:
    near, far = new_build("web", before=5), new_build("ledger", before=600)
    assert order(far, near) == [near.label, far.label]
    # The biggest recency weighs no more than a new build: a restart right at the start
    # stays below a new build of the day before.
    restart = Candidate(
        "prod", Change(Kind.RESTARTED, build("api", "ccccccc")), minutes_before(1), 11
    )
    assert order(restart, far) == [far.label, restart.label]
    assert WEIGHTS[Fact.NEAR] <= WEIGHTS[Fact.NEW_BUILD]


def test_ties_go_to_the_change_nearer_the_start() -> None:
    # Both within the same recency band, with the same facts: the same score.
    a, b = new_build("web", before=20), new_build("ledger", before=50)
    assert score(a) == score(b)
    assert order(b, a) == [a.label, b.label]


def test_a_day_in_staging_without_being_replaced_lowers_suspicion() -> None:
    soaked = new_build(sightings=(Sighting("staging", minutes_before(3000), None),))
    never = new_build()
    assert score(soaked) < score(never)
    assert "ran 2 days in staging first" in reasons_of(soaked)
    assert "never ran in staging" in reasons_of(never)
    # Never having run anywhere before raises it above one that ran briefly elsewhere.
    brief = new_build(sightings=(Sighting("staging", minutes_before(60), None),))
    assert score(soaked) < score(brief) < score(never)


def test_a_build_replaced_quickly_elsewhere_is_not_cleared_by_it() -> None:
    pulled = new_build(sightings=(Sighting("staging", minutes_before(90), minutes_before(70)),))
    assert score(pulled) > score(
        new_build(sightings=(Sighting("staging", minutes_before(3000), None),))
    )
    assert "replaced in staging after 20 minutes" in reasons_of(pulled)


def test_missing_evidence_and_no_provenance_raise_it() -> None:
    rule = RuleEvaluation(
        "attestation", "pull-request", "pull_request", False, False,
        (Resolution("missing_attestation", "web-ci", "t", ""),),
    )  # fmt: skip
    decision = PolicyDecision("prod-requirements", 1, False, (rule,))
    failing = Candidate(
        "prod",
        Change(Kind.REPLACED, build("web", "bbbbbbb", compliant=False, decisions=(decision,)),
               previous=build("web", "aaaaaaa")),
        minutes_before(30), 10, sightings=(),
    )  # fmt: skip
    assert score(failing) > score(new_build())
    assert "no pull-request attestation" in reasons_of(failing)
    rogue = Candidate(
        "prod", Change(Kind.ROGUE, build("miner", "latest", flow="")), minutes_before(30), 10,
        sightings=(),
    )  # fmt: skip
    assert "no provenance" in reasons_of(rogue)
    assert score(rogue) > score(new_build(service="miner", tag="latest"))


def test_fast_from_commit_raises_it_and_days_is_normal() -> None:
    def lead(seconds: float) -> Candidate:
        change = Change(Kind.REPLACED, build("web", "bbbbbbb", lead_time=seconds),
                        previous=build("web", "aaaaaaa"))  # fmt: skip
        return Candidate("prod", change, minutes_before(30), 10, sightings=())

    fast, slow = lead(20 * 60), lead(3 * 86400)
    assert score(fast) > score(slow) == score(new_build())
    assert "commit to prod in 20 min" in reasons_of(fast)
    assert "commit to prod in 3 d" in reasons_of(slow)
    assert score(lead(-500)) == score(new_build())  # Kosli's negative lead times say nothing


def test_more_commits_merges_and_hotfixes_raise_it() -> None:
    small = new_build(size=Size(1, 0, 0))
    big = new_build(size=Size(5, 1, 0))
    rushed = new_build(size=Size(5, 1, 1))
    assert score(small) < score(big) < score(rushed)
    assert reasons_of(rushed)[-3:] == ["5 commits", "1 merge", "a revert or hotfix"]
    # Past MAX_COUNTED commits, more say nothing more.
    assert score(new_build(size=Size(500, 0, 0))) == score(new_build(size=Size(8, 0, 0)))
    assert flagged('Revert "Cache group ids"') and flagged("hotfix: null deref")
    assert not flagged("Reverting to plan B is not a word match")


def test_a_restart_or_a_return_is_a_weak_suspect_a_new_build_strong() -> None:
    same = build("web", "bbbbbbb")
    restart = Candidate("prod", Change(Kind.RESTARTED, same, previous=same), minutes_before(30), 12)
    back = new_build(sightings=(Sighting("prod", minutes_before(5000), minutes_before(4000)),))
    fresh = new_build()
    assert score(restart) < score(fresh) and score(back) < score(fresh)
    assert "same build, instances replaced" in reasons_of(restart)
    assert "back to a build that ran in prod before" in reasons_of(back)


def test_a_build_gone_before_the_start_is_low() -> None:
    assert score(new_build(gone=11)) < score(new_build())
    assert "gone at #11, before the start" in reasons_of(new_build(gone=11))


def test_every_reason_is_in_the_line() -> None:
    c = new_build(before=3, size=Size(5, 1, 0))
    line = rank([c], (), START, ELSEWHERE).suspects[0].line
    assert (
        line == "web aaaaaaa → bbbbbbb · 3 min before · never ran in staging · 5 commits · 1 merge"
    )


def at(minutes: float) -> datetime:
    return minutes_before(minutes)


def changeset(index: int, when: datetime, *changes: Change) -> ChangeSet:
    return ChangeSet(f"prod#{index - 1}", f"prod#{index}", when, changes)


def test_candidates_merge_a_rollout_and_split_at_the_start() -> None:
    old, new = build("web", "aaaaaaa"), build("web", "bbbbbbb", started_at=at(32))
    later = build("web", "ccccccc", started_at=at(-5))
    window = [
        changeset(11, at(31), Change(Kind.STARTED, new)),
        changeset(12, at(30), Change(Kind.REPLACED, new, previous=old, rollout_finished=True)),
        changeset(13, at(-4), Change(Kind.ROLLED_BACK, later, previous=new)),
    ]
    before, after = candidates("prod", window, START)
    assert [(c.label, c.at, c.snapshot, c.gone) for c in before] == [
        ("web aaaaaaa → bbbbbbb", at(32), 11, 0)  # the rollback came after the start
    ]
    assert [c.label for c in after] == ["web bbbbbbb → ccccccc"]
    ranking = rank(before, after, START, ELSEWHERE)
    assert [s.candidate.label for s in ranking.suspects] == ["web aaaaaaa → bbbbbbb"]
    assert proposed_fix(before[0], after) == after[0]


def test_sightings_read_from_kosli_history() -> None:
    history = (
        HistoryEvent("Artifact created", at(100)),
        HistoryEvent("Started running in aws-beta#84 environment", at(90)),
        HistoryEvent("Started running in aws-prod#65 environment", at(60)),
        HistoryEvent("No longer running in aws-beta#119 environment", at(30)),
    )
    assert sightings(history) == (
        Sighting("aws-beta", at(90), at(30)),
        Sighting("aws-prod", at(60), None),
    )


def test_the_last_mark_stands_and_the_next_change_of_the_service_is_the_fix() -> None:
    cause = new_build(before=10)
    fix = Candidate(
        "prod",
        Change(Kind.ROLLED_BACK, build("web", "aaaaaaa"), previous=build("web", "bbbbbbb")),
        START + timedelta(minutes=5), 14,
    )  # fmt: skip
    other = new_build("ledger", before=20)
    marks = [
        Mark("prod", cause.fingerprint[:12], "web:bbbbbbb", False, "U1", at(1)),
        Mark("prod", cause.fingerprint[:12], "web:bbbbbbb", True, "U2", at(0)),
        Mark("prod", other.fingerprint, "ledger:bbbbbbb", False, "U3", at(0)),
    ]
    decided = verdict(marks, [cause, other, fix])
    assert [(m.by, c, f) for m, c, f in decided.causes] == [("U2", cause, fix)]
    assert [(m.by, c) for m, c in decided.not_it] == [("U3", other)]


@pytest.mark.parametrize("kind", [Kind.STOPPED, Kind.COMPLIANT])
def test_what_cannot_break_it_is_no_candidate(kind: Kind) -> None:
    change = Change(kind, build("web", "bbbbbbb"))
    assert candidates("prod", [changeset(11, at(10), change)], START) == ([], [])


def test_a_build_that_arrives_failing_is_one_suspect() -> None:
    failing = build("web", "bbbbbbb", compliant=False)
    window = [
        changeset(
            11,
            at(10),
            Change(Kind.NON_COMPLIANT, failing),
            Change(Kind.REPLACED, failing, previous=build("web", "aaaaaaa")),
        )
    ]
    before, _ = candidates("prod", window, START)
    assert [c.change.kind for c in before] == [Kind.REPLACED]

"""The one change model, on hand-made snapshots of both eras and on a real 2026 answer."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime

from bot.domain.changes import (
    Kind,
    built_compare_url,
    commit_sha,
    env_diff_changes,
    service_of,
    short_name,
    snapshot_changes,
    told_allow_listed,
)
from bot.domain.commits_window import CommitsWindow, by_ancestry
from bot.domain.compliance import failing_rules, reasons
from bot.githost.models import Comparison, Repository
from bot.kosli.flows import ArtifactFlow, CommitInfo, DeploymentDiff
from bot.kosli.models import DiffArtifact, Snapshot, SnapshotArtifact, SnapshotDiff
from bot.kosli.policies import PolicyDecision
from tests.commands.test_on_todays_kosli import SAMPLE, before_from_annotations

CREATOR_OLD = (
    "https://github.com/cyber-dojo/creator/commit/31dee357844ab2f58a40d16f945dc5e35dcd6bc0"
)
CREATOR_NEW = (
    "https://github.com/cyber-dojo/creator/commit/b7a590836cf140e17da3f01eadd5eca17d9efc65"
)
ECR = "274425519734.dkr.ecr.eu-central-1.amazonaws.com"
AT = datetime(2022, 9, 6, 14, 52, 28, tzinfo=UTC)


def artifact(name: str, flow: str, commit_url: str = "", started: int = 0, **extra):
    return SnapshotArtifact(
        name=name,
        fingerprint=extra.pop("fingerprint", hashlib.sha256(name.encode()).hexdigest()),
        flow=flow,
        git_commit=commit_sha(commit_url),
        commit_url=commit_url,
        compliant=extra.pop("compliant", True),
        started_at=datetime.fromtimestamp(started, UTC) if started else None,
        instances=extra.pop("instances", 1),
        change="unchanged",
        **extra,
    )


def snapshot(index: int, *running: SnapshotArtifact, compliant: bool | None = None) -> Snapshot:
    state = all(a.compliant for a in running) if compliant is None else compliant
    return Snapshot("aws-prod", index, AT, state, tuple(running))


def commit(sha: str, when: float, title: str = "A change") -> CommitInfo:
    moment = datetime.fromtimestamp(when, UTC)
    return CommitInfo(sha, f"{title}\n\nbody", "Ana Lopes <ana@x.io>", "main", moment, "")


def built(name: str, flow: str, sha: str, when: float, **extra) -> SnapshotArtifact:
    url = f"https://gitlab.com/acme/ledger/-/commit/{sha}"
    flows = (ArtifactFlow(flow, sha, sha, url, commit(sha, when), None),)
    return artifact(name, flow, url, flows=flows, **extra)


def test_the_real_2026_snapshot_is_one_compliant_replacement_with_kosli_links() -> None:
    raw = json.loads(SAMPLE.read_text())
    latest = Snapshot.from_json("aws-prod", raw)
    changes = snapshot_changes(before_from_annotations(latest, raw), latest)
    assert [c.kind for c in changes.changes] == [Kind.REPLACED]
    change = changes.changes[0]
    assert short_name(change.previous.name) == "languages-start-points:a97ed05"
    assert short_name(change.artifact.name) == "languages-start-points:95ab455"
    assert change.artifact.commit.title == (
        "Merge pull request #204 from cyber-dojo/update-csharp-nunit"
    )
    assert change.artifact.commit.author_name == "Jon Jagger"
    assert change.compare_url == (
        "https://github.com/cyber-dojo/languages-start-points/compare/"
        "a97ed054e38d484a0015cd658f1d593c03ea2a61...95ab455dd7301b20c744f50b1cd015e4396aedce"
    )
    assert changes.compliance is None and not changes.risky
    # The promotion flow is context; the commit is the build flow's.
    assert change.artifact.build_flow.name == "languages-start-points-ci"
    assert [f.name for f in change.artifact.promotions] == ["production-promotion"]


def test_a_finished_rolling_deploy_is_a_replacement_not_a_stop() -> None:
    old = artifact(f"{ECR}/creator:31dee35", "creator", CREATOR_OLD, started=10)
    new = artifact(f"{ECR}/creator:b7a5908", "creator", CREATOR_NEW, started=20)
    changes = snapshot_changes(snapshot(176, old, new), snapshot(177, new))
    assert [(c.kind, c.previous, c.artifact, c.rollout_finished) for c in changes.changes] == [
        (Kind.REPLACED, old, new, True)
    ]
    assert changes.changes[0].compare_url == (
        "https://github.com/cyber-dojo/creator/compare/"
        "31dee357844ab2f58a40d16f945dc5e35dcd6bc0...b7a590836cf140e17da3f01eadd5eca17d9efc65"
    )
    # The same two snapshots the other way round are not a timeline.
    assert not snapshot_changes(snapshot(177, new), snapshot(176, old, new)).timeline


def test_an_older_build_taking_over_is_a_rollback() -> None:
    newer = built("ledger:3f2a1c9", "ledger-ci", "3f2a1c9" + "0" * 33, 2000)
    older = built("ledger:81bd004", "ledger-ci", "81bd004" + "0" * 33, 1000)
    back = snapshot_changes(snapshot(1, newer), snapshot(2, older))
    assert [c.kind for c in back.changes] == [Kind.ROLLED_BACK]
    assert back.changes[0].compare_url == (
        f"https://gitlab.com/acme/ledger/-/compare/{'3f2a1c9' + '0' * 33}...{'81bd004' + '0' * 33}"
    )
    forward = snapshot_changes(snapshot(2, older), snapshot(3, newer))
    assert [c.kind for c in forward.changes] == [Kind.REPLACED]


def test_kosli_compare_link_is_used_only_when_it_compares_these_two_builds() -> None:
    old = artifact(f"{ECR}/creator:31dee35", "creator", CREATOR_OLD)
    mine = DeploymentDiff("https://kosli.example/compare/mine", commit_sha(CREATOR_OLD), "")
    other = DeploymentDiff("https://kosli.example/compare/other", "f" * 40, "")
    new = artifact(f"{ECR}/creator:b7a5908", "creator", CREATOR_NEW, diff=mine)
    assert snapshot_changes(snapshot(1, old), snapshot(2, new)).changes[0].compare_url == (
        "https://kosli.example/compare/mine"
    )
    elsewhere = replace(new, diff=other)
    built_link = snapshot_changes(snapshot(1, old), snapshot(2, elsewhere)).changes[0]
    assert built_link.compare_url.startswith("https://github.com/cyber-dojo/creator/compare/")


def test_rogue_non_compliant_and_compliance_flip_and_no_scaling() -> None:
    web = artifact("web:1", "web", instances=1)
    saver = artifact("saver:2", "saver", reasons=("missing evidence: snyk-scan",))
    bad_saver = replace(saver, compliant=False)
    miner = artifact("docker.io/xmrig/xmrig:latest", "", compliant=False)
    changes = snapshot_changes(
        snapshot(1, web, saver), snapshot(2, replace(web, instances=3), bad_saver, miner)
    )
    kinds = [(c.kind, c.artifact.name) for c in changes.changes]
    # web 1 -> 3 instances is no change: today's Kosli makes no snapshot for a count alone.
    assert kinds == [(Kind.ROGUE, miner.name), (Kind.NON_COMPLIANT, "saver:2")]
    assert changes.changes[1].reasons == ("missing evidence: snyk-scan",)
    assert changes.compliance == (True, False) and changes.risky


def at(*seconds: int) -> tuple[datetime, ...]:
    return tuple(datetime.fromtimestamp(s, UTC) for s in seconds)


def test_a_restart_is_the_same_build_with_its_instances_replaced() -> None:
    runner = artifact("runner:85cac88", "runner-ci", instances=3, starts=at(10, 11, 12))
    # Adjacent snapshots: Kosli's `changed` 3 -> 3 says it, whatever the start times.
    kosli_says = replace(runner, change="changed", was=3)
    adjacent = snapshot_changes(snapshot(1, runner), snapshot(2, kosli_says))
    assert [(c.kind, c.artifact.name) for c in adjacent.changes] == [
        (Kind.RESTARTED, "runner:85cac88")
    ]
    assert not adjacent.risky and adjacent.alerting.is_empty
    # Further apart, the annotation describes only the last step: new start times tell.
    restarted = replace(runner, starts=at(20, 21, 22))
    apart = snapshot_changes(snapshot(1, runner), snapshot(5, restarted))
    assert [c.kind for c in apart.changes] == [Kind.RESTARTED]
    assert snapshot_changes(snapshot(1, runner), snapshot(5, kosli_says)).is_empty
    # 2022's `changed` was a count (1 -> 3): no change at all now.
    scaled = replace(runner, change="changed", was=1)
    assert snapshot_changes(snapshot(1, replace(runner, instances=1)), snapshot(2, scaled)).is_empty


def test_provenance_arrives_for_a_rogue_build() -> None:
    rogue = artifact(f"{ECR}/spooler:dc7dea2", "", compliant=False, starts=at(10))
    traced = replace(
        rogue, flow="spooler-ci", git_commit="dc7dea2" + "0" * 33, compliant=True,
        change="updated-provenance", was=1,
    )  # fmt: skip
    changes = snapshot_changes(snapshot(1, rogue), snapshot(2, traced))
    assert [(c.kind, c.previous, c.artifact) for c in changes.changes] == [
        (Kind.PROVENANCE, rogue, traced)
    ]
    assert changes.follow_ups == changes.changes and not changes.risky
    # Provenance that leaves it failing a policy says why.
    failing = replace(traced, compliant=False, reasons=("missing evidence: snyk-scan",))
    still = snapshot_changes(snapshot(1, rogue), snapshot(2, failing))
    assert [(c.kind, c.reasons) for c in still.changes] == [
        (Kind.PROVENANCE, ("missing evidence: snyk-scan",))
    ]


def test_a_build_turns_compliant_in_place_allow_listed_or_by_late_evidence() -> None:
    busybox = artifact("docker.io/library/busybox:1.36", "", compliant=False)
    allowed = snapshot_changes(snapshot(1, busybox), snapshot(2, replace(busybox, compliant=True)))
    assert [(c.kind, c.allow_listed) for c in allowed.changes] == [(Kind.COMPLIANT, True)]
    payments = artifact("payments:c5a81f7", "payments-ci", compliant=False)
    evidence = snapshot_changes(
        snapshot(1, payments), snapshot(2, replace(payments, compliant=True, change="changed"))
    )
    assert [(c.kind, c.allow_listed) for c in evidence.changes] == [(Kind.COMPLIANT, False)]
    assert evidence.compliance == (False, True)
    # Turning non-compliant in place stays an alert with its reasons, not a restart.
    failing = replace(payments, compliant=True)
    flipped = snapshot_changes(
        snapshot(1, failing),
        snapshot(2, replace(payments, change="changed", was=1, reasons=("no scan",))),
    )
    assert [(c.kind, c.reasons) for c in flipped.changes] == [(Kind.NON_COMPLIANT, ("no scan",))]


def test_kosli_actions_saying_allow_listed_is_taken_at_its_word() -> None:
    payments = artifact("payments:c5a81f7", "payments-ci", compliant=False)
    web = artifact("web:9b0e6d3", "web-ci", compliant=False)
    both = snapshot_changes(
        snapshot(1, payments, web),
        snapshot(2, replace(payments, compliant=True), replace(web, compliant=True)),
    )

    told = told_allow_listed(both, {payments.fingerprint, "f" * 64})

    assert [(c.artifact.name, c.allow_listed, c.allow_list_told) for c in told.changes] == [
        ("payments:c5a81f7", True, True),
        ("web:9b0e6d3", False, False),  # late evidence, as before
    ]
    assert told_allow_listed(both, set()) is both


def test_unrelated_artifacts_stay_started_and_stopped() -> None:
    stopped = artifact(f"{ECR}/creator:31dee35", "creator", CREATOR_OLD)
    started = artifact(f"{ECR}/runner:fa3d117", "runner")
    changes = snapshot_changes(snapshot(1, stopped), snapshot(2, started))
    assert [c.kind for c in changes.changes] == [Kind.STARTED, Kind.STOPPED]


def diff_artifact(name: str, flow: str, commit_url: str = "") -> DiffArtifact:
    return DiffArtifact(
        name, hashlib.sha256(name.encode()).hexdigest(), flow, commit_url, None, 1, 1, 1
    )


def test_env_diff_pairs_versions_across_environments() -> None:
    old = diff_artifact(f"{ECR}/creator:31dee35", "creator", CREATOR_OLD)
    new = diff_artifact(f"{ECR}/creator:b7a5908", "creator", CREATOR_NEW)
    extra = diff_artifact("registry.local/team/nginx:1.27", "")
    diff = SnapshotDiff("aws-beta#190", "aws-prod#177", (old,), (new, extra), ())
    changes = env_diff_changes(diff)
    assert not changes.timeline
    assert [(c.kind, c.artifact.name) for c in changes.changes] == [
        (Kind.REPLACED, new.name),
        (Kind.STARTED, extra.name),
    ]
    assert changes.changes[0].artifact.git_commit == commit_sha(CREATOR_NEW)


def rule(kind: str, resolution: str, satisfied=False, ignored=False, **context) -> dict:
    return {
        "rule": {
            "type": kind,
            "definition": {"name": "trivy-container-scan", "type": "generic"},
        },
        "satisfied": satisfied,
        "ignored": ignored,
        "resolutions": [{"type": resolution, "context": {"flow_name": "payments-ci", **context}}],
    }


def test_policy_failures_are_worded_like_kosli_cli() -> None:
    trail = "9c41e2a" + "0" * 33
    decision = PolicyDecision.from_json(
        {
            "policy_name": "prod-requirements",
            "status": "NON-COMPLIANT",
            "rule_evaluations": [
                rule("attestation", "missing_attestation", trail_name=trail),
                rule("attestation", "missing_attestation", for_control="SEC-1"),
                rule("attestation", "non_compliant_attestation", trail_name="release-7"),
                rule("trail-compliance", "non_compliant_in_trail", trail_name="release-7"),
                rule("attestation", "legacy_flow"),
                rule("attestation", "missing_attestation", satisfied=True),
                rule("attestation", "missing_attestation", ignored=True),
                rule("provenance", "rule_not_applicable", satisfied=None),
                {"rule": "junk", "satisfied": "yes", "unknown": 1},
            ],
        }
    )
    assert failing_rules((decision,)) == (
        "prod-requirements: missing required 'trivy-container-scan' (generic) attestation "
        "in trail payments-ci/9c41e2a",
        "prod-requirements: missing required generic for control 'SEC-1'",
        "prod-requirements: attestation 'trivy-container-scan' is non-compliant in trail "
        "payments-ci/release-7",
        "prod-requirements: artifact is not compliant in trail payments-ci/release-7",
        "prod-requirements: comes from a legacy flow without the new attestations",
        "no provenance (required by prod-requirements)",
    )
    old_style = artifact("saver:2", "saver", reasons=("missing evidence: snyk-scan",))
    assert reasons(old_style) == ("missing evidence: snyk-scan",)
    assert reasons(replace(old_style, decisions=(decision,)))[0].startswith("prod-requirements")


def test_commit_links_and_names() -> None:
    assert commit_sha(CREATOR_NEW) == "b7a590836cf140e17da3f01eadd5eca17d9efc65"
    assert commit_sha("not a url") == ""
    gitlab_old = "https://gitlab.com/group/app/-/commit/1111111aaaa"
    gitlab_new = "https://gitlab.com/group/app/-/commit/2222222bbbb"
    assert built_compare_url(gitlab_old, gitlab_new) == (
        "https://gitlab.com/group/app/-/compare/1111111aaaa...2222222bbbb"
    )
    other = "https://github.com/cyber-dojo/web/commit/6b1b6bc45af830836838db8644d1388726d8f381"
    assert built_compare_url(CREATOR_OLD, other) == ""
    assert built_compare_url(CREATOR_OLD, "") == ""
    assert service_of(f"{ECR}/creator:31dee35", "") == "creator"
    assert service_of("nginx@sha256:abc", "") == "nginx"
    assert service_of("anything", "web") == "web"
    assert short_name(f"{ECR}/languages-start-points:95ab455@sha256:1eea6109") == (
        "languages-start-points:95ab455"
    )
    assert short_name("docker.io/xmrig/xmrig:latest") == "xmrig:latest"


def test_ancestry_decides_rollback_or_replacement_where_the_git_host_answered() -> None:
    """Commit timestamps lie (a cherry-pick, a rebased branch): the history decides."""
    old_sha, new_sha = "3f2a1c9" + "0" * 33, "81bd004" + "0" * 33
    newer_by_clock = built("ledger:81bd004", "ledger-ci", new_sha, 2000)
    older_by_clock = built("ledger:3f2a1c9", "ledger-ci", old_sha, 1000)
    replaced = snapshot_changes(snapshot(1, older_by_clock), snapshot(2, newer_by_clock))
    assert [c.kind for c in replaced.changes] == [Kind.REPLACED]
    repo = Repository("gitlab", "https://gitlab.com", "acme/ledger")
    behind = Comparison(repo, new_sha, old_sha, "ahead", 2, 0, (), 2)
    windows = {(old_sha, new_sha): CommitsWindow(old_sha, new_sha, behind, rolled_back=True)}
    assert [c.kind for c in by_ancestry(replaced, windows).changes] == [Kind.ROLLED_BACK]

    back = snapshot_changes(snapshot(1, newer_by_clock), snapshot(2, older_by_clock))
    assert [c.kind for c in back.changes] == [Kind.ROLLED_BACK]
    ahead = Comparison(repo, new_sha, old_sha, "ahead", 3, 0, (), 3)
    windows = {(new_sha, old_sha): CommitsWindow(new_sha, old_sha, ahead)}
    assert [c.kind for c in by_ancestry(back, windows).changes] == [Kind.REPLACED]
    # Where the host could not say, the timestamps stand.
    unread = {(new_sha, old_sha): CommitsWindow(new_sha, old_sha, failure="rate limit")}
    assert [c.kind for c in by_ancestry(back, unread).changes] == [Kind.ROLLED_BACK]


def after(old: SnapshotArtifact) -> DeploymentDiff:
    """Kosli's deployment_diff of a build that replaced `old` where it runs."""
    return DeploymentDiff("", old.git_commit, old.fingerprint)


def test_kosli_pairs_a_renamed_image_with_the_build_it_replaced() -> None:
    old = built("web:1f4c2a8", "web-ci", "1f4c2a8" + "0" * 33, 2000, started=10)
    renamed = built("storefront:9b0e6d3", "storefront-ci", "9b0e6d3" + "0" * 33, 3000)
    new = replace(renamed, started_at=datetime.fromtimestamp(20, UTC), diff=after(old))
    changes = snapshot_changes(snapshot(1, old), snapshot(2, new))
    assert [(c.kind, c.previous, c.artifact) for c in changes.changes] == [
        (Kind.REPLACED, old, new)
    ]
    # Built from an older commit, the same pairing is a rollback.
    back = replace(new, flows=(replace(new.flows[0], commit=commit("9b0e6d3" + "0" * 33, 1000)),))
    assert [c.kind for c in snapshot_changes(snapshot(1, old), snapshot(2, back)).changes] == [
        Kind.ROLLED_BACK
    ]
    # Without Kosli's word the names say nothing.
    unpaired = snapshot_changes(snapshot(1, old), snapshot(2, replace(new, diff=None)))
    assert [c.kind for c in unpaired.changes] == [Kind.STARTED, Kind.STOPPED]
    # A rolling deploy of the renamed image ends as a replacement, not a stop.
    finished = snapshot_changes(snapshot(1, old, new), snapshot(2, new))
    assert [(c.kind, c.previous, c.rollout_finished) for c in finished.changes] == [
        (Kind.REPLACED, old, True)
    ]


def test_kosli_pairing_wins_where_one_flow_builds_two_images() -> None:
    api_1 = artifact(f"{ECR}/api:1a1a1a1", "platform-ci", started=10)
    worker_1 = artifact(f"{ECR}/worker:1b1b1b1", "platform-ci", started=20)
    worker_2 = artifact(f"{ECR}/worker:2b2b2b2", "platform-ci", started=30, diff=after(worker_1))
    api_2 = artifact(f"{ECR}/api:2a2a2a2", "platform-ci", started=40, diff=after(api_1))
    changes = snapshot_changes(snapshot(1, api_1, worker_1), snapshot(2, worker_2, api_2))
    assert {(c.kind, c.previous.name, c.artifact.name) for c in changes.changes} == {
        (Kind.REPLACED, api_1.name, api_2.name),
        (Kind.REPLACED, worker_1.name, worker_2.name),
    }
    # By flow and start order alone the two services cross.
    by_name = snapshot_changes(
        snapshot(1, api_1, worker_1),
        snapshot(2, replace(worker_2, diff=None), replace(api_2, diff=None)),
    )
    assert {(c.previous.name, c.artifact.name) for c in by_name.changes} == {
        (api_1.name, worker_2.name),
        (worker_1.name, api_2.name),
    }


def test_a_previous_fingerprint_naming_nothing_falls_back_to_the_service() -> None:
    old = artifact(f"{ECR}/creator:31dee35", "creator", CREATOR_OLD, started=10)
    elsewhere = DeploymentDiff("", "f" * 40, "e" * 64)  # a build this snapshot never ran
    new = artifact(f"{ECR}/creator:b7a5908", "creator", CREATOR_NEW, started=20, diff=elsewhere)
    changes = snapshot_changes(snapshot(1, old), snapshot(2, new))
    assert [(c.kind, c.previous, c.artifact) for c in changes.changes] == [
        (Kind.REPLACED, old, new)
    ]
    # Nor does it steal a build another newcomer replaced, or one still running.
    runner = artifact(f"{ECR}/runner:fa3d117", "runner", started=30, diff=after(old))
    both = snapshot_changes(snapshot(1, old), snapshot(2, replace(new, diff=after(old)), runner))
    assert [(c.kind, c.artifact.name) for c in both.changes] == [
        (Kind.REPLACED, new.name),
        (Kind.STARTED, runner.name),
    ]
    rolling = snapshot_changes(snapshot(1, old), snapshot(2, old, runner))
    assert [c.kind for c in rolling.changes] == [Kind.STARTED]

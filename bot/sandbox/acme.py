"""The acme organisation, answered in today's (2026) Kosli shapes: environments prod and staging.

Over 300 lines because it is a dataset: story data, with little logic.

acme runs five services, each built by its own flow (`SERVICE-ci`) from its own repository:
web (github.com/acme/web, also promoted through the `production-promotion` flow, whose commits
are github.com/acme/prod-promotion's), ledger (gitlab.com/acme/ledger, so its links are
GitLab's), payments (github.com/acme/payments), notifier (github.com/acme/notifier) and
languages-start-points (cyber-dojo's public
image, github.com/cyber-dojo/languages-start-points, with the commits and fingerprints of the
real aws-prod#4357 sample). prod (K8S) must pass policies `prod-requirements` (provenance and a
'trivy-container-scan' generic attestation) and `build-process` (provenance); staging (ECS)
only `build-process`.

The story in prod (times UTC, 2026):
- #4350 May 4 06:00  baseline: web 1f4c2a8 (2 instances), ledger 3f2a1c9, payments 7d3e9b1,
                     languages-start-points a97ed05; all compliant.
- #4351 May 4 13:42  rolling deploy: web 9b0e6d3 started, web 1f4c2a8 still running.
- #4352 May 4 13:43  web 1f4c2a8 exited: the rollout finished.
- #4353 May 5 04:53  languages-start-points 95ab455 started and a97ed05 exited in one snapshot,
                     as in the real sample (same times, commits and fingerprints).
- #4354 May 5 09:17  ledger rolled back: 81bd004, built from an older commit, took over from
                     3f2a1c9 (the GitLab compare link runs backwards, 3f2a1c9...81bd004).
- #4355 May 5 13:05  payments c5a81f7 started non-compliant (no trivy-container-scan) and
                     payments 7d3e9b1 exited: prod is non-compliant.
- #4356 May 5 13:31  a rogue docker.io/library/busybox:1.36 started, with no provenance.
- #4357 May 5 13:38  the rogue exited; prod still non-compliant (payments c5a81f7).
- #4358 May 5 14:26  payments e2d4b60 (scan restored) started and c5a81f7 exited: compliant.
- #4359 May 5 14:41  ledger 81bd004's instance replaced by a new one of the same image
                     (Kosli's `changed`, 1 -> 1): a restart, not a deploy; nothing to alert.
- #4360 May 5 15:03  notifier 4e1a9d2 started before its build flow reported it: no provenance
                     (rogue), prod non-compliant.
- #4361 May 5 15:04  notifier-ci reported the image (Kosli's `updated-provenance`): same
                     fingerprint, now with flow, commit and build; compliant.
- #4362 May 5 15:31  a rescan attested payments e2d4b60's trivy-container-scan non-compliant (a
                     new CVE in its base image): the same build turned non-compliant in place.
- #4363 May 5 15:47  a fresh scan, the CVE marked not affected, was attested: the same build is
                     compliant again by late evidence.
staging took web 9b0e6d3 first (#1202 started, #1203 old exited) and none of the later prod
changes, so `diff staging prod` differs in languages-start-points, ledger and payments.

eu-prod and eu-staging run two more services, search and indexer (github.com/acme/search and
/indexer), for a suspects story (`suspects eu-prod at 12:00`, see SNAPSHOTS): the changes
nearest the start are innocent, an earlier hotfix is the culprit.

Example names: `390844186740.dkr.ecr.eu-west-1.amazonaws.com/web:9b0e6d3@sha256:<fingerprint>`,
`registry.gitlab.com/acme/ledger:81bd004@sha256:<fingerprint>`. Fingerprints and the commits
the sample does not give are invented deterministically by hashing.
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from .dataset import (
    ArtifactRecord,
    Attestation,
    CommitInfo,
    Dataset,
    Environment,
    FlowTrail,
    HistoryEvent,
    Policy,
    RunningArtifact,
    Snapshot,
    annotate,
)
from .policies import policy_decision


def utc(text: str) -> float:
    """Epoch seconds of a UTC wall-clock time such as '2026-05-05 14:26:39.771'."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


# A few minutes after prod#4363, the last snapshot.
ACME_NOW = utc("2026-05-05 15:50:00")

ORG = "acme"
PROD, STAGING = "prod", "staging"
EU_PROD, EU_STAGING = "eu-prod", "eu-staging"
ECR = "390844186740.dkr.ecr.eu-west-1.amazonaws.com"
BUILD_MINUTES = 8  # from commit to artifact creation
PROMOTION_FLOW = "production-promotion"
PROMOTION_REPO = "https://github.com/acme/prod-promotion"


@dataclass(frozen=True)
class Service:
    repo: str
    registry: str
    instances: int = 1


SERVICES = {
    "web": Service("https://github.com/acme/web", ECR, instances=2),
    "ledger": Service("https://gitlab.com/acme/ledger", "registry.gitlab.com/acme"),
    "payments": Service("https://github.com/acme/payments", ECR),
    "notifier": Service("https://github.com/acme/notifier", ECR),
    "languages-start-points": Service("https://github.com/cyber-dojo/languages-start-points", ECR),
    # Only in the eu environments (the suspects story below).
    "search": Service("https://github.com/acme/search", ECR),
    "indexer": Service("https://github.com/acme/indexer", ECR),
}
# What every build flow's template asks for.
BUILD_ATTESTATIONS = [
    ("pull-request", "pull_request"),
    ("unit-test", "junit"),
    ("trivy-container-scan", "generic"),
]
PROMOTION_ATTESTATIONS = [("change-approval", "generic")]


def _sha(seed: str, prefix: str = "") -> str:
    """A made-up 40-hex commit, starting with `prefix` when given."""
    return prefix + hashlib.sha1(f"acme/{seed}".encode()).hexdigest()[len(prefix) :]


@dataclass(frozen=True)
class Build:
    """One version of a service: its commit, and which attestations its trail lacks."""

    commit: str
    committed: float
    author: str
    message: str
    missing: tuple[str, ...] = ()
    fingerprint: str = ""  # "" -> hashed from the image name


# Versions are keyed "service@n".
BUILDS: dict[str, Build] = {
    "web@1": Build(
        _sha("web@1", "1f4c2a8"),
        utc("2026-04-28 15:06:11"),
        "Priya Raman <priya.raman@acme.dev>",
        "Show order history as a paged table\n\n"
        "The list loaded every order at once and timed out for our\n"
        "largest merchants. Pages of 50, newest first.",
    ),
    "web@2": Build(
        _sha("web@2", "9b0e6d3"),
        utc("2026-05-04 09:48:37"),
        "Tomasz Nowak <tomasz.nowak@acme.dev>",
        "Fix checkout button staying disabled after a declined card\n\n"
        "The form kept its 'submitting' state when a payment was declined,\n"
        "so customers could not retry without reloading the page.\n\n"
        "Fixes #1187",
    ),
    "ledger@1": Build(
        _sha("ledger@1", "81bd004"),
        utc("2026-04-21 11:32:50"),
        "Aisha Bello <aisha.bello@acme.dev>",
        "Merge branch 'nightly-reconciliation' into 'main'\n\n"
        "Reconcile ledger balances against the bank statement every night\n\n"
        "See merge request acme/ledger!312",
    ),
    "ledger@2": Build(
        _sha("ledger@2", "3f2a1c9"),
        utc("2026-04-30 16:05:19"),
        "Lars Eriksen <lars.eriksen@acme.dev>",
        "Merge branch 'bankers-rounding' into 'main'\n\n"
        "Round currency amounts half-to-even in journal entries\n\n"
        "See merge request acme/ledger!327",
    ),
    "payments@1": Build(
        _sha("payments@1", "7d3e9b1"),
        utc("2026-04-27 10:44:02"),
        "Aisha Bello <aisha.bello@acme.dev>",
        "Add idempotency keys to refund requests\n\n"
        "A retried refund could be paid out twice when the acquirer\n"
        "timed out. The key is the refund id.",
    ),
    "payments@2": Build(
        _sha("payments@2", "c5a81f7"),
        utc("2026-05-05 12:21:03"),
        "Tomasz Nowak <tomasz.nowak@acme.dev>",
        "Move card tokenisation to the vault v2 client\n\n"
        "vault v1 is switched off at the end of the month. Same tokens,\n"
        "new endpoint and retry policy.",
        missing=("trivy-container-scan",),
    ),
    "payments@3": Build(
        _sha("payments@3", "e2d4b60"),
        utc("2026-05-05 13:49:30"),
        "Tomasz Nowak <tomasz.nowak@acme.dev>",
        "Run the trivy scan again before publishing the image\n\n"
        "The release job skipped the container scan when its cache was\n"
        "warm, so c5a81f7 reached prod without one.",
    ),
    "notifier@1": Build(
        _sha("notifier@1", "4e1a9d2"),
        # Built 15:04 (BUILD_MINUTES later): after prod started it, as when a pipeline
        # deploys before it reports its artifact to Kosli.
        utc("2026-05-05 14:56:09"),
        "Priya Raman <priya.raman@acme.dev>",
        "Send the refund receipt by email\n\n"
        "Merchants asked for a copy of every refund their customers get.",
    ),
    "languages-start-points@1": Build(
        "a97ed054e38d484a0015cd658f1d593c03ea2a61",
        1777842087.0,
        "Jon Jagger <jon@kosli.com>",
        "Merge pull request #203 from cyber-dojo/update-python-pytest\n\nUpdate python-pytest",
        fingerprint="8ba20a0fbdc3d234fb0dac28a9865b6ee719906d06229f9f15b2078a3f6f332e",
    ),
    "languages-start-points@2": Build(
        "95ab455dd7301b20c744f50b1cd015e4396aedce",
        1777955898.0,
        "Jon Jagger <jon@kosli.com>",
        "Merge pull request #204 from cyber-dojo/update-csharp-nunit\n\n"
        "Ensure we have the latest csharp-nunit",
        fingerprint="1eea61094353db37c7ef3e9582e63f3427c5e01fe76b8210db985144d10088cf",
    ),
    # The eu suspects story: search 6c2e0b7 is the culprit, the others innocent.
    "search@1": Build(
        _sha("search@1", "2a9f4c1"),
        utc("2026-04-29 10:12:40"),
        "Lars Eriksen <lars.eriksen@acme.dev>",
        "Rank exact SKU matches first",
    ),
    "search@2": Build(
        _sha("search@2", "6c2e0b7"),
        utc("2026-05-05 09:09:51"),
        "Tomasz Nowak <tomasz.nowak@acme.dev>",
        "Hotfix: skip the index warm-up on start\n\n"
        "Pods took four minutes to become ready; serve from a cold index instead.",
    ),
    "indexer@1": Build(
        _sha("indexer@1", "0d7b3e5"),
        utc("2026-04-28 14:02:11"),
        "Aisha Bello <aisha.bello@acme.dev>",
        "Batch catalogue updates every 30 seconds",
    ),
    "indexer@2": Build(
        _sha("indexer@2", "9e41a6f"),
        utc("2026-05-04 08:47:05"),
        "Priya Raman <priya.raman@acme.dev>",
        "Drop discontinued products from the index nightly",
    ),
}


@dataclass(frozen=True)
class Promotion:
    trail: str
    commit: str
    committed: float
    message: str
    author: str = "Maria Costa <maria.costa@acme.dev>"


PROMOTIONS = {
    "web@1": Promotion(
        "promotion-one-42",
        _sha("promotion-one-42"),
        utc("2026-04-29 08:14:02"),
        "Promote web 1f4c2a8 to production\n\nChange CHG-2291 approved by the release board.",
    ),
    "web@2": Promotion(
        "promotion-one-43",
        _sha("promotion-one-43"),
        utc("2026-05-04 12:58:40"),
        "Promote web 9b0e6d3 to production\n\nChange CHG-2304: checkout retry fix (#1187).",
    ),
}

ROGUE = "rogue"  # version key of the busybox nobody built
ROGUE_IMAGE = "docker.io/library/busybox:1.36"
ROGUE_FINGERPRINT = hashlib.sha256(ROGUE_IMAGE.encode()).hexdigest()
ROGUE_NAME = f"{ROGUE_IMAGE}@sha256:{ROGUE_FINGERPRINT}"

POLICIES = [
    Policy(
        "prod-requirements",
        version=3,
        id="5b0c7e21-4f9a-4d38-9e61-0a2f7c13",
        attestations=[("trivy-container-scan", "generic")],
    ),
    Policy("build-process", version=2, id="c81d3f40-2b6e-4a57-8d09-e4f1b6a2"),
]
ENV_POLICIES = {
    PROD: ["prod-requirements", "build-process"],
    STAGING: ["build-process"],
    EU_PROD: ["build-process"],
    EU_STAGING: ["build-process"],
}

# When each version started in each environment.
STARTED: dict[str, dict[str, float]] = {
    PROD: {
        "payments@1": utc("2026-04-27 16:40:02"),
        "web@1": utc("2026-04-29 08:31:27"),
        "ledger@2": utc("2026-05-01 09:12:45"),
        "languages-start-points@1": 1777842906.0,
        "web@2": utc("2026-05-04 13:41:57"),
        "languages-start-points@2": 1777956787.0,
        "ledger@1": utc("2026-05-05 09:17:02"),
        "payments@2": utc("2026-05-05 13:04:40"),
        ROGUE: utc("2026-05-05 13:30:51"),
        "payments@3": utc("2026-05-05 14:25:58"),
        "notifier@1": utc("2026-05-05 15:03:02"),
    },
    STAGING: {
        "payments@1": utc("2026-04-27 12:11:48"),
        "web@1": utc("2026-04-28 16:20:10"),
        "ledger@2": utc("2026-04-30 17:02:33"),
        "languages-start-points@1": utc("2026-05-03 21:12:30"),
        "web@2": utc("2026-05-04 11:01:44"),
    },
    EU_STAGING: {
        "search@1": utc("2026-04-29 11:03:26"),
        "indexer@1": utc("2026-04-28 15:10:02"),
        "indexer@2": utc("2026-05-04 09:04:37"),
    },
    EU_PROD: {
        "search@1": utc("2026-04-29 14:30:12"),
        "indexer@1": utc("2026-04-28 16:41:55"),
        "search@2": utc("2026-05-05 09:31:18"),
        "indexer@2": utc("2026-05-05 11:19:40"),
    },
}
EU_BASELINE = ["search@1", "indexer@1"]
EU = (EU_PROD, EU_STAGING)
BASELINE = ["web@1", "ledger@2", "payments@1", "languages-start-points@1"]

# (index, timestamp, versions started, versions exited)
SNAPSHOTS: dict[str, list[tuple[int, float, list[str], list[str]]]] = {
    PROD: [
        (4350, utc("2026-05-04 06:00:12.318"), [], []),
        (4351, utc("2026-05-04 13:42:29.604"), ["web@2"], []),
        (4352, utc("2026-05-04 13:43:30.117"), [], ["web@1"]),
        (4353, 1777956838.5302956, ["languages-start-points@2"], ["languages-start-points@1"]),
        (4354, utc("2026-05-05 09:17:44.880"), ["ledger@1"], ["ledger@2"]),
        (4355, utc("2026-05-05 13:05:21.447"), ["payments@2"], ["payments@1"]),
        (4356, utc("2026-05-05 13:31:08.932"), [ROGUE], []),
        (4357, utc("2026-05-05 13:38:10.265"), [], [ROGUE]),
        (4358, utc("2026-05-05 14:26:39.771"), ["payments@3"], ["payments@2"]),
        (4359, utc("2026-05-05 14:41:07.204"), [], []),
        (4360, utc("2026-05-05 15:03:22.615"), ["notifier@1"], []),
        (4361, utc("2026-05-05 15:04:25.009"), [], []),
        (4362, utc("2026-05-05 15:31:40.552"), [], []),
        (4363, utc("2026-05-05 15:47:12.930"), [], []),
    ],
    STAGING: [
        (1201, utc("2026-05-04 06:00:40.502"), [], []),
        (1202, utc("2026-05-04 11:02:15.338"), ["web@2"], []),
        (1203, utc("2026-05-04 11:03:15.904"), [], ["web@1"]),
    ],
    # The suspects story (`suspects eu-prod at 12:00`): the nearest changes are innocent, a
    # restart (#304) and indexer 9e41a6f, a day in eu-staging first (#303); search 6c2e0b7,
    # a hotfix that reached eu-prod 21 minutes after its commit and never ran in eu-staging
    # (#302), is the culprit.
    EU_STAGING: [
        (510, utc("2026-05-04 06:00:31.118"), [], []),
        (511, utc("2026-05-04 09:05:10.402"), ["indexer@2"], ["indexer@1"]),
    ],
    EU_PROD: [
        (301, utc("2026-05-04 06:00:19.640"), [], []),
        (302, utc("2026-05-05 09:31:50.227"), ["search@2"], ["search@1"]),
        (303, utc("2026-05-05 11:20:14.881"), ["indexer@2"], ["indexer@1"]),
        (304, utc("2026-05-05 11:52:36.509"), [], []),
    ],
}
# What happens to a running build in place, applied after a snapshot's starts and exits:
# "restarted" (new instances, same image), "untraced" (no flow reports it yet), "traced"
# (a flow now does), "rescan-failed" (its scan attested non-compliant), "rescan-passed".
IN_PLACE: dict[str, dict[int, list[tuple[str, str]]]] = {
    PROD: {
        4359: [("ledger@1", "restarted")],
        4360: [("notifier@1", "untraced")],
        4361: [("notifier@1", "traced")],
        4362: [("payments@3", "rescan-failed")],
        4363: [("payments@3", "rescan-passed")],
    },
    EU_PROD: {304: [("search@2", "restarted")]},
}
ENVIRONMENTS = {
    PROD: ("K8S", "acme production: EKS cluster prod-eu, eu-west-1"),
    STAGING: ("ECS", "acme staging on AWS ECS, eu-west-1"),
    EU_PROD: ("K8S", "acme search for the EU: EKS cluster search-eu, eu-central-1"),
    EU_STAGING: ("ECS", "acme search staging on AWS ECS, eu-central-1"),
}


def _commit_url(repo: str, sha: str) -> str:
    return (
        f"{repo}/-/commit/{sha}"
        if repo.startswith("https://gitlab.com/")
        else f"{repo}/commit/{sha}"
    )


def _image(key: str) -> tuple[str, str]:
    """(name with digest, fingerprint) of a version's image."""
    service, build = key.split("@")[0], BUILDS[key]
    image = f"{SERVICES[service].registry}/{service}:{build.commit[:7]}"
    fingerprint = build.fingerprint or hashlib.sha256(image.encode()).hexdigest()
    return f"{image}@sha256:{fingerprint}", fingerprint


def _flows(key: str) -> list[FlowTrail]:
    """The flows a version is in: its build flow first, then any promotion."""
    if key == ROGUE:
        return []
    service, build = key.split("@")[0], BUILDS[key]
    repo = SERVICES[service].repo
    commit = CommitInfo(
        build.commit, build.message, build.author, build.committed, _commit_url(repo, build.commit)
    )
    attestations = [
        Attestation(name, kind, "MISSING" if name in build.missing else "COMPLETE")
        for name, kind in BUILD_ATTESTATIONS
    ]
    flows = [FlowTrail(f"{service}-ci", build.commit, service, commit, attestations)]
    if key in PROMOTIONS:
        p = PROMOTIONS[key]
        info = CommitInfo(
            p.commit, p.message, p.author, p.committed, _commit_url(PROMOTION_REPO, p.commit)
        )
        approvals = [Attestation(name, kind) for name, kind in PROMOTION_ATTESTATIONS]
        flows.append(FlowTrail(PROMOTION_FLOW, p.trail, service, info, approvals, build=False))
    return flows


def _running(env: str, key: str, seen: list[FlowTrail] | None = None) -> RunningArtifact:
    """`seen`: the flows this snapshot sees, where they differ from the artifact's record."""
    flows = _flows(key) if seen is None else seen
    policies = [p for p in POLICIES if p.name in ENV_POLICIES[env]]
    # An artifact is compliant in an environment when every policy there passes it.
    compliant = all(policy_decision(p, flows)["status"] == "COMPLIANT" for p in policies)
    started = STARTED[env][key]
    if key == ROGUE:
        return RunningArtifact(ROGUE_NAME, ROGUE_FINGERPRINT, "", None, None, compliant, 1, started)
    service = key.split("@")[0]
    name, fingerprint = _image(key)
    build = flows[0] if flows else None
    return RunningArtifact(
        name=name,
        fingerprint=fingerprint,
        flow_name=build.flow_name if build else "",
        git_commit=build.commit.sha1 if build else None,
        commit_url=build.commit.url if build else None,
        compliant=compliant,
        instances=SERVICES[service].instances if env == PROD else 1,
        started_at=started,
        flows=seen,
    )


def _in_place(env: str, key: str, what: str, at: float, now: RunningArtifact) -> RunningArtifact:
    """The build `key` as it runs after `what` happened to it at `at` (see IN_PLACE)."""
    if what == "restarted":
        return replace(now, started_at=at - 18)
    if what == "untraced":
        return _running(env, key, seen=[])
    if what == "rescan-failed":
        failed = copy.deepcopy(_flows(key))
        for attestation in failed[0].attestations:
            if attestation.name == "trivy-container-scan":
                attestation.status = "NON-COMPLIANT"
        return replace(_running(env, key, seen=failed), started_at=now.started_at)
    # "traced", "rescan-passed": as its record says, still running since it started.
    return replace(_running(env, key), started_at=now.started_at)


def _environment(name: str) -> Environment:
    kind, description = ENVIRONMENTS[name]
    env = Environment(
        name=name,
        type=kind,
        description=description,
        last_modified_at=utc("2026-03-02 10:00:00"),
        tags={"tier": "production" if name in (PROD, EU_PROD) else "staging"},
        policies=list(ENV_POLICIES[name]),
    )
    running = {key: _running(name, key) for key in (EU_BASELINE if name in EU else BASELINE)}
    for index, at, started, exited in SNAPSHOTS[name]:
        previous = list(running.values())
        for key in exited:
            del running[key]
        for key in started:
            running[key] = _running(name, key)
        for key, what in IN_PLACE.get(name, {}).get(index, []):
            running[key] = _in_place(name, key, what, at, running[key])
        entries = annotate(previous, list(running.values()), "2026")
        env.snapshots.append(
            Snapshot(index, at, entries, "acme-k8s-reporter", "acme environment reporter")
        )
    return env


def _record(key: str) -> ArtifactRecord:
    if key == ROGUE:
        return ArtifactRecord.without_provenance(ROGUE_NAME, ROGUE_FINGERPRINT)
    service, build = key.split("@")[0], BUILDS[key]
    repo = SERVICES[service].repo
    name, fingerprint = _image(key)
    flows = _flows(key)
    created = build.committed + BUILD_MINUTES * 60
    run = 14_000_000_000 + int(build.commit[:6], 16)  # a stable CI run/job id
    on_gitlab = repo.startswith("https://gitlab.com/")
    return ArtifactRecord(
        filename=name,
        flow_name=flows[0].flow_name,
        fingerprint=fingerprint,
        created_at=created,
        git_commit=build.commit,
        commit_url=flows[0].commit.url,
        build_url=f"{repo}/-/jobs/{run}" if on_gitlab else f"{repo}/actions/runs/{run}",
        html_url=f"https://app.kosli.com/{ORG}/flows/{flows[0].flow_name}/artifacts/{fingerprint}",
        state="COMPLIANT" if all(f.compliant for f in flows) else "NON-COMPLIANT",
        history=[HistoryEvent("Artifact created", created)],
        trail_name=build.commit,  # each build trail is named after its commit
        flows=flows,
    )


# Logical environments group physical ones and have no snapshots of their own (as cyber-dojo's
# `production` groups aws-prod and its drift detection): acme's `production` is prod.
LOGICAL = {"production": ("acme production: everything customers use", [PROD])}


def _logical(name: str) -> Environment:
    description, included = LOGICAL[name]
    modified = utc("2026-03-02 10:05:00")
    return Environment(name, "logical", description, modified, included=list(included))


def acme() -> Dataset:
    """A fresh copy of the bundled acme dataset (callers may mutate it)."""
    return Dataset(
        environments=[
            _environment(PROD),
            _environment(STAGING),
            *map(_environment, EU),
            *map(_logical, LOGICAL),
        ],
        artifacts=[_record(key) for key in [*BUILDS, ROGUE]],
        era="2026",
        policies=copy.deepcopy(POLICIES),
    )

"""The cyber-dojo organisation as the seed tutorial tells it (aws-beta and aws-prod, Sep 2022).

Over 300 lines because it is a dataset: story data, with little logic.

The story: services roll out one at a time (in snapshot N the new version starts next to the old
one, in N+1 the old one exits). In aws-prod, creator 31dee35 replaced an older creator at
#174/#175, then creator b7a5908 started at #176 and 31dee35 exited at #177: the incident. aws-beta
took web c3ada4d at #188/#189 (so beta#189 and prod#169 differ only in web), and its latest
snapshot #190 runs a rogue crypto miner and a saver missing evidence. Because beta#189 must equal
prod#169 apart from web and lasts until #190, beta never gets prod's Sep 6 runner, dashboard and
creator rollouts (#170-#177): they went to prod without passing through this beta history.

Times are CEST wall-clock strings (as the tutorial prints them) with fractions chosen so that the
seed's DURATION column comes out (59.4 s reads "59 seconds", 60.4 s "about a minute").
Commits and fingerprints the seed does not print are invented deterministically by hashing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from .dataset import (
    ArtifactRecord,
    Dataset,
    Environment,
    HistoryEvent,
    RunningArtifact,
    Snapshot,
    annotate,
)

CEST = timezone(timedelta(hours=2))


def cest(text: str) -> float:
    """Epoch seconds of a CEST wall-clock time such as '2022-09-06 16:53:28.093'."""
    return datetime.fromisoformat(text).replace(tzinfo=CEST).timestamp()


# Around when the tutorial's `kosli env log aws-prod` ran: #177 is "3 minutes" old.
TUTORIAL_NOW = cest("2022-09-06 16:57:00")

BETA, PROD = "aws-beta", "aws-prod"
REGISTRY = {
    BETA: "244531986313.dkr.ecr.eu-central-1.amazonaws.com",
    PROD: "274425519734.dkr.ecr.eu-central-1.amazonaws.com",
}
SERVICES = (
    "creator",
    "custom-start-points",
    "dashboard",
    "differ",
    "exercises-start-points",
    "languages-start-points",
    "nginx",
    "runner",
    "saver",
    "web",
)
INSTANCES = {"runner": 2}  # every other service runs one task

ROGUE = "rogue"  # version key of the crypto miner nobody deployed
ROGUE_NAME = "docker.io/xmrig/xmrig:latest"
ROGUE_FINGERPRINT = hashlib.sha256(ROGUE_NAME.encode()).hexdigest()

# Versions are keyed "service@n"; @1 ran before the first snapshot we keep.
SEEDED = {  # exact values printed by the seed tutorial: (commit, fingerprint)
    "creator@2": (
        "31dee357844ab2f58a40d16f945dc5e35dcd6bc0",
        "5d1c926530213dadd5c9fcbf59c8822da56e32a04b0f9c774d7cdde3cf6ba66d",
    ),
    "creator@3": (
        "b7a590836cf140e17da3f01eadd5eca17d9efc65",
        "860ad172ace5aee03e6a1e3492a88b3315ecac2a899d4f159f43ca7314290d5a",
    ),
    "web@2": (
        "6b1b6bc45af830836838db8644d1388726d8f381",
        "d4ab88ce200e88a07eda3c33fb18d7051a586e6b8e900fcea1063a13c4506446",
    ),
    "web@3": (
        "c3ada4dbd6bb9a66c27f24cec4b5a4c25cf9ce2b",
        "480735698cb9e468bb16c4265fedb7507640d236b3ab53cf2e3ec09d3bd72063",
    ),
}
REASONS = {"saver@3": ["missing evidence: snyk-scan"]}  # anything listed is non-compliant

# When each version started in each environment. A deployment is reported 58 s before the
# start and the artifact was created 73 s before its first deployment (as web c3ada4d was).
STARTED: dict[str, dict[str, str]] = {
    BETA: {
        "creator@1": "2022-08-24 09:12:31",
        "custom-start-points@1": "2022-08-15 14:03:55",
        "dashboard@1": "2022-08-19 11:40:07",
        "differ@1": "2022-08-22 16:21:44",
        "exercises-start-points@1": "2022-08-28 03:02:19",
        "languages-start-points@1": "2022-08-28 03:05:02",
        "nginx@1": "2022-08-11 10:17:36",
        "runner@1": "2022-08-30 13:51:12",
        "saver@1": "2022-08-26 08:33:50",
        "web@1": "2022-08-31 17:05:26",
        "web@2": "2022-09-02 05:24:09",
        "saver@2": "2022-09-02 19:19:13",
        "languages-start-points@2": "2022-09-04 03:03:12",
        "differ@2": "2022-09-05 07:52:06",
        "web@3": "2022-09-06 10:28:40",
        "saver@3": "2022-09-06 16:54:05",
        ROGUE: "2022-09-06 16:54:12",
    },
    PROD: {
        "creator@1": "2022-08-24 09:19:02",
        "custom-start-points@1": "2022-08-15 14:10:21",
        "dashboard@1": "2022-08-19 11:46:48",
        "differ@1": "2022-08-22 16:28:10",
        "exercises-start-points@1": "2022-08-28 03:09:37",
        "languages-start-points@1": "2022-08-28 03:12:26",
        "nginx@1": "2022-08-11 10:24:03",
        "runner@1": "2022-08-30 13:57:45",
        "saver@1": "2022-08-26 08:40:29",
        "web@1": "2022-08-31 17:12:08",
        "web@2": "2022-09-02 05:32:00",
        "saver@2": "2022-09-02 19:26:51",
        "languages-start-points@2": "2022-09-04 03:09:58",
        "differ@2": "2022-09-05 07:58:47",
        "runner@2": "2022-09-06 15:26:53",
        "dashboard@2": "2022-09-06 15:51:49",
        "creator@2": "2022-09-06 16:41:44",
        "creator@3": "2022-09-06 16:52:03",
    },
}

# What ran just before the first kept snapshot (only used to annotate that snapshot).
BASELINE = {
    BETA: [f"{s}@1" for s in SERVICES],
    PROD: [f"{s}@1" for s in SERVICES] + ["web@2"],
}

# (index, from (CEST), versions started, versions exited)
SNAPSHOTS: dict[str, list[tuple[int, str, list[str], list[str]]]] = {
    BETA: [
        (180, "2022-09-02 05:24:51.204", ["web@2"], []),
        (181, "2022-09-02 05:25:51.018", [], ["web@1"]),
        (182, "2022-09-02 19:19:50.733", ["saver@2"], []),
        (183, "2022-09-02 19:20:50.516", [], ["saver@1"]),
        (184, "2022-09-04 03:03:50.372", ["languages-start-points@2"], []),
        (185, "2022-09-04 03:04:50.941", [], ["languages-start-points@1"]),
        (186, "2022-09-05 07:52:50.615", ["differ@2"], []),
        (187, "2022-09-05 07:53:50.287", [], ["differ@1"]),
        (188, "2022-09-06 10:29:22.418", ["web@3"], []),
        (189, "2022-09-06 10:30:22.064", [], ["web@2"]),
        (190, "2022-09-06 16:54:47.316", ["saver@3", ROGUE], []),
    ],
    PROD: [
        (163, "2022-09-02 05:37:28.533", [], ["web@1"]),
        (164, "2022-09-02 19:27:28.958", ["saver@2"], []),
        (165, "2022-09-02 19:28:28.417", [], ["saver@1"]),
        (166, "2022-09-04 03:10:28.881", ["languages-start-points@2"], []),
        (167, "2022-09-04 03:11:28.342", [], ["languages-start-points@1"]),
        (168, "2022-09-05 07:59:28.309", ["differ@2"], []),
        (169, "2022-09-05 08:00:28.775", [], ["differ@1"]),
        (170, "2022-09-06 15:27:28.152", ["runner@2"], []),
        (171, "2022-09-06 15:28:27.486", [], ["runner@1"]),
        (172, "2022-09-06 15:52:28.204", ["dashboard@2"], []),
        (173, "2022-09-06 15:53:28.618", [], ["dashboard@1"]),
        (174, "2022-09-06 16:42:28.731", ["creator@2"], []),
        (175, "2022-09-06 16:43:28.127", [], ["creator@1"]),
        (176, "2022-09-06 16:52:28.689", ["creator@3"], []),
        (177, "2022-09-06 16:53:28.093", [], ["creator@2"]),
    ],
}

DESCRIPTIONS = {
    BETA: "cyber-dojo staging (https://beta.cyber-dojo.org) on AWS ECS, eu-central-1",
    PROD: "cyber-dojo production (https://cyber-dojo.org) on AWS ECS, eu-central-1",
}
DEPLOYMENT_BASE = {  # each flow numbers its deployments; web's c3ada4d to beta must be #50
    "creator": 61,
    "custom-start-points": 23,
    "dashboard": 38,
    "differ": 44,
    "exercises-start-points": 29,
    "languages-start-points": 31,
    "nginx": 17,
    "runner": 72,
    "saver": 55,
    "web": 46,
}
DEPLOY_LEAD = 58.0  # seconds from deployment report to the task starting
CREATE_LEAD = 73.0  # seconds from artifact creation to its first deployment
WEB_C3ADA4D_RUN = 2998616599  # the seed's build URL; other run ids grow ~62/s from it


@dataclass(frozen=True)
class Version:
    service: str
    commit: str
    fingerprint: str

    @property
    def short(self) -> str:
        return self.commit[:7]


def version(key: str) -> Version:
    service = key.split("@")[0]
    if key in SEEDED:
        commit, fingerprint = SEEDED[key]
    else:
        commit = hashlib.sha1(f"cyber-dojo/{service}/{key}".encode()).hexdigest()
        image = f"cyberdojo/{service}:{commit[:7]}"
        fingerprint = hashlib.sha256(image.encode()).hexdigest()
    return Version(service, commit, fingerprint)


Deployments = dict[tuple[str, str], tuple[int, float]]


def _deployments() -> Deployments:
    """(env, version key) -> (deployment number, when reported), numbered per flow in time order."""
    events = sorted(
        (cest(at) - DEPLOY_LEAD, env, key)
        for env, starts in STARTED.items()
        for key, at in starts.items()
        if key != ROGUE
    )
    numbers = dict(DEPLOYMENT_BASE)
    result = {}
    for when, env, key in events:
        service = version(key).service
        result[(env, key)] = (numbers[service], when)
        numbers[service] += 1
    return result


def _running(env: str, key: str, deployments: Deployments) -> RunningArtifact:
    started = cest(STARTED[env][key])
    if key == ROGUE:
        return RunningArtifact(
            name=ROGUE_NAME,
            fingerprint=ROGUE_FINGERPRINT,
            flow_name="",
            git_commit=None,
            commit_url=None,
            compliant=False,
            instances=1,
            started_at=started,
        )
    v = version(key)
    return RunningArtifact(
        name=f"{REGISTRY[env]}/{v.service}:{v.short}",
        fingerprint=v.fingerprint,
        flow_name=v.service,
        git_commit=v.commit,
        commit_url=f"https://github.com/cyber-dojo/{v.service}/commit/{v.commit}",
        compliant=key not in REASONS,
        instances=INSTANCES.get(v.service, 1),
        started_at=started,
        deployments=[deployments[(env, key)][0]],
        reasons_for_incompliance=list(REASONS.get(key, [])),
    )


def _environment(name: str, deployments: Deployments) -> Environment:
    env = Environment(
        name=name,
        type="ECS",
        description=DESCRIPTIONS[name],
        last_modified_at=cest("2022-08-01 12:00:00"),
        tags={"tier": "production" if name == PROD else "staging"},
    )
    running = {key: _running(name, key, deployments) for key in BASELINE[name]}
    for index, at, started, exited in SNAPSHOTS[name]:
        previous = list(running.values())
        for key in exited:
            del running[key]
        for key in started:
            running[key] = _running(name, key, deployments)
        entries = annotate(previous, list(running.values()))
        env.snapshots.append(Snapshot(index, cest(at), entries))
    return env


def _record(key: str, deployments: Deployments) -> ArtifactRecord:
    if key == ROGUE:
        return ArtifactRecord.without_provenance(ROGUE_NAME, ROGUE_FINGERPRINT)
    v = version(key)
    deployed = sorted((when, env, n) for (env, k), (n, when) in deployments.items() if k == key)
    created = deployed[0][0] - CREATE_LEAD
    run = WEB_C3ADA4D_RUN + round((created - cest("2022-09-06 10:26:29")) * 62)
    history = [HistoryEvent("Artifact created", created)] + [
        HistoryEvent(f"Deployment #{n} to {env} environment", when) for when, env, n in deployed
    ]
    return ArtifactRecord(
        filename=f"cyberdojo/{v.service}:{v.short}",
        flow_name=v.service,
        fingerprint=v.fingerprint,
        created_at=created,
        git_commit=v.commit,
        commit_url=f"https://github.com/cyber-dojo/{v.service}/commit/{v.commit}",
        build_url=f"https://github.com/cyber-dojo/{v.service}/actions/runs/{run}",
        html_url=f"https://app.kosli.com/cyber-dojo/flows/{v.service}/artifacts/{v.fingerprint}",
        state="NON-COMPLIANT" if key in REASONS else "COMPLIANT",
        history=history,
        trail_name=v.commit,  # cyber-dojo names each trail after its commit
    )


def cyber_dojo() -> Dataset:
    """A fresh copy of the bundled cyber-dojo dataset (callers may mutate it)."""
    deployments = _deployments()
    keys = sorted({key for starts in STARTED.values() for key in starts})
    return Dataset(
        environments=[_environment(BETA, deployments), _environment(PROD, deployments)],
        artifacts=[_record(key, deployments) for key in keys],
    )

"""Additions to the seed's story that several tests tell."""

from __future__ import annotations

import hashlib
from dataclasses import replace

from bot.sandbox import KosliSandbox, RunningArtifact
from testkit.seed import SEED_NOW

TEST_SERVICE = "registry.example/crashtest"

# A crypto-miner nobody built: no flow, no commit, no evidence.
MINER = RunningArtifact(
    name="docker.io/xmrig/xmrig:latest",
    fingerprint="f" * 64,
    flow_name="",
    git_commit=None,
    commit_url=None,
    compliant=False,
    instances=1,
    started_at=SEED_NOW - 90,
)


def report_with(
    kosli: KosliSandbox, *added: RunningArtifact, env: str = "aws-prod", at: float = SEED_NOW - 60
) -> int:
    """The environment reports a new snapshot: what ran in its last one, plus `added`."""
    return kosli.add_snapshot(env, at, [*running_now(kosli, env), *added])


def running_now(kosli: KosliSandbox, env: str) -> list[RunningArtifact]:
    """What runs in `env`'s latest snapshot."""
    environment = kosli.dataset.environment(env)
    assert environment is not None
    return environment.snapshots[-1].running()


# What the watcher posts for aws-prod #171-#177: rolling deploys start, then finish replacing.
SEED_ALERTS = [
    f"aws-prod#{i}: 1 {'started' if i % 2 == 0 else 'replaced'}" for i in range(171, 178)
]


def report_new_build(kosli: KosliSandbox, env: str, number: int) -> int:
    """`env` reports a snapshot in which build `number` of a test service (no provenance)
    replaced the one before: one change a snapshot, for as many snapshots as wanted."""
    running = [a for a in running_now(kosli, env) if not a.name.startswith(TEST_SERVICE)]
    build = RunningArtifact(
        name=f"{TEST_SERVICE}:{number}",
        fingerprint=hashlib.sha256(f"{env}{number}".encode()).hexdigest(),
        flow_name="",
        git_commit=None,
        commit_url=None,
        compliant=False,
        instances=1,
        started_at=SEED_NOW - 100,
    )
    return kosli.add_snapshot(env, SEED_NOW - 100 + number * 0.05, [*running, build])


def judge_again(kosli: KosliSandbox, env: str, index: int, service: str, compliant: bool) -> None:
    """Kosli evaluates `env#index` again: `service` is (non-)compliant in it now."""
    environment = kosli.dataset.environment(env)
    assert environment is not None
    (snapshot,) = [s for s in environment.snapshots if s.index == index]
    for entry in snapshot.entries:
        if service in entry.artifact.name and entry.running:
            reasons = [] if compliant else ["artifact has no snyk-scan evidence"]
            entry.artifact = replace(
                entry.artifact, compliant=compliant, reasons_for_incompliance=reasons
            )

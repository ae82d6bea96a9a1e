"""Additions to the seed's story that several tests tell."""

from __future__ import annotations

from bot.sandbox import KosliSandbox, RunningArtifact
from tests.conftest import SEED_NOW

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
    environment = kosli.dataset.environment(env)
    assert environment is not None
    running = [e.artifact for e in environment.snapshots[-1].entries if e.running]
    return kosli.add_snapshot(env, at, [*running, *added])


# What the watcher posts for aws-prod #171-#177: rolling deploys start, then finish replacing.
SEED_ALERTS = [
    f"aws-prod#{i}: 1 {'started' if i % 2 == 0 else 'replaced'}" for i in range(171, 178)
]

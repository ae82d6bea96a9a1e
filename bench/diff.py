"""How long the one change model takes to diff two snapshots of 5,000 artifacts.

Two snapshots: 5,000 running artifacts, of which 50 are replaced by new builds, 10 stop and
10 start. Prints the time of `snapshot_changes` beside a floor measured in the same run (the set
difference of the two snapshots' fingerprints, which any diff must at least do).

    .venv/bin/python -m bench.diff [--artifacts 5000] [--runs 50]
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make `bot` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.domain.changes import snapshot_changes  # noqa: E402
from bot.kosli.models import Snapshot, SnapshotArtifact  # noqa: E402

TARGET_MS = 10.0
AT = datetime(2026, 11, 26, tzinfo=UTC)


def artifact(service: int, build: int) -> SnapshotArtifact:
    sha = hashlib.sha1(f"{service}/{build}".encode()).hexdigest()
    return SnapshotArtifact(
        name=f"registry.example/service-{service}:{sha[:7]}",
        fingerprint=hashlib.sha256(f"{service}/{build}".encode()).hexdigest(),
        flow=f"service-{service}",
        git_commit=sha,
        commit_url=f"https://github.com/acme/service-{service}/commit/{sha}",
        compliant=True,
        started_at=AT,
        instances=1,
        change="unchanged",
    )


def snapshots(count: int) -> tuple[Snapshot, Snapshot]:
    before = [artifact(s, 1) for s in range(count)]
    after = [artifact(s, 2) if s < 50 else artifact(s, 1) for s in range(10, count + 10)]
    return (
        Snapshot("prod", 1, AT, True, tuple(before)),
        Snapshot("prod", 2, AT, True, tuple(after)),
    )


def timed(run: object, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        run()  # type: ignore[operator]
        times.append((time.perf_counter() - started) * 1000)
    return sorted(times)


def measure(count: int, runs: int) -> tuple[float, float, float, int]:
    """(median ms, p99 ms, floor median ms, changes found)."""
    before, after = snapshots(count)
    changes = snapshot_changes(before, after)
    # Fresh snapshot objects each run, as a real diff gets: nothing cached from the last one.
    diff = timed(lambda: snapshot_changes(replace(before), replace(after)), runs)

    def floor() -> None:
        old = {a.fingerprint for a in before.artifacts}
        new = {a.fingerprint for a in after.artifacts}
        _ = (old - new, new - old)

    base = timed(floor, runs)
    p99 = diff[min(len(diff) - 1, int(len(diff) * 0.99))]
    return statistics.median(diff), p99, statistics.median(base), len(changes.changes)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.diff", description=__doc__.split("\n")[0])
    parser.add_argument("--artifacts", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args(argv)
    median, p99, floor, found = measure(args.artifacts, args.runs)
    print(f"diff of two {args.artifacts}-artifact snapshots ({found} changes), {args.runs} runs")
    print(
        f"snapshot_changes: median {median:.2f} ms, p99 {p99:.2f} ms (target <= {TARGET_MS:g} ms)"
    )
    print(f"floor (set difference of fingerprints): median {floor:.2f} ms")


if __name__ == "__main__":
    main()

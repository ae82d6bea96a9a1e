"""`python -m bench`: every benchmark, each in its own process, figures beside their targets.

    .venv/bin/python -m bench [--quick] [NAME ...]

--quick runs smaller loads (for a smoke test); the figures in docs/performance.md come from
a full run. NAMEs pick benches by module (`python -m bench day` replays the simulated day
alone; its figures are in docs/reliability.md).
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHES = [
    ("diff of two 5,000-artifact snapshots", ["bench.diff"], ["bench.diff", "--runs", "10"]),
    (
        "ack latency (50 concurrent; Kosli answering, at 2.5 s, flooded, database locked) "
        "and command overhead over Kosli's time",
        ["bench.ack_latency"],
        ["bench.ack_latency", "--concurrency", "10", "--rounds", "2", "--repeat", "1"],
    ),
    (
        "webhook to alert, Kosli at 50 ms a request: one at a time, and 100 at once",
        ["bench.webhook"],
        ["bench.webhook", "--rounds", "5", "--envs", "100", "--burst", "20"],
    ),
    (
        "watcher cycles over 1,000 environments, 100 of them changing: each alert from its poll",
        ["bench.watch_poll", "--envs", "1000", "--changing", "100"],
        ["bench.watch_poll", "--envs", "100", "--changing", "10"],
    ),
    (
        "incident thread over 100 snapshots of ~400 kB, Kosli at 200 ms: with and without "
        "Kosli's event log",
        ["bench.incident_window"],
        ["bench.incident_window", "--snapshots", "20", "--artifacts", "20"],
    ),
    (
        "watcher cycles over 1,000 environments, all of them changing: bot CPU an environment",
        ["bench.watch_poll", "--envs", "1000"],
        ["bench.watch_poll", "--envs", "100"],
    ),
    (
        "memory soak: 50,000 mixed requests in bursts (commands, buttons, webhooks, junk, "
        "foreign teams), RSS after a full collection",
        ["bench.memory"],
        ["bench.memory", "--requests", "5000", "--every", "1000"],
    ),
    (
        "a simulated day: three replicas on PostgreSQL and one on SQLite, killed and "
        "restarted, with Kosli, Slack, PostgreSQL and git host faults on a schedule",
        ["bench.day"],
        [
            "bench.day",
            "--start",
            "6",
            "--hours",
            "18",
            "--speed",
            "900",
            "--poll",
            "0.5",
            "--kill-every",
            "60",
            "150",
        ],  # fmt: skip
    ),
]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller loads, for a smoke test")
    names = sorted({full[0].removeprefix("bench.") for _, full, _ in BENCHES})
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"only: {', '.join(names)}")
    args = parser.parse_args(argv)
    if unknown := set(args.names) - set(names):
        parser.error(f"no bench named {', '.join(sorted(unknown))}")
    print(f"machine: {platform.platform()}, {platform.processor() or 'cpu'}, "
          f"Python {platform.python_version()}")  # fmt: skip
    failed = 0
    for title, full, quick in BENCHES:
        if args.names and full[0].removeprefix("bench.") not in args.names:
            continue
        print(f"\n== {title}", flush=True)
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", *(quick if args.quick else full)],
            cwd=ROOT,
            stderr=subprocess.DEVNULL,  # the benches' own refusal log lines
        )
        failed += done.returncode != 0
        print(f"({time.perf_counter() - started:.0f} s)", flush=True)
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()

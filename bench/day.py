"""A simulated day of acme against replicas of the bot, with faults on a schedule.

The day (testkit/day.py: restarts every few minutes, deploys through staging to prod, a
provenance arriving late, rescans flipping compliance, an unscanned build, a rollback) is
replayed SPEED times faster than real time. Three `python -m bot worker` replicas share a
private PostgreSQL cluster (one never killed, the other two killed with SIGKILL every 10-30
simulated minutes and restarted); a fourth replica runs alone on a SQLite file, killed every
3-5 simulated hours. Faults: Kosli 5xx bursts and hangs past the bot's timeout, Slack 500s,
three 429 storms on every channel and one invalid_blocks, PostgreSQL restarted once, the git
host down for an hour.

Compared with the replay's ground truth: every alert, commits reply and follow-up posted
exactly once, replies under their alert, each channel's alerts in snapshot order; the p99
delay from Kosli showing a change to its alert, away from faults, within the poll interval
+ 2 s; each replica's RSS flat over its longest life.

    .venv/bin/python -m bench.day [--speed 200] [--poll 1] [--start 0] [--hours 24]
                                  [--kill-every 10 30]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make `bot` and `testkit` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from testkit.day import HOUR, MINUTE, PROD, STAGING, Day, Group, Verdict, percentile  # noqa: E402
from testkit.postgres import PrivatePostgres  # noqa: E402

RSS_TARGET_MB = 10.0
WARM_HOURS = 1.0  # RSS is compared from this far into a replica's life
# channel -> the environments it watches; one channel hears both.
WATCHING_PG = {"C0PROD1": [PROD], "C0PROD2": [PROD], "C0STAGE": [STAGING], "C0OPS": [PROD, STAGING]}
WATCHING_SQLITE = {"C0LITEPROD": [PROD], "C0LITESTAGE": [STAGING]}


def report(day: Day, verdicts: list[Verdict]) -> list[str]:
    """Print the figures beside their targets; return the targets missed."""
    missed = []
    target = day.poll + 2
    print(f"faults applied: {', '.join(f'{n} x {what}' for what, n in sorted(day.counts.items()))}")
    print(f"snapshots reported: {len(day.reported)}")
    for v in verdicts:
        print(f"\n[{v.group}] {v.expected} alerts and replies expected")
        for label, found in (
            ("lost", len(v.lost)),
            ("posted twice", len(v.doubled)),
            ("posted unexpected", len(v.unexpected)),
            ("out of order or not under their alert", len(v.misplaced)),
        ):
            print(f"  {label + ':':40}{found} (target 0)")
            if found:
                missed.append(f"{v.group}: {label}")
        for sample in (v.lost + list(v.doubled) + v.unexpected + v.misplaced)[:10]:
            print(f"    {sample}")
        p99 = percentile(v.delays, 99)
        print(
            f"  alert delay while healthy: p50 {percentile(v.delays, 50):.2f} s, "
            f"p99 {p99:.2f} s over {len(v.delays)} alerts (target p99 <= {target:.1f} s)"
        )
        if not v.delays or p99 > target:
            missed.append(f"{v.group}: alert delay")
        print(
            f"  alert delay, faults included: p99 {percentile(v.delays_all, 99):.2f} s, "
            f"max {max(v.delays_all, default=0):.2f} s over {len(v.delays_all)} alerts"
        )
        for note, count in sorted(v.notes.items()):
            print(f"  {note}: {count}")
    print()
    for replica in (r for slot in day.replicas.values() for r in slot):
        growth = replica.growth(WARM_HOURS)
        lives = len(replica.lives)
        if growth is None:
            peak = max((mb for life in replica.lives for _, mb in life), default=0.0)
            print(f"RSS {replica.name}: {lives} lives, each too short to say; peak {peak:.0f} MB")
            continue
        hours, warm, grew = growth
        print(
            f"RSS {replica.name} ({lives} {'life' if lives == 1 else 'lives'}; longest measured "
            f"{hours:.1f} simulated h): {warm:.1f} MB -> {warm + grew:.1f} MB, {grew:+.1f} MB "
            f"(target <= +{RSS_TARGET_MB:g} MB)"
        )
        if grew > RSS_TARGET_MB:
            missed.append(f"RSS of {replica.name}")
    return missed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.day", description=__doc__.split("\n")[0])
    parser.add_argument("--speed", type=float, default=200.0, help="simulated s a real s")
    parser.add_argument("--poll", type=float, default=1.0, help="the bot's poll interval, s")
    parser.add_argument("--start", type=float, default=0.0, help="the simulated hour to begin")
    parser.add_argument("--hours", type=float, default=24.0, help="the simulated hour to end")
    parser.add_argument(
        "--kill-every",
        type=float,
        nargs=2,
        default=(10, 30),
        metavar=("MIN", "MAX"),
        help="simulated minutes between kills of a PostgreSQL replica (10 30)",
    )
    parser.add_argument("--seed", type=int, default=20)
    args = parser.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # a TextIOWrapper
    postgres = PrivatePostgres().start()
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory() as folder:
            groups = [
                Group("postgresql", postgres.url, 3, WATCHING_PG,
                      (args.kill_every[0] * MINUTE, args.kill_every[1] * MINUTE), 1),
                Group("sqlite", f"sqlite:///{folder}/day.db", 1, WATCHING_SQLITE,
                      (3 * HOUR, 5 * HOUR)),
            ]  # fmt: skip
            day = Day(
                args.speed,
                args.poll,
                groups,
                Path(folder),
                hours=args.hours,
                start_hour=args.start,
                seed=args.seed,
                restart_postgres=postgres.restart,
            )
            hours = args.hours - args.start
            print(
                f"{hours:g} simulated hours at {args.speed:g}x "
                f"({hours * HOUR / args.speed:.0f} s), poll every {args.poll:g} s"
            )
            verdicts = day.run()
            missed = report(day, verdicts)
            crashes = sum(r.crashes for slot in day.replicas.values() for r in slot)
            print(f"replicas that ended by themselves: {crashes} (target 0)")
            if crashes:
                missed.append("crashes")
            errors = [line for line in day.logs().splitlines() if " ERROR " in line]
            print(f"ERROR lines the replicas logged: {len(errors)}")
            for line in sorted({line.split(" ERROR ")[1] for line in errors}):
                print(f"  {line}")
    finally:
        postgres.stop()
    verdict = f"missed: {', '.join(missed)}" if missed else "every target met"
    print(f"took {time.monotonic() - started:.0f} s; {verdict}")
    raise SystemExit(1 if missed else 0)


if __name__ == "__main__":
    main()

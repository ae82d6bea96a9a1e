"""What opening an incident thread over 100 snapshots costs, with and without Kosli's event log.

The sandbox Kosli (today's shapes) serves `prod` with --artifacts running artifacts (96), so that a
snapshot is about 400 kB (Kosli's real aws-prod snapshots are 220-410 kB), and --snapshots
snapshots in the window: two rolling deploys (a new build starts, its old one stops in the next
snapshot), one build losing and later regaining its compliance in place, and in every snapshot
the instances of --restarts builds replaced (Kosli's `changed`, as most of aws-prod's snapshots
are). Every Kosli request takes --latency seconds (200 ms).

`incident prod since #START` is opened twice on a fresh database: once with the event log
refused (404, as for 2022-era data: every snapshot is read, the thread keeps the newest 40)
and once with it. Printed: Kosli requests (events, snapshots, other), the bytes Kosli sent,
and the seconds until the thread is open (the parent posted and every reply queued and sent).
Targets: at most 5 requests for the events, the thread open within 2 s.

Answers are computed once, before the timed runs (warm-up), so the figures are the bot's and
the latency's, not the sandbox's.

    .venv/bin/python -m bench.incident_window [--snapshots 100] [--artifacts 96] [--latency 0.2]
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make `bot` and `testkit` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.domain.commands import Window  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from bot.sandbox import ACME_NOW, KosliSandbox, RunningArtifact, acme  # noqa: E402
from bot.sandbox.dataset import ArtifactRecord, Dataset  # noqa: E402
from bot.sandbox.server import _Reply  # noqa: E402
from testkit.fakes.slack import FakeSlack  # noqa: E402
from testkit.seed import SANDBOX_TOKEN, settings_for  # noqa: E402

EVENT_REQUESTS_TARGET = 5
OPEN_TARGET_S = 2.0
CHANNEL = "C0INCIDENT"


class TimedSandbox(KosliSandbox):
    """The sandbox with each answer computed once, then served after `latency`; counts what
    Kosli's API was asked and how many bytes it sent."""

    def __init__(self, dataset: Dataset) -> None:
        super().__init__(org="acme", token=SANDBOX_TOKEN, dataset=dataset, now=lambda: 4e9)
        self.answers: dict[str, _Reply] = {}
        self.refuse_events = False
        self.counts: dict[str, int] = {}
        self.bytes = 0

    def _answer(self, method: str, target: str, authorization: str | None) -> _Reply:
        if self.refuse_events and "/events" in target:
            reply = _Reply(404, b'{"message": "Not found"}', {})
        elif target in self.answers:
            time.sleep(self.latency)
            reply = self.answers[target]
        else:
            reply = super()._answer(method, target, authorization)
            self.answers[target] = reply
        if target.startswith("/api/v2/"):
            kind = "events" if "/events" in target else target.split("/")[3]
            with self._lock:
                self.counts[kind] = self.counts.get(kind, 0) + 1
                self.bytes += len(reply.body)
        return reply


def clone(dataset: Dataset, original: RunningArtifact, name: str, commit: str) -> RunningArtifact:
    """Another service like `original`: its own flow, build and record."""
    record = dataset.record(original.fingerprint)
    assert record is not None
    fingerprint = (name.encode().hex() + commit)[:64].ljust(64, "0")
    image = original.name.split("@")[0].rsplit("/", 1)[0] + f"/{name}:{commit[:7]}"
    copied: ArtifactRecord = copy.deepcopy(record)
    copied.filename, copied.fingerprint, copied.flow_name = image, fingerprint, f"{name}-ci"
    copied.git_commit = commit
    for flow in (f for f in copied.flows if f.build):
        flow.flow_name, flow.template_reference_name = f"{name}-ci", name
        flow.trail_name = flow.commit.sha1 = commit
        flow.commit.url = flow.commit.url.rsplit("/", 1)[0] + f"/{commit}"
    dataset.artifacts.append(copied)
    return replace(
        original,
        name=f"{image}@sha256:{fingerprint}",
        fingerprint=fingerprint,
        flow_name=f"{name}-ci",
        git_commit=commit,
        commit_url=copied.flows[0].commit.url if copied.flows else None,
    )


@dataclass
class Story:
    dataset: Dataset
    start: int  # the window's first snapshot


def tell(snapshots: int, artifacts: int, restarts: int) -> Story:
    dataset = acme()
    prod = dataset.environment("prod")
    assert prod is not None
    model = prod.snapshots[-1].running()[0]
    running = [
        clone(dataset, model, f"svc-{n:02d}", f"{n:02d}" + "a" * 38) for n in range(artifacts)
    ]
    at = ACME_NOW + 60
    start = prod.append(at, running, "2026").index
    deploys = {snapshots // 4: 3, snapshots * 3 // 5: 7}  # window step -> service deployed
    flips = {snapshots // 2: False, snapshots * 4 // 5: True}  # step -> svc-05's compliance
    rolling: tuple[int, RunningArtifact] | None = None  # a deploy the last step began
    for step in range(1, snapshots + 1):
        at += 60
        if rolling is not None:  # the rolling deploy ends: the old build stops
            running[rolling[0]], rolling = rolling[1], None
        for k in range(restarts):
            n = (step * restarts + k) % artifacts
            running[n] = replace(running[n], started_at=at - 5)
        if step in flips:
            running[5] = replace(running[5], compliant=flips[step])
        now = list(running)
        if step in deploys:
            n = deploys[step]
            new = clone(dataset, model, f"svc-{n:02d}", f"{n:02d}" + "b" * 38)
            rolling = (n, replace(new, started_at=at - 5))
            now.append(rolling[1])
        prod.append(at, now, "2026")
    return Story(dataset, start)


async def open_thread(kosli: TimedSandbox, slack: FakeSlack, start: int, folder: str) -> float:
    settings = settings_for(kosli, slack, f"sqlite:///{folder}/bench.db", kosli_org="acme")
    runtime = Runtime.build(settings)
    async with runtime.running(watch=False):
        began = time.perf_counter()
        await runtime.services.incidents.open(
            ("prod",), Window(since_index=start), CHANNEL, "U0ONCALL"
        )
        return time.perf_counter() - began


def run(
    kosli: TimedSandbox, slack: FakeSlack, start: int, refuse: bool, latency: float
) -> tuple[float, int]:
    kosli.refuse_events = refuse
    with tempfile.TemporaryDirectory() as folder:
        kosli.latency = 0.0
        asyncio.run(open_thread(kosli, slack, start, folder))  # warm-up: answers computed
    with tempfile.TemporaryDirectory() as folder:
        kosli.counts, kosli.bytes = {}, 0
        kosli.latency = latency
        before = len([m for m in slack.posted(CHANNEL) if m["thread_ts"]])
        took = asyncio.run(open_thread(kosli, slack, start, folder))
        replies = len([m for m in slack.posted(CHANNEL) if m["thread_ts"]]) - before
    return took, replies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshots", type=int, default=100)
    parser.add_argument("--artifacts", type=int, default=96, help="running in each snapshot")
    parser.add_argument("--restarts", type=int, default=2, help="builds restarted a snapshot")
    parser.add_argument("--latency", type=float, default=0.2, help="Kosli's seconds a request")
    args = parser.parse_args()
    story = tell(args.snapshots, args.artifacts, args.restarts)
    slack = FakeSlack().start()
    kosli = TimedSandbox(story.dataset)
    kosli.start()
    try:
        first = f"/api/v2/snapshots/acme/prod/%23{story.start}"
        size = len(kosli._answer("GET", first, f"Bearer {SANDBOX_TOKEN}").body)
        print(
            f"incident over {args.snapshots} snapshots of {size / 1000:.0f} kB "
            f"({args.artifacts} artifacts, {args.restarts} restarted a snapshot), "
            f"Kosli at {args.latency * 1000:.0f} ms a request"
        )
        for label, refuse in (("snapshots only (events 404)", True), ("event log", False)):
            took, replies = run(kosli, slack, story.start, refuse, args.latency)
            counts = dict(kosli.counts)
            events, snaps = counts.pop("events", 0), counts.pop("snapshots", 0)
            print(
                f"{label + ':':29} {events + snaps + sum(counts.values())} Kosli requests "
                f"({events} events, {snaps} snapshots, {sum(counts.values())} other), "
                f"{kosli.bytes / 1e6:.1f} MB, thread open in {took:.2f} s, {replies} replies"
            )
            if not refuse:
                print(
                    f"targets: events requests {events} (<= {EVENT_REQUESTS_TARGET}), "
                    f"thread open {took:.2f} s (<= {OPEN_TARGET_S:g} s)"
                )
    finally:
        kosli.stop()
        slack.stop()


if __name__ == "__main__":
    main()

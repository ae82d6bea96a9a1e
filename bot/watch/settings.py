"""What the watcher's parts share: who they are, how hard they work, and what time it is."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class WatchSettings:
    command: str = "/kosli"
    # Leases and claims name their holder, so two replicas never work on the same row.
    owner: str = field(default_factory=lambda: f"watcher-{uuid.uuid4().hex[:12]}")
    concurrency: int = 32
    outage_after: int = 3  # failed polls in a row before the channels are told
    max_attempts: int = 5  # sends of one alert before it goes as plain text
    # Leases and claims are short and renewed by a heartbeat every third of that, so the work
    # of a process that died is taken over within `lease_ttl`.
    lease_ttl: timedelta = timedelta(seconds=30)
    # While a cycle polls, the sender keeps its turn between this process's alerts; this
    # often (seconds) it also sends what other replicas queued, which wait for the turn.
    look_while_polling: float = 1.0
    clock: Callable[[], datetime] = utcnow

    def now(self) -> datetime:
        return self.clock()

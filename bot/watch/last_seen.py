"""The snapshot each environment was last caught up to, kept from one poll to the next.

A change is found by comparing Kosli's newest snapshot with the one before it; without this,
every changed environment cost two snapshot calls (and two parses), the one before fetched
again although the last poll had it. A numbered snapshot keeps what Kosli recorded, so one
kept under its number is as good as fetched; should Kosli ever answer it with another
compliance, the poller forgets it (the compliance safety net). Bounded by the artifacts held,
not environments: a snapshot may hold thousands.
"""

from __future__ import annotations

from collections import OrderedDict

from bot.kosli.models import Snapshot

MAX_ARTIFACTS = 50_000  # about 1,000 environments of 50 artifacts; more are fetched again


class LastSeen:
    def __init__(self, max_artifacts: int = MAX_ARTIFACTS) -> None:
        self._max = max_artifacts
        self._kept: OrderedDict[str, Snapshot] = OrderedDict()  # least recently kept first
        self._held = 0

    def get(self, env: str, index: int) -> Snapshot | None:
        kept = self._kept.get(env)
        return kept if kept is not None and kept.index == index else None

    def keep(self, snapshot: Snapshot) -> None:
        self.forget(snapshot.env)
        if len(snapshot.artifacts) > self._max:
            return
        self._kept[snapshot.env] = snapshot
        self._held += len(snapshot.artifacts)
        while self._held > self._max:
            _, oldest = self._kept.popitem(last=False)
            self._held -= len(oldest.artifacts)

    def forget(self, env: str) -> None:
        gone = self._kept.pop(env, None)
        if gone is not None:
            self._held -= len(gone.artifacts)

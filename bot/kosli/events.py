"""An environment's event log (`kosli log environment`): what happened to which artifact in
each snapshot, one event per artifact and snapshot, newest first, a page at a time."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.kosli.parsing import get, time_of

MAX_PER_PAGE = 100  # Kosli's own cap on a page of events


@dataclass(frozen=True)
class EnvironmentEvent:
    """One event: `type` is Kosli's word (`started-compliant`, `exited`, `changed` (the
    instances of a build replaced, or its compliance changed), `updated-provenance`, ...)."""

    snapshot_index: int
    artifact_name: str
    sha256: str
    description: str
    reported_at: datetime | None
    pipeline: str  # the build flow; '' for an artifact without provenance
    type: str
    artifact_compliance: bool | None
    snapshot_compliance: bool | None
    code_diff: str

    @classmethod
    def from_json(cls, data: Any) -> EnvironmentEvent:
        return cls(
            snapshot_index=get(data, "snapshot_index", int),
            artifact_name=get(data, "artifact_name", str, ""),
            sha256=get(data, "sha256", str, ""),
            description=get(data, "description", str, ""),
            reported_at=time_of(data, "reported_at"),
            pipeline=get(data, "pipeline", str, ""),
            type=get(data, "type", str, ""),
            artifact_compliance=get(data, "artifact_compliance", bool, None),
            snapshot_compliance=get(data, "snapshot_compliance", bool, None),
            code_diff=get(data, "code_diff", str, ""),
        )


@dataclass(frozen=True)
class EventsPage:
    events: tuple[EnvironmentEvent, ...]
    page: int
    per_page: int
    total_pages: int | None  # from `X-Total-Pages`, when Kosli sends it
    total_count: int | None  # from `X-Total-Count`
    next_link: bool  # a `Link` header with rel="next"

    @property
    def has_next(self) -> bool:
        if self.total_pages is not None:
            return self.page < self.total_pages
        return self.next_link or len(self.events) >= self.per_page

    @classmethod
    def from_response(
        cls,
        events: tuple[EnvironmentEvent, ...],
        page: int,
        per_page: int,
        headers: Mapping[str, str],
    ) -> EventsPage:
        return cls(
            events=events,
            page=page,
            per_page=per_page,
            total_pages=_count(headers.get("X-Total-Pages")),
            total_count=_count(headers.get("X-Total-Count")),
            next_link=bool(_NEXT.search(headers.get("Link", ""))),
        )


_NEXT = re.compile(r"""rel\s*=\s*"?next"?""")


def _count(value: str | None) -> int | None:
    """A paging header's number; anything else is as good as absent."""
    text = (value or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else None

"""Incident threads: which thread follows which environments, through a small state machine.

opening (row written, parent not yet posted) -> open (parent posted, replies queued) ->
closing (window ended, timeline not yet attached) -> closed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, select, update

from bot.domain.suspects import Mark
from bot.store.database import Database, rows_affected
from bot.store.door import off_loop
from bot.store.models import Incident, SuspectMark, WatchedEnv
from bot.store.outbox import NewAlert, insert_alerts
from bot.store.records import IncidentRecord, NewIncident, record
from bot.store.watchers import STILL_OPEN, incidents_in


class IncidentRepository:
    def __init__(self, db: Database, workspace: str) -> None:
        self.db = db
        self.workspace = workspace
        self._mine = Incident.workspace == workspace

    @off_loop
    def open(self, incident: NewIncident) -> IncidentRecord:
        """Write the row before the parent is posted, so no thread exists without one; make
        sure the watcher follows its environments from here."""
        with self.db.begin() as session:
            row = Incident(**vars(incident), workspace=self.workspace, state="opening")
            session.add(row)
            for env, index in incident.shown_indexes.items():
                if session.get(WatchedEnv, (self.workspace, env)) is None:
                    session.add(
                        WatchedEnv(workspace=self.workspace, env=env, last_seen_index=index)
                    )
            session.flush()  # gives the row its id
            return record(IncidentRecord, row)

    @off_loop
    def posted(
        self, incident_id: int, thread_ts: str, replies: Iterable[NewAlert], now: datetime
    ) -> None:
        """The parent is in Slack: the thread is open and its replies are queued, atomically."""
        with self.db.begin() as session:
            session.execute(
                update(Incident)
                .where(self._mine, Incident.id == incident_id)
                .values(thread_ts=thread_ts, state="open")
            )
            insert_alerts(session, self.workspace, replies, now)

    @off_loop
    def forget(self, incident_id: int) -> None:
        """Its parent never made it into Slack (or was taken back)."""
        with self.db.begin() as session:
            session.execute(delete(Incident).where(self._mine, Incident.id == incident_id))

    @off_loop
    def forget_unposted(self, before: datetime) -> int:
        """Rows of processes that died between writing the row and posting the parent."""
        with self.db.begin() as session:
            gone = session.execute(
                delete(Incident).where(
                    self._mine, Incident.state == "opening", Incident.opened_at < before
                )
            )
            return rows_affected(gone)

    @off_loop
    def find(self, channel: str, thread_ts: str) -> IncidentRecord | None:
        query = select(Incident).where(
            self._mine, Incident.channel_id == channel, Incident.thread_ts == thread_ts
        )
        with self.db.session() as session:
            row = session.scalar(query)
            return record(IncidentRecord, row) if row else None

    @off_loop
    def still_open(self, channel: str | None = None) -> list[IncidentRecord]:
        """Open threads, and those being opened (so a replayed command sees them too)."""
        return self._in_states(STILL_OPEN, channel)

    @off_loop
    def closing(self, channel: str | None = None) -> list[IncidentRecord]:
        """Closed by someone, but the timeline is not attached yet."""
        return self._in_states(("closing",), channel)

    def _in_states(self, states: tuple[str, ...], channel: str | None) -> list[IncidentRecord]:
        with self.db.session() as session:
            return incidents_in(session, self.workspace, states, channel)

    @off_loop
    def begin_close(self, incident_id: int, user: str, now: datetime) -> IncidentRecord | None:
        """Close the window once; None when it was not open (a double click, a second
        replica). The timeline is attached after, and `closed` ends it."""
        with self.db.begin() as session:
            closing = session.execute(
                update(Incident)
                .where(self._mine, Incident.id == incident_id, Incident.state == "open")
                .values(state="closing", closed_at=now, closed_by=user)
            )
            row = session.get(Incident, incident_id) if rows_affected(closing) == 1 else None
            return record(IncidentRecord, row) if row else None

    @off_loop
    def closed(self, incident_id: int) -> None:
        with self.db.begin() as session:
            session.execute(
                update(Incident)
                .where(self._mine, Incident.id == incident_id, Incident.state == "closing")
                .values(state="closed")
            )

    @off_loop
    def mark(self, incident_id: int, mark: Mark) -> None:
        """Keep every mark, so who said what, and when, is never lost."""
        with self.db.begin() as session:
            if session.scalar(select(Incident.id).where(self._mine, Incident.id == incident_id)):
                session.add(
                    SuspectMark(
                        incident_id=incident_id,
                        env=mark.env,
                        fingerprint=mark.fingerprint,
                        name=mark.name,
                        cause=mark.cause,
                        marked_by=mark.by,
                        marked_at=mark.at,
                    )
                )

    @off_loop
    def marks(self, incident_id: int) -> list[Mark]:
        """Every mark on the incident's suspects, oldest first."""
        query = (
            select(SuspectMark)
            .join(Incident, Incident.id == SuspectMark.incident_id)
            .where(self._mine, SuspectMark.incident_id == incident_id)
            .order_by(SuspectMark.id)
        )
        with self.db.session() as session:
            return [
                Mark(m.env, m.fingerprint, m.name, m.cause, m.marked_by, m.marked_at)
                for m in session.scalars(query)
            ]

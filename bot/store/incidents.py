"""Incident threads: which thread follows which environments, open or closed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from bot.store.database import Database
from bot.store.models import Incident, WatchedEnv
from bot.store.records import IncidentRecord, NewIncident, record


class IncidentRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def open(self, incident: NewIncident) -> IncidentRecord:
        """Store the thread, and make sure the watcher follows its environments from here."""
        with self.db.begin() as session:
            row = Incident(**vars(incident))
            session.add(row)
            for env, index in incident.shown_indexes.items():
                if session.get(WatchedEnv, env) is None:
                    session.add(WatchedEnv(env=env, last_seen_index=index))
            session.flush()  # gives the row its id
            return record(IncidentRecord, row)

    def find(self, channel: str, thread_ts: str) -> IncidentRecord | None:
        query = select(Incident).where(
            Incident.channel_id == channel, Incident.thread_ts == thread_ts
        )
        with self.db.session() as session:
            row = session.scalar(query)
            return record(IncidentRecord, row) if row else None

    def still_open(self, channel: str | None = None) -> list[IncidentRecord]:
        query = select(Incident).where(Incident.closed_at.is_(None)).order_by(Incident.id)
        if channel is not None:
            query = query.where(Incident.channel_id == channel)
        with self.db.session() as session:
            return [record(IncidentRecord, row) for row in session.scalars(query)]

    def reopen(self, incident_id: int) -> None:
        """Closing failed part-way (the timeline could not be attached): it stays open."""
        with self.db.begin() as session:
            session.execute(
                update(Incident).where(Incident.id == incident_id).values(closed_at=None)
            )

    def close(self, incident_id: int, now: datetime) -> IncidentRecord | None:
        """Close it once; None when it was closed already (a double click, a second replica)."""
        with self.db.begin() as session:
            closed = session.execute(
                update(Incident)
                .where(Incident.id == incident_id, Incident.closed_at.is_(None))
                .values(closed_at=now)
            )
            row = session.get(Incident, incident_id) if closed.rowcount == 1 else None
            return record(IncidentRecord, row) if row else None

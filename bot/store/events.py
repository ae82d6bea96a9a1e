"""Slack events this bot has taken on: a retry of one already answered is not answered again,
while a retry of one that failed is."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from bot.store.database import Database
from bot.store.door import off_loop
from bot.store.models import HandledEvent

# Slack retries an event three times within about an hour; older ids can go.
REMEMBERED = timedelta(hours=2)


class HandledEvents:
    def __init__(self, db: Database) -> None:
        self.db = db

    @off_loop
    def take(self, event_id: str, now: datetime) -> bool:
        """True for the first delivery to ask (this one answers it); False for a repeat."""
        try:
            with self.db.begin() as session:
                session.execute(
                    delete(HandledEvent).where(HandledEvent.handled_at < now - REMEMBERED)
                )
                session.add(HandledEvent(event_id=event_id[:64], handled_at=now))
        except IntegrityError:
            return False
        return True

    @off_loop
    def release(self, event_id: str) -> None:
        """Answering failed: a retry of it should be answered."""
        with self.db.begin() as session:
            session.execute(delete(HandledEvent).where(HandledEvent.event_id == event_id[:64]))

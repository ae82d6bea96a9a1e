"""Compare answers of the git host, kept by (repository, base, head): they never change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from bot.store.database import Database
from bot.store.door import off_loop
from bot.store.models import GitCompare


class CompareCache:
    def __init__(self, db: Database) -> None:
        self.db = db

    @off_loop
    def get(self, repository: str, base: str, head: str) -> dict[str, Any] | None:
        with self.db.session() as session:
            row = session.get(GitCompare, (repository, base, head))
            return dict(row.answer) if row else None

    @off_loop
    def put(
        self, repository: str, base: str, head: str, answer: dict[str, Any], now: datetime
    ) -> None:
        try:
            with self.db.begin() as session:
                session.add(
                    GitCompare(
                        repository=repository, base=base, head=head, answer=answer, fetched_at=now
                    )
                )
        except IntegrityError:
            pass  # another process kept the same answer a moment ago

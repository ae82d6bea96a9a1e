"""Alembic environment: always run online, on the connection `bot.store.migrate` hands in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from bot.store.models import Base

target_metadata = Base.metadata


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite can alter tables only by copying them; batch mode does that for later revisions.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through bot.store.migrate.migrate(engine)")
run_migrations(connection)

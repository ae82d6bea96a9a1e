"""Alembic environment and revisions for the store; run by `bot.store.migrate.migrate`."""

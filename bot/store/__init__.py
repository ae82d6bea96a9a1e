"""Storage for the watcher: SQLAlchemy 2 typed ORM, SQLite by default, PostgreSQL by URL."""

from sqlalchemy.exc import SQLAlchemyError as StoreError  # the database failed or timed out

__all__ = ["StoreError"]

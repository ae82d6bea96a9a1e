"""Storage for the watcher: SQLAlchemy 2 typed ORM, SQLite by default, PostgreSQL by URL."""

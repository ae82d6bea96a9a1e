"""The bot's storage, one repository per concern, each call its own short transaction."""

from __future__ import annotations

from sqlalchemy import Engine, text

from bot.store.compares import CompareCache
from bot.store.database import Database
from bot.store.door import off_loop
from bot.store.environments import EnvironmentRepository
from bot.store.events import HandledEvents
from bot.store.incidents import IncidentRepository
from bot.store.leases import Leases
from bot.store.outbox import Outbox
from bot.store.subscriptions import SubscriptionRepository
from bot.store.watchers import workspaces_at_work, workspaces_watching

# The newest migration; a test keeps it equal to the migrations' head.
SCHEMA_REVISION = "0013_installations"


class SchemaNotReady(Exception):
    """The database answers but its schema is not (yet) the one this code needs."""


class Store:
    """One workspace's view of the database: its repositories read and write only that
    workspace's rows ("" is single-workspace mode's). Slack's handled events and the git
    host's compares are shared by all."""

    def __init__(self, engine: Engine, workspace: str = "", db: Database | None = None) -> None:
        self.engine = engine
        self.workspace = workspace
        self._db = db or Database(engine)
        db = self._db
        self.subscriptions = SubscriptionRepository(db, workspace)
        self.environments = EnvironmentRepository(db, workspace)
        self.outbox = Outbox(db, workspace)
        self.leases = Leases(db, workspace)
        self.incidents = IncidentRepository(db, workspace)
        self.events = HandledEvents(db)
        self.compares = CompareCache(db)

    def scoped(self, workspace: str) -> Store:
        """The same database seen by another workspace. It shares this store's engine and
        its queue of SQLite writers."""
        return Store(self.engine, workspace, self._db)

    @off_loop
    def workspaces_at_work(self) -> list[str]:
        """The workspaces with something to watch or send: the watcher's cycle runs theirs."""
        with self._db.session() as session:
            return workspaces_at_work(session)

    @off_loop
    def workspaces_watching(self, env: str) -> list[str]:
        """The workspaces watching `env`: those a push about it concerns."""
        with self._db.session() as session:
            return workspaces_watching(session, env)

    @off_loop
    def ping(self) -> None:
        """Raises unless the database answers and holds our schema at its newest revision
        (another replica may still be migrating it)."""
        with self.engine.connect() as connection:
            versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
        if [v for (v,) in versions] != [SCHEMA_REVISION]:
            raise SchemaNotReady(f"schema at {versions}, not {SCHEMA_REVISION}")

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

# The newest migration; a test keeps it equal to the migrations' head.
SCHEMA_REVISION = "0012_installations"


class SchemaNotReady(Exception):
    """The database answers but its schema is not (yet) the one this code needs."""


class Store:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        db = Database(engine)
        self.subscriptions = SubscriptionRepository(db)
        self.environments = EnvironmentRepository(db)
        self.outbox = Outbox(db)
        self.leases = Leases(db)
        self.incidents = IncidentRepository(db)
        self.events = HandledEvents(db)
        self.compares = CompareCache(db)

    @off_loop
    def ping(self) -> None:
        """Raises unless the database answers and holds our schema at its newest revision
        (another replica may still be migrating it)."""
        with self.engine.connect() as connection:
            versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
        if [v for (v,) in versions] != [SCHEMA_REVISION]:
            raise SchemaNotReady(f"schema at {versions}, not {SCHEMA_REVISION}")

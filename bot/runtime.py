"""Builds the process: settings -> store -> Kosli -> services -> transports, and runs the
watcher's scheduler. Slack's listeners and the shell are both built on top of a Runtime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands.dispatch import Services
from bot.commands.incidents import IncidentDesk
from bot.commands.queries import Queries
from bot.commands.subscriptions import Subscriptions
from bot.config import Settings
from bot.kosli import KosliClient
from bot.store.migrate import open_store
from bot.store.store import Store
from bot.watch.scheduler import start_scheduler
from bot.watch.watcher import Watcher


def slack_client(settings: Settings) -> AsyncWebClient:
    client = AsyncWebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url)
    client.retry_handlers.extend(
        [
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncRateLimitErrorRetryHandler(max_retry_count=3),
            AsyncServerErrorRetryHandler(max_retry_count=2),
        ]
    )
    return client


def kosli_client(settings: Settings) -> KosliClient:
    return KosliClient(
        settings.kosli_host,
        settings.kosli_org,
        settings.kosli_api_token,
        timeout=settings.kosli_timeout,
    )


@dataclass
class Runtime:
    """The long-lived parts one process shares: clients, storage, the watcher."""

    settings: Settings
    kosli: KosliClient
    slack: AsyncWebClient
    store: Store
    watcher: Watcher

    @classmethod
    def build(cls, settings: Settings, slack: AsyncWebClient | None = None) -> Runtime:
        """`slack`: another transport with the Web API's methods (the shell's terminal)."""
        kosli = kosli_client(settings)
        slack = slack or slack_client(settings)
        store = open_store(settings.database_url)
        watcher = Watcher(store, kosli, slack, command=settings.slack_command)
        return cls(settings, kosli, slack, store, watcher)

    @property
    def services(self) -> Services:
        command = self.settings.slack_command
        subscriptions = Subscriptions(self.store, self.kosli, self.watcher)
        desk = IncidentDesk(self.store, self.kosli, self.slack, command, self.watcher.clock)
        return Services(Queries(self.kosli), subscriptions, desk, command)

    @asynccontextmanager
    async def running(self, watch: bool) -> AsyncIterator[None]:
        """Run the watcher's scheduler (when `watch`) for as long as the context lasts."""
        scheduler = start_scheduler(self.watcher, self.settings.poll_seconds) if watch else None
        try:
            yield
        finally:
            if scheduler:
                scheduler.shutdown(wait=False)
            await self.kosli.aclose()
            self.store.engine.dispose()

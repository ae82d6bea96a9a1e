"""Builds the process: settings -> store -> Kosli -> services -> transports, and runs the
watcher's scheduler. Slack's listeners and the shell are both built on top of a Runtime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from dataclasses import dataclass
from datetime import timedelta

from bot.commands.incidents import IncidentThreads
from bot.commands.queries import Queries
from bot.commands.services import Services
from bot.commands.subscriptions import Subscriptions
from bot.config import Settings
from bot.githost import GitHost
from bot.history import GitHistory
from bot.kosli import KosliClient
from bot.metrics import KOSLI_REQUESTS, KOSLI_SECONDS
from bot.store.migrate import open_store
from bot.store.store import Store
from bot.transport import Transport
from bot.transport.slack import SlackTransport, slack_client
from bot.watch.scheduler import start_scheduler
from bot.watch.settings import WatchSettings
from bot.watch.watcher import Watcher


def kosli_client(settings: Settings) -> KosliClient:
    account = settings.needs_kosli()
    return KosliClient(
        settings.kosli_host,
        account.org,
        account.api_token,
        timeout=settings.kosli_timeout,
        max_answer_bytes=settings.kosli_max_answer_bytes,
        observe=_kosli_metrics,
    )


def _kosli_metrics(endpoint: str, status: int, seconds: float) -> None:
    KOSLI_REQUESTS.labels(endpoint, str(status)).inc()
    KOSLI_SECONDS.labels(endpoint).observe(seconds)


@dataclass
class Runtime:
    """The long-lived parts one process shares: clients, storage, the watcher, and the
    services every command handler uses, all built once."""

    settings: Settings
    kosli: KosliClient
    transport: Transport
    store: Store
    watcher: Watcher
    githost: GitHost
    history: GitHistory
    services: Services

    @classmethod
    def build(cls, settings: Settings, transport: Transport | None = None) -> Runtime:
        """`transport`: where messages go; Slack's Web API unless another is given (the
        shell's terminal)."""
        kosli = kosli_client(settings)
        if transport is None:
            transport = SlackTransport(
                slack_client(settings.needs_slack().bot_token, settings.slack_api_url)
            )
        store = open_store(settings.needs_database())
        watch_settings = WatchSettings(
            command=settings.slack_command, lease_ttl=timedelta(seconds=settings.lease_seconds)
        )
        githost = GitHost(
            settings.github_api_url,
            settings.github_token,
            settings.gitlab_url,
            settings.gitlab_token,
            gitlab_com_url=settings.gitlab_com_url,
            max_answer_bytes=settings.git_max_answer_bytes,
        )
        history = GitHistory(store, githost, watch_settings.now)
        watcher = Watcher(store, kosli, transport, watch_settings, history)
        command = settings.slack_command
        desk = IncidentThreads(
            store,
            kosli,
            transport,
            command,
            watch_settings.now,  # follows the watcher's clock, even one set after the build
            watcher.send_queued,
            watch_settings.owner,
            history,
        )
        services = Services(
            Queries(kosli, history),
            Subscriptions(store, kosli, watcher, settings.admin_user_ids),
            desk,
            transport,
            command,
            settings.admin_user_ids,
        )
        return cls(settings, kosli, transport, store, watcher, githost, history, services)

    @asynccontextmanager
    async def running(self, watch: bool) -> AsyncIterator[None]:
        """Run the watcher's scheduler (when `watch`) for as long as the context lasts."""
        chores = [self.services.incidents.finish_closing]
        connected = (
            self.transport.connected()
            if isinstance(self.transport, SlackTransport)
            else nullcontext()
        )
        async with connected:
            scheduler = (
                start_scheduler(self.watcher, self.settings.poll_seconds, chores) if watch else None
            )
            try:
                yield
            finally:
                if scheduler:
                    scheduler.shutdown(wait=False)
                await self.kosli.aclose()
                await self.githost.aclose()
                self.store.engine.dispose()

"""Builds the process: settings -> store -> Kosli -> services -> transports, and runs the
watcher's scheduler. Slack's listeners and the shell are both built on top of a Runtime."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

from bot.commands.services import Services
from bot.config import Settings
from bot.githost import GitHost
from bot.history import GitHistory
from bot.installs import Installs
from bot.kosli import KosliClient
from bot.store.migrate import open_store
from bot.store.store import Store
from bot.transport import Transport
from bot.transport.slack import SlackTransport, slack_client
from bot.watch.scheduler import start_scheduler
from bot.watch.settings import WatchSettings
from bot.watch.watcher import Watcher
from bot.workspaces import BotTokens, KosliConnections, Workspace, Workspaces
from bot.workspaces import kosli_client as client_for


def kosli_client(settings: Settings) -> KosliClient:
    account = settings.needs_kosli()
    return client_for(settings, settings.kosli_host, account.org, account.api_token)


def git_host(settings: Settings) -> GitHost:
    return GitHost(
        settings.github_api_url,
        settings.github_token,
        settings.gitlab_url,
        settings.gitlab_token,
        gitlab_com_url=settings.gitlab_com_url,
        max_answer_bytes=settings.git_max_answer_bytes,
    )


def watch_settings(settings: Settings) -> WatchSettings:
    return WatchSettings(
        command=settings.slack_command, lease_ttl=timedelta(seconds=settings.lease_seconds)
    )


@dataclass
class Runtime:
    """The long-lived parts one process shares: storage, the git host, and the registry of
    each workspace's services, all built once. In single-workspace mode `kosli`, `watcher`,
    `services`... are the one workspace's."""

    settings: Settings
    store: Store
    githost: GitHost
    workspaces: Workspaces

    @classmethod
    def build(cls, settings: Settings, transport: Transport | None = None) -> Runtime:
        """Single-workspace mode. `transport`: where messages go; Slack's Web API unless
        another is given (the shell's terminal)."""
        kosli = kosli_client(settings)
        if transport is None:
            transport = SlackTransport(
                slack_client(settings.needs_slack().bot_token, settings.slack_api_url)
            )
        store = open_store(settings.needs_database())
        githost = git_host(settings)
        workspace = Workspace.build(
            "", settings, store, kosli, transport, githost, watch_settings(settings)
        )
        return cls(settings, store, githost, Workspaces.single(workspace))

    @classmethod
    def installed(
        cls,
        settings: Settings,
        tokens: BotTokens,
        connections: KosliConnections,
        store: Store | None = None,
    ) -> Runtime:
        """Installed into many workspaces: each one's services are built from its bot token
        and Kosli connection when first asked for."""
        store = store or open_store(settings.needs_database())
        githost = git_host(settings)
        workspaces = Workspaces.installed(
            settings, store, githost, watch_settings(settings), tokens, connections
        )
        return cls(settings, store, githost, workspaces)

    @classmethod
    def oauth(cls, settings: Settings) -> tuple[Runtime, Installs]:
        """OAuth mode, as `serve` and `worker` both run it: the installations and Kosli
        connections the bot's database keeps, and the registry over them."""
        store = open_store(settings.needs_database())
        installs = Installs.build(settings, store)
        runtime = cls.installed(settings, installs.installations, installs.connections, store)
        return runtime, installs

    @property
    def single(self) -> Workspace:
        workspace = self.workspaces.single_workspace
        assert workspace is not None, "installed into many workspaces: ask the registry"
        return workspace

    @property
    def kosli(self) -> KosliClient:
        return self.single.kosli

    @property
    def transport(self) -> Transport:
        return self.single.transport

    @property
    def watcher(self) -> Watcher:
        return self.single.watcher

    @property
    def history(self) -> GitHistory:
        return self.single.history

    @property
    def services(self) -> Services:
        return self.single.services

    @asynccontextmanager
    async def running(self, watch: bool) -> AsyncIterator[None]:
        """Run the watcher's scheduler (when `watch`) for as long as the context lasts."""
        async with self.workspaces.serving():
            _freeze_start_up()
            scheduler = (
                start_scheduler(
                    self.workspaces, self.settings.poll_seconds, [self.workspaces.finish_closing]
                )
                if watch
                else None
            )
            try:
                yield
            finally:
                if scheduler:
                    scheduler.shutdown(wait=False)  # cancels a cycle in flight
                await self.workspaces.stop_sending()
                await self.githost.aclose()
                self.store.engine.dispose()


def _freeze_start_up() -> None:
    """What start-up built (modules, the ORM's mappings, settings, clients) lives as long as
    the process: kept out of the garbage collector's sight, each full collection looks at a
    few thousand objects instead of over a hundred thousand (0.25 -> 0.1 s of CPU a busy
    cycle over 1,000 environments). Once a process: a test's later runtimes are not kept."""
    if gc.get_freeze_count() == 0:
        gc.collect()  # what is garbage already goes, rather than being kept for good
        gc.freeze()

"""Builds the process: settings -> store -> Kosli -> services -> transports, and runs the
watcher's scheduler. Slack's listeners and the shell are both built on top of a Runtime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

from bot.commands.services import Services
from bot.config import Settings
from bot.githost import GitHost
from bot.history import GitHistory
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
                    scheduler.shutdown(wait=False)
                await self.githost.aclose()
                self.store.engine.dispose()

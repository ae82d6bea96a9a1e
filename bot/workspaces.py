"""Each Slack workspace's services: its scoped store, Kosli client, Slack transport (its own
bot token), watcher and the Services its commands use, built on first use and kept.

Single-workspace mode is a registry of one fixed workspace, "", built from the settings.
Installed into many workspaces, the registry learns each one's bot token and Kosli
connection through two small protocols (the installation store and the connection
repository implement them); a workspace without either has no services.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Protocol

from prometheus_client import Counter, Histogram

from bot.background import in_background
from bot.commands.incidents import IncidentThreads
from bot.commands.queries import Queries
from bot.commands.services import Services
from bot.commands.subscriptions import Subscriptions
from bot.config import Settings
from bot.githost import GitHost
from bot.history import GitHistory
from bot.kosli import KosliClient
from bot.metrics import KOSLI_REQUESTS, KOSLI_SECONDS
from bot.store.installations import workspace_key
from bot.store.store import Store
from bot.transport import Transport
from bot.transport.slack import SlackTransport, slack_client
from bot.watch.settings import WatchSettings
from bot.watch.watcher import Watcher, gauge

log = logging.getLogger(__name__)


class KosliAccess(Protocol):
    """A workspace's Kosli org: where, which, and the token to read it with."""

    @property
    def org(self) -> str: ...

    @property
    def host(self) -> str: ...

    @property
    def api_token(self) -> str: ...


class BotTokens(Protocol):
    """The bot token Slack gave a workspace's installation; None: not installed (any more)."""

    async def bot_token(self, key: str) -> str | None: ...


class KosliConnections(Protocol):
    """The Kosli org a workspace is connected to; None: not connected (yet)."""

    async def kosli_connection(self, key: str) -> KosliAccess | None: ...


def not_connected(command: str) -> str:
    return f"This workspace is not connected to a Kosli org yet: an admin runs `{command} connect`."


def kosli_client(settings: Settings, host: str, org: str, api_token: str) -> KosliClient:
    return KosliClient(
        host,
        org,
        api_token,
        timeout=settings.kosli_timeout,
        max_answer_bytes=settings.kosli_max_answer_bytes,
        observe=_kosli_metrics,
    )


def _kosli_metrics(endpoint: str, status: int, seconds: float) -> None:
    requests, latency = _kosli_series(endpoint, status)
    requests.inc()
    latency.observe(seconds)


@functools.cache  # a few endpoints and statuses; looked up on every Kosli request
def _kosli_series(endpoint: str, status: int) -> tuple[Counter, Histogram]:
    return KOSLI_REQUESTS.labels(endpoint, str(status)), KOSLI_SECONDS.labels(endpoint)


@dataclass(frozen=True)
class Workspace:
    key: str
    store: Store
    kosli: KosliClient
    transport: Transport
    history: GitHistory
    watcher: Watcher
    services: Services

    @classmethod
    def build(
        cls,
        key: str,
        settings: Settings,
        store: Store,
        kosli: KosliClient,
        transport: Transport,
        githost: GitHost,
        watch_settings: WatchSettings,
    ) -> Workspace:
        """One workspace's parts over `store` (already scoped to it); the git host and the
        watch settings (this process, its clock) are every workspace's."""
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
        return cls(key, store, kosli, transport, history, watcher, services)

    @asynccontextmanager
    async def connected(self) -> AsyncIterator[None]:
        """Its clients' connections, kept open while it serves and closed after."""
        try:
            if isinstance(self.transport, SlackTransport):
                async with self.transport.connected():
                    yield
            else:
                yield
        finally:
            await self.kosli.aclose()


@dataclass(frozen=True)
class Access:
    """What a workspace's services are built from: its bot token and its Kosli org."""

    bot_token: str = field(repr=False)  # never in a log line
    kosli: KosliAccess


@dataclass(frozen=True)
class Built:
    """A workspace built, what from, and its clients' connections (closed when forgotten)."""

    workspace: Workspace
    access: Access
    clients: AsyncExitStack


class Workspaces:
    """The registry: `await get(key)` is that workspace's services, or None when it has no
    Kosli connection (or no installation); `forget(key)` after either changes."""

    def __init__(
        self,
        store: Store,
        watch_settings: WatchSettings,
        source: Callable[[str], Awaitable[Access | None]] | None = None,
        build: Callable[[str, Access], Workspace] | None = None,
        fixed: Workspace | None = None,
        admins: frozenset[str] = frozenset(),
    ) -> None:
        self.settings = watch_settings  # the scheduler's: lease times, this process
        self.admins = admins  # ADMIN_USER_IDS, every workspace's (empty: everyone)
        self._store = store
        self._source = source
        self._build = build
        self._fixed = fixed
        self._built: dict[str, Built] = {}
        self._building = asyncio.Lock()

    @classmethod
    def single(cls, workspace: Workspace) -> Workspaces:
        """Single-workspace mode: the one workspace "", whatever team a request names."""
        return cls(
            workspace.store,
            workspace.watcher.settings,
            fixed=workspace,
            admins=workspace.services.admins,
        )

    @classmethod
    def installed(
        cls,
        settings: Settings,
        store: Store,
        githost: GitHost,
        watch_settings: WatchSettings,
        tokens: BotTokens,
        connections: KosliConnections,
    ) -> Workspaces:
        """Installed into many workspaces: each one's token and Kosli org, as they are now."""

        async def source(key: str) -> Access | None:
            token = await tokens.bot_token(key)
            kosli = await connections.kosli_connection(key) if token else None
            return None if token is None or kosli is None else Access(token, kosli)

        def build(key: str, access: Access) -> Workspace:
            kosli = access.kosli
            return Workspace.build(
                key,
                settings,
                store.scoped(key),
                kosli_client(settings, kosli.host, kosli.org, kosli.api_token),
                SlackTransport(slack_client(access.bot_token, settings.slack_api_url)),
                githost,
                watch_settings,
            )

        return cls(
            store, watch_settings, source=source, build=build, admins=settings.admin_user_ids
        )

    @property
    def single_workspace(self) -> Workspace | None:
        return self._fixed

    def key_for(self, team_id: str | None, enterprise_id: str | None, org_wide: bool) -> str:
        """A request's workspace: its team, or its Enterprise Grid org when the app is
        installed org-wide; always "" in single-workspace mode."""
        return "" if self._fixed is not None else workspace_key(enterprise_id, team_id, org_wide)

    async def get(self, key: str) -> Workspace | None:
        if self._fixed is not None:
            return self._fixed if key == "" else None
        if key in self._built:
            return self._built[key].workspace
        async with self._building:  # two requests at once build it once
            if key not in self._built and self._source is not None and self._build is not None:
                access = await self._source(key)
                if access is None:
                    return None
                workspace = self._build(key, access)
                stack = AsyncExitStack()
                await stack.enter_async_context(workspace.connected())
                self._built[key] = Built(workspace, access, stack)
            built = self._built.get(key)
            return built.workspace if built else None

    async def services(self, key: str) -> Services | None:
        workspace = await self.get(key)
        return workspace.services if workspace else None

    def forget(self, key: str) -> None:
        """Its token or Kosli connection changed (connect, disconnect, uninstall): build it
        anew next time. The old clients close once the work under way is done with them."""
        built = self._built.pop(key, None)
        if built is not None:
            in_background(built.clients.aclose(), f"closing workspace {key}'s clients")

    async def refresh(self) -> None:
        """Forget each workspace whose bot token or Kosli connection is no longer the one it
        was built with: another process (a web replica, when this is the worker) handled
        the connect, the reinstall or the uninstall, and only it was told."""
        if self._source is None:
            return
        for key, built in list(self._built.items()):
            try:
                now = await self._source(key)
            except Exception:  # cannot be read now: keep it; the next cycle asks again
                log.exception("cannot read workspace %s's installation", key)
                continue
            if now != built.access:
                self.forget(key)

    async def at_work(self) -> list[Workspace]:
        """The workspaces with something to watch or send, that are connected."""
        if self._fixed is not None:
            return [self._fixed]
        return await self._build_each(await self._store.workspaces_at_work())

    async def watching(self, env: str) -> list[Workspace]:
        """The connected workspaces watching `env`: a push about it reads and builds no other."""
        if self._fixed is not None:
            return [self._fixed]
        return await self._build_each(await self._store.workspaces_watching(env))

    async def _build_each(self, keys: list[str]) -> list[Workspace]:
        """Each workspace of `keys` that is connected (built once, then kept)."""
        found = []
        for key in keys:
            try:
                workspace = await self.get(key)
            except Exception:  # its installation or connection cannot be read now
                log.exception("cannot build workspace %s; the next cycle tries again", key)
                continue
            if workspace is not None:
                found.append(workspace)
        return found

    async def run_cycle(self) -> None:
        """Every connected workspace's watcher cycle, side by side: one workspace failing
        (its Kosli down, its token revoked) holds up no other. Never raises."""
        try:
            await self.refresh()
            workspaces = await self.at_work()
            await asyncio.gather(*(w.watcher.run_cycle() for w in workspaces))
            gauge(
                await asyncio.gather(*(w.watcher.figures() for w in workspaces)),
                self.settings.now(),
            )
        except Exception:
            log.exception("watcher cycle failed; the next cycle starts from the database")

    def _held(self) -> list[Workspace]:
        """The workspaces this process has built (and may hold leases or sends in)."""
        if self._fixed is not None:
            return [self._fixed]
        return [built.workspace for built in self._built.values()]

    async def renew_leases(self) -> None:
        """The heartbeat, for every workspace this process holds leases in."""
        await asyncio.gather(*(w.watcher.renew_leases() for w in self._held()))

    async def stop_sending(self) -> None:
        """The process is ending: every workspace's send in flight stops (see Watcher.stop)."""
        await asyncio.gather(*(w.watcher.stop() for w in self._held()))

    async def finish_closing(self) -> None:
        """Attach the timelines of every workspace's incidents whose upload failed."""
        try:
            workspaces = await self.at_work()
        except Exception:
            log.exception("could not read the workspaces at work")
            return
        closes = [w.services.incidents.finish_closing() for w in workspaces]
        for workspace, failed in zip(
            workspaces, await asyncio.gather(*closes, return_exceptions=True), strict=True
        ):
            if isinstance(failed, Exception):
                log.warning(
                    "finishing incident closes of workspace %r failed: %s",
                    workspace.key,
                    type(failed).__name__,
                )

    @asynccontextmanager
    async def serving(self) -> AsyncIterator[None]:
        """The fixed workspace's connections open while serving; every workspace's clients
        closed after."""
        try:
            if self._fixed is not None:
                async with self._fixed.connected():
                    yield
            else:
                yield
        finally:
            stacks = [built.clients for built in self._built.values()]
            self._built = {}
            for stack in stacks:
                await stack.aclose()

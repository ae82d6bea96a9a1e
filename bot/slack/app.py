"""Builds the Bolt app and the ASGI web app that serves it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.commands.incidents import IncidentDesk
from bot.commands.queries import Queries
from bot.commands.subscriptions import Subscriptions
from bot.config import Settings
from bot.kosli import KosliClient
from bot.slack import actions, commands, events
from bot.slack.replies import Services
from bot.store.migrate import open_store
from bot.store.store import Store
from bot.watch.scheduler import start_scheduler
from bot.watch.watcher import Watcher

log = logging.getLogger(__name__)


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


def build_bolt_app(runtime: Runtime) -> AsyncApp:
    app = AsyncApp(
        client=runtime.slack,
        signing_secret=runtime.settings.slack_signing_secret,
        logger=logging.getLogger("bot.bolt"),
    )
    services = runtime.services
    commands.register(app, services)
    events.register(app, services)
    actions.register(app, services)
    return app


def build_web_app(settings: Settings) -> Starlette:
    """POST /slack/events for everything Slack sends; GET /healthz for the platform."""
    runtime = Runtime.build(settings)
    handler = AsyncSlackRequestHandler(build_bolt_app(runtime))

    async def slack_events(request: Request) -> Response:
        return await handler.handle(request)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"ok": True})

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        log.info("serving %s", settings)
        async with runtime.running(watch=settings.run_watcher):
            yield

    web = Starlette(
        routes=[
            Route("/slack/events", slack_events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    web.state.bolt = handler.app
    web.state.runtime = runtime
    return web


def socket_mode_handler(web: Starlette, settings: Settings) -> AsyncSocketModeHandler:
    """The same Bolt app, reached over Slack's websocket instead of POST /slack/events."""
    return AsyncSocketModeHandler(web.state.bolt, settings.slack_app_token)

"""Builds the Bolt app and the ASGI web app that serves it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

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

from bot.config import Settings
from bot.kosli import KosliClient
from bot.queries import Queries
from bot.slack import commands

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


def build_bolt_app(settings: Settings, kosli: KosliClient) -> AsyncApp:
    app = AsyncApp(
        client=slack_client(settings),
        signing_secret=settings.slack_signing_secret,
        logger=logging.getLogger("bot.bolt"),
    )
    commands.register(app, settings.slack_command, Queries(kosli))
    return app


def build_web_app(settings: Settings) -> Starlette:
    """POST /slack/events for everything Slack sends; GET /healthz for the platform."""
    kosli = kosli_client(settings)
    handler = AsyncSlackRequestHandler(build_bolt_app(settings, kosli))

    async def slack_events(request: Request) -> Response:
        return await handler.handle(request)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"ok": True})

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        log.info("serving %s", settings)
        yield
        await kosli.aclose()

    web = Starlette(
        routes=[
            Route("/slack/events", slack_events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    web.state.bolt = handler.app
    return web


def socket_mode_handler(web: Starlette, settings: Settings) -> AsyncSocketModeHandler:
    """The same Bolt app, reached over Slack's websocket instead of POST /slack/events."""
    return AsyncSocketModeHandler(web.state.bolt, settings.slack_app_token)

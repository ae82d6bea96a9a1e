"""Builds the web app: the routes, the Runtime's lifespan, and Slack's door in front of Bolt."""

from __future__ import annotations

import asyncio
import gc
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from slack_bolt.adapter.starlette.async_handler import (
    AsyncSlackRequestHandler,
    to_async_bolt_request,
    to_starlette_response,
)
from slack_bolt.async_app import AsyncApp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot.background import in_background
from bot.config import Settings
from bot.logs import configure_logging, log_context
from bot.metrics import ACK_SECONDS
from bot.runtime import Runtime
from bot.slack.app import INSTALL_PATH, REDIRECT_PATH, build_bolt_app, build_oauth_bolt_app
from bot.transport.slack import SlackTransport, slack_client
from bot.web.gate import (
    InstalledTeams,
    Refusal,
    Served,
    Teams,
    admit,
    is_slash_command,
    log_refusal,
    read_body,
)
from bot.web.metrics import metrics_route
from bot.web.probes import probe_routes
from bot.web.webhook import webhook_route

log = logging.getLogger(__name__)

ACK_FIRST = 0.005  # seconds a slash command's work waits after its ack


def build_web_app(settings: Settings) -> Starlette:
    """POST /slack/events for everything Slack sends; the probes and /metrics for the platform.
    In OAuth mode also the install pages (see build_oauth_web_app)."""
    if settings.oauth is not None:
        return build_oauth_web_app(settings)
    slack = settings.needs_slack()
    transport = SlackTransport(slack_client(slack.bot_token, settings.slack_api_url))
    runtime = Runtime.build(settings, transport)
    teams = Teams(settings.allowed_team_ids, transport.client)
    bolt = build_bolt_app(runtime.workspaces, runtime.store.events, transport.client)

    web = serve(
        settings, runtime, slack_events(bolt, slack.signing_secret, teams, settings.slack_command)
    )
    web.state.bolt = bolt
    web.state.teams = teams
    return web


def build_oauth_web_app(settings: Settings) -> Starlette:
    """OAuth mode: GET /slack/install shows Bolt's "Add to Slack" page, GET
    /slack/oauth_redirect finishes an install; each request is served with the bot token of
    the workspace it comes from, and only from a workspace the app is installed in."""
    oauth = settings.needs_oauth()
    runtime, installs = Runtime.oauth(settings)
    installs.reseal()
    store, workspaces = runtime.store, runtime.workspaces

    async def forget(key: str) -> None:
        workspaces.forget(key)

    async def stop_watching(key: str) -> None:
        stopped = await store.scoped(key).subscriptions.unsubscribe_all()
        log.info("workspace %s uninstalled: %d watches stopped", key, stopped)

    installs.on_connection_changed.append(forget)
    installs.on_uninstalled.append(stop_watching)
    # No token of its own: Bolt gives each request its workspace's.
    bolt = build_oauth_bolt_app(
        installs,
        workspaces,
        store.events,
        slack_client(None, settings.slack_api_url),
        oauth,
        settings.slack_command,
    )
    teams = InstalledTeams(installs.installations, settings.allowed_team_ids)
    pages = AsyncSlackRequestHandler(bolt)

    async def install_page(request: Request) -> Response:
        return await pages.handle(request)

    web = serve(
        settings,
        runtime,
        slack_events(bolt, oauth.signing_secret, teams, settings.slack_command),
        [
            Route(INSTALL_PATH, install_page, methods=["GET"]),
            Route(REDIRECT_PATH, install_page, methods=["GET"]),
        ],
    )
    web.state.bolt = bolt
    web.state.teams = teams
    web.state.installs = installs
    web.state.store = store
    return web


def serve(
    settings: Settings,
    runtime: Runtime,
    events: Callable[[Request], Awaitable[Response]],
    more: list[Route] | None = None,
) -> Starlette:
    """Both modes' app: Slack's events, the probes and /metrics for the platform, the Kosli
    webhook when it has a secret, and the runtime (its watcher) for as long as it serves."""

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        log.info("serving %s", settings)
        async with runtime.running(watch=settings.run_watcher):
            yield

    web = Starlette(
        routes=[
            Route("/slack/events", events, methods=["POST"]),
            *(more or []),
            *probe_routes(runtime.store),
            metrics_route(settings.metrics_token),
            # Kosli Actions push changes here; without a secret the path is not there (404).
            *(
                [webhook_route(runtime.workspaces, settings.kosli_webhook_secret)]
                if settings.kosli_webhook_secret
                else []
            ),  # fmt: skip
        ],
        lifespan=lifespan,
    )
    web.state.runtime = runtime
    return web


def slack_events(
    bolt: AsyncApp, signing_secret: str, teams: Served, command: str
) -> Callable[[Request], Awaitable[Response]]:
    """POST /slack/events: the door (bot.web.gate), then Bolt."""

    async def endpoint(request: Request) -> Response:
        body = await read_body(request)
        fields = (
            body
            if isinstance(body, Refusal)
            else await admit(body, request.headers, signing_secret, teams)
        )
        if isinstance(fields, Refusal):
            log_refusal(request, fields, None if isinstance(body, Refusal) else len(body))
            return PlainTextResponse(fields.reason, status_code=fields.status)
        assert isinstance(body, bytes)
        started = time.perf_counter()
        # The answer runs in a task made inside this context: its lines carry the id too.
        with log_context(request_id=uuid.uuid4().hex[:12]):
            try:
                if is_slash_command(fields, command):
                    # All Slack wants of a slash command is a 200 at once: Bolt takes it
                    # from here, after the ack.
                    in_background(dispatch_after_ack(request, body), "dispatching a command")
                    return Response(status_code=200)
                response = await bolt.async_dispatch(to_async_bolt_request(request, body))
                return to_starlette_response(response)
            finally:
                ACK_SECONDS.observe(time.perf_counter() - started)

    async def dispatch_after_ack(request: Request, body: bytes) -> None:
        # A burst of commands reaches the event loop over a few milliseconds: starting each
        # one's work a moment later lets the burst's acks go out first.
        await asyncio.sleep(ACK_FIRST)
        await bolt.async_dispatch(to_async_bolt_request(request, body))

    return endpoint


def app_from_environment() -> Starlette:
    """For uvicorn's worker processes (WEB_CONCURRENCY > 1): each builds its own app."""
    settings = Settings.from_env(mode="serve")
    configure_logging(json_lines=settings.log_format == "json")
    web = build_web_app(settings)
    gc.collect()  # as `kosli-bot serve` does: startup's objects live for good
    gc.freeze()
    return web

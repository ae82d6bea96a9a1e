"""Builds the Bolt app and the ASGI web app that serves it (Bolt wiring only)."""

from __future__ import annotations

import asyncio
import gc
import hmac
import logging
import os
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.starlette.async_handler import (
    to_async_bolt_request,
    to_starlette_response,
)
from slack_bolt.async_app import AsyncApp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.config import Settings
from bot.logs import configure_logging, log_context
from bot.metrics import ACK_SECONDS, exposition
from bot.runtime import Runtime
from bot.slack import actions, commands, events, teams
from bot.slack.background import in_background
from bot.slack.gate import Refusal, check, log_refusal, read_body, slash_command_team
from bot.transport.slack import SlackTransport, slack_client
from bot.webhook import webhook_route

log = logging.getLogger(__name__)

READY_TIMEOUT = 3.0  # seconds: a platform's probe gives up soon after
ACK_FIRST = 0.005  # seconds a slash command's work waits after its ack


def build_bolt_app(runtime: Runtime, transport: SlackTransport, served: teams.Teams) -> AsyncApp:
    app = AsyncApp(
        client=transport.client,
        signing_secret=runtime.settings.slack_signing_secret,
        # The ack goes back the moment a listener returns (each hands its work to a task);
        # without this Bolt polls every 10 ms for the ack, which every request then waits.
        process_before_response=True,
        logger=logging.getLogger("bot.bolt"),
    )
    services = runtime.services
    teams.register(app, served)
    commands.register(app, services)
    events.register(app, services, runtime.store.events)
    actions.register(app, services)
    return app


def build_web_app(settings: Settings) -> Starlette:
    """POST /slack/events for everything Slack sends; GET /healthz for the platform."""
    transport = SlackTransport(slack_client(settings.slack_bot_token, settings.slack_api_url))
    runtime = Runtime.build(settings, transport)
    served = teams.Teams(settings.allowed_team_ids)
    bolt = build_bolt_app(runtime, transport, served)

    async def slack_events(request: Request) -> Response:
        body = await read_body(request)
        checked = (
            body
            if isinstance(body, Refusal)
            else check(body, request.headers, settings.slack_signing_secret)
        )
        if isinstance(checked, Refusal):
            log_refusal(request, checked, None if isinstance(body, Refusal) else len(body))
            return PlainTextResponse(checked.reason, status_code=checked.status)
        assert isinstance(body, bytes)
        started = time.perf_counter()
        # The answer runs in a task made inside this context: its lines carry the id too.
        with log_context(request_id=uuid.uuid4().hex[:12]):
            try:
                team = slash_command_team(checked, settings.slack_command)
                if team is not None and served.refuses(team) is False:
                    # All Slack wants of a slash command is a 200 at once: Bolt takes it
                    # from here, after the ack.
                    in_background(dispatch_after_ack(request, body), "dispatching a command")
                    return Response(status_code=200)
                # Anything else (or before the workspace is known): Bolt answers it here.
                response = await bolt.async_dispatch(to_async_bolt_request(request, body))
                return to_starlette_response(response)
            finally:
                ACK_SECONDS.observe(time.perf_counter() - started)

    async def dispatch_after_ack(request: Request, body: bytes) -> None:
        # A burst of commands reaches the event loop over a few milliseconds: starting each
        # one's work a moment later lets the burst's acks go out first.
        await asyncio.sleep(ACK_FIRST)
        await bolt.async_dispatch(to_async_bolt_request(request, body))

    async def healthz(request: Request) -> Response:
        """Liveness: the process answers."""
        return JSONResponse({"ok": True})

    async def metrics(request: Request) -> Response:
        """Prometheus; behind `Authorization: Bearer METRICS_TOKEN` when that is set."""
        token = settings.metrics_token
        given = request.headers.get("authorization", "").encode()
        if token and not hmac.compare_digest(given, f"Bearer {token}".encode()):
            return PlainTextResponse("metrics need the bearer token", status_code=401)
        body, media_type = exposition()
        return Response(body, media_type=media_type)

    async def readyz(request: Request) -> Response:
        """Readiness: the database answers too (off the event loop, within a few seconds)."""
        try:
            await asyncio.wait_for(runtime.store.ping(), READY_TIMEOUT)
        except Exception as error:
            log.warning("not ready: the database is not answering (%s)", type(error).__name__)
            return JSONResponse({"ok": False, "database": "not answering"}, status_code=503)
        return JSONResponse({"ok": True, "database": "ok"})

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        log.info("serving %s", settings)
        async with runtime.running(watch=settings.run_watcher):
            yield

    web = Starlette(
        routes=[
            Route("/slack/events", slack_events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            # Kosli Actions push changes here; without a secret the path is not there (404).
            *(
                [webhook_route(runtime, settings.kosli_webhook_secret)]
                if settings.kosli_webhook_secret
                else []
            ),  # fmt: skip
        ],
        lifespan=lifespan,
    )
    web.state.bolt = bolt
    web.state.runtime = runtime
    return web


def socket_mode_handler(web: Starlette, settings: Settings) -> AsyncSocketModeHandler:
    """The same Bolt app, reached over Slack's websocket instead of POST /slack/events."""
    return AsyncSocketModeHandler(web.state.bolt, settings.slack_app_token)


def app_from_environment() -> Starlette:
    """For uvicorn's worker processes (WEB_CONCURRENCY > 1): each builds its own app."""
    settings = Settings.from_env()
    configure_logging(json_lines=os.environ.get("LOG_FORMAT", "text").strip().lower() == "json")
    web = build_web_app(settings)
    gc.collect()  # as `kosli-bot serve` does: startup's objects live for good
    gc.freeze()
    return web

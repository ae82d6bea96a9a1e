"""What the platform asks: is the process alive (/healthz), and can it serve (/readyz)."""

from __future__ import annotations

import asyncio
import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.store.store import Store

log = logging.getLogger(__name__)

READY_TIMEOUT = 3.0  # seconds: a platform's probe gives up soon after


def probe_routes(store: Store) -> list[Route]:
    async def healthz(request: Request) -> Response:
        """Liveness: the process answers."""
        return JSONResponse({"ok": True})

    async def readyz(request: Request) -> Response:
        """Readiness: the database answers too (off the event loop, within a few seconds)."""
        try:
            await asyncio.wait_for(store.ping(), READY_TIMEOUT)
        except Exception as error:
            log.warning("not ready: the database is not answering (%s)", type(error).__name__)
            return JSONResponse({"ok": False, "database": "not answering"}, status_code=503)
        return JSONResponse({"ok": True, "database": "ok"})

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
    ]

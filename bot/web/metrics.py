"""GET /metrics: the Prometheus scrape of the series bot.metrics defines."""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot.metrics import exposition


def metrics_route(token: str | None) -> Route:
    """Behind `Authorization: Bearer METRICS_TOKEN` when that is set."""

    async def metrics(request: Request) -> Response:
        given = request.headers.get("authorization", "").encode()
        if token and not hmac.compare_digest(given, f"Bearer {token}".encode()):
            return PlainTextResponse("metrics need the bearer token", status_code=401)
        body, media_type = exposition()
        return Response(body, media_type=media_type)

    return Route("/metrics", metrics, methods=["GET"])

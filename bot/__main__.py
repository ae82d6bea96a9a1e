"""`kosli-bot`: validate settings, then serve Slack over HTTP or Socket Mode."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

import uvicorn

from bot.config import ConfigError, Settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="kosli-bot", description=__doc__)
    parser.add_argument("mode", nargs="?", default="serve", choices=["serve"])
    parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = Settings.from_env()
    except ConfigError as error:
        print(error, file=sys.stderr)
        raise SystemExit(2) from None
    asyncio.run(serve(settings))


async def serve(settings: Settings) -> None:
    from bot.slack.app import build_web_app, socket_mode_handler

    web = build_web_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(web, host="0.0.0.0", port=settings.port, proxy_headers=True, log_config=None)
    )
    if settings.slack_app_token:
        # Socket Mode: Slack reaches us over a websocket; HTTP still answers /healthz.
        socket = socket_mode_handler(web, settings)
        await socket.connect_async()
    await server.serve()


if __name__ == "__main__":
    main()

"""`kosli-bot`: validate settings, then serve Slack (and watch), or only watch (`worker`)."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import sys

import uvicorn

from bot.config import ConfigError, Settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kosli-bot", description=__doc__)
    parser.add_argument(
        "mode",
        nargs="?",
        default="serve",
        choices=["serve", "worker"],
        help="serve: Slack requests and, unless RUN_WATCHER=false, the watcher; "
        "worker: the watcher alone",
    )
    return parser


def main(argv: list[str] | None = None) -> None:
    mode = build_parser().parse_args(argv).mode
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = Settings.from_env()
    except ConfigError as error:
        print(error, file=sys.stderr)
        raise SystemExit(2) from None
    asyncio.run(serve(settings) if mode == "serve" else work(settings))


async def serve(settings: Settings) -> None:
    from bot.slack.app import build_web_app, socket_mode_handler

    web = build_web_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(web, host="0.0.0.0", port=settings.port, proxy_headers=True, log_config=None)
    )
    # Startup made most of what lives for good; keep the collector's full passes off it,
    # so they do not pause acks.
    gc.collect()
    gc.freeze()
    if not settings.slack_app_token:
        await server.serve()
        return
    # Socket Mode: Slack reaches us over a websocket; HTTP still answers /healthz meanwhile.
    socket = socket_mode_handler(web, settings)
    try:
        await asyncio.gather(server.serve(), socket.connect_async())
    finally:
        await socket.close_async()


async def work(settings: Settings) -> None:
    """The watcher without a web server: a second process type next to `web`."""
    from bot.slack.app import Runtime

    runtime = Runtime.build(settings)
    async with runtime.running(watch=True):
        await asyncio.Event().wait()  # until the process is stopped


if __name__ == "__main__":
    main()

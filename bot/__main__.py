"""`kosli-bot`: validate settings, then serve Slack (and watch), or only watch (`worker`)."""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import tempfile

import uvicorn

from bot import loop
from bot.config import ConfigError, Mode, Settings, default_mode
from bot.logs import configure_logging
from bot.store.migrate import DatabaseUnreachable, wait_for_database

# At the prompt the sandbox replays the incident: #170-#177 arrive within a minute and a half.
DEFAULT_REPLAY = 60.0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kosli-bot", description=__doc__)
    parser.add_argument(
        "mode",
        nargs="?",
        choices=["serve", "worker", "shell"],
        help="serve: Slack requests and, unless RUN_WATCHER=false, the watcher; "
        "worker: the watcher alone; shell: the bot in this terminal. "
        "Default: serve when Slack settings are present, else the shell on the sandbox",
    )
    parser.add_argument(
        "-c",
        dest="commands",
        action="append",
        default=[],
        metavar="COMMAND",
        help="shell: run this command (repeatable), print the answer and exit",
    )
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help="shell: use the offline Kosli sandbox even when KOSLI_API_TOKEN is set",
    )
    parser.add_argument(
        "--sandbox-org",
        choices=("cyber-dojo", "acme"),
        default="cyber-dojo",
        help="shell on the sandbox: cyber-dojo (the 2022 tutorial's incident) or acme "
        "(today's Kosli: digests, promotion flows, policies, a rollback, a GitLab service)",
    )
    parser.add_argument(
        "--replay-speed",
        type=float,
        default=None,
        metavar="N",
        help="shell on the sandbox: start at aws-prod#169 and replay the incident N times "
        "faster than real time, so `watch aws-prod` shows #170-#177 arrive; 0 stays at the "
        f"seed's moment. Default: {DEFAULT_REPLAY:g} at the prompt, 0 with -c",
    )
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    mode: Mode | None = args.mode
    missing: list[str] = []
    if mode is None:
        mode, missing = default_mode()
    try:
        settings = Settings.from_env(mode=mode)
    except ConfigError as error:
        print(error, file=sys.stderr)
        raise SystemExit(2) from None
    if missing:
        kosli = "Kosli" if settings.kosli else "the Kosli sandbox"
        print(
            f"No Slack settings ({', '.join(missing)}): starting the shell on {kosli}.",
            file=sys.stderr,
        )
    if mode == "shell":
        from bot.shell import run_shell

        speed = args.replay_speed
        if speed is None:
            speed = 0.0 if args.commands else DEFAULT_REPLAY
        loop.run(
            run_shell(settings, args.commands, args.sandbox, speed, sandbox_org=args.sandbox_org)
        )
        return
    configure_logging(json_lines=settings.log_format == "json")
    try:
        wait_for_database(settings.needs_database(), settings.database_wait_seconds)
    except DatabaseUnreachable as error:
        print(f"kosli-bot: {error}", file=sys.stderr)
        raise SystemExit(3) from None
    if mode == "serve" and settings.web_concurrency > 1:
        serve_workers(settings)
        return
    loop.run(serve(settings) if mode == "serve" else work(settings))


def serve_workers(settings: Settings) -> None:
    """WEB_CONCURRENCY processes share the port; each runs the watcher too, and the leases in
    the database keep every poll and alert done once. Their metrics meet in one folder."""
    with tempfile.TemporaryDirectory(prefix="kosli-bot-metrics-") as folder:
        os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", folder)
        uvicorn.run(
            "bot.web.app:app_from_environment",
            factory=True,
            workers=settings.web_concurrency,
            host="0.0.0.0",
            port=settings.port,
            proxy_headers=True,
            log_config=None,
        )


async def serve(settings: Settings) -> None:
    from bot.web.app import build_web_app
    from bot.web.socket_mode import socket_mode_handler

    web = build_web_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(web, host="0.0.0.0", port=settings.port, proxy_headers=True, log_config=None)
    )
    # Startup made most of what lives for good; keep the collector's full passes off it,
    # so they do not pause acks.
    gc.collect()
    gc.freeze()
    if settings.slack is None or not settings.slack.app_token:  # OAuth mode: HTTP only
        await server.serve()
        return
    # Socket Mode: Slack reaches us over a websocket; HTTP still answers /healthz meanwhile.
    socket = socket_mode_handler(web, settings)
    connecting = socket.connect_async()  # type: ignore[no-untyped-call]  # Bolt: unannotated
    try:
        await asyncio.gather(server.serve(), connecting)
    finally:
        await socket.close_async()  # type: ignore[no-untyped-call]  # Bolt: unannotated


async def work(settings: Settings) -> None:
    """The watcher without a web server: a second process type next to `web`. In OAuth
    mode it watches for every installed workspace; the web process installs and connects."""
    from bot.runtime import Runtime

    runtime = Runtime.oauth(settings)[0] if settings.oauth is not None else Runtime.build(settings)
    async with runtime.running(watch=True):
        await asyncio.Event().wait()  # until the process is stopped


if __name__ == "__main__":
    main()

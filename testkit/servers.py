"""Run the bot's real ASGI app under uvicorn on 127.0.0.1: in a background thread (`serve`),
or in the caller's event loop (`served`), where a test drives the same Runtime between requests."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import uvicorn
from starlette.applications import Starlette


def listening() -> socket.socket:
    # Listening before uvicorn starts means no readiness polling: early clients wait in the backlog.
    # IPPROTO_TCP makes asyncio set TCP_NODELAY on accepted connections (no ~40 ms stalls).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


@contextmanager
def serve(app: Starlette) -> Iterator[str]:
    sock = listening()
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@asynccontextmanager
async def served(app: Starlette, lifespan: str = "on") -> AsyncIterator[str]:
    sock = listening()
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan=lifespan))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await serving
        sock.close()

"""A fake GitHub / GitLab API on 127.0.0.1 that answers recorded bodies (tests/data/git)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlparse

RECORDED = Path(__file__).resolve().parent.parent / "data" / "git"


def recorded(name: str) -> Any:
    return json.loads((RECORDED / name).read_text())


def recorded_headers(name: str) -> dict[str, str]:
    return dict(recorded("headers.json").get(name, {}).get("headers", {}))


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class FakeGitHost:
    """Answers GET path (with its query, when the route names one) from `routes`; anything
    else is GitHub's 404. `requests` holds (path, query, headers) in arrival order."""

    routes: dict[str, Reply] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str], dict[str, str]]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def route(self, path: str, reply: Reply) -> None:
        self.routes[path] = reply

    def start(self) -> FakeGitHost:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlparse(self.path)
                query = dict(parse_qsl(url.query))
                fake.requests.append((url.path, query, dict(self.headers)))
                reply = fake.routes.get(self.path) or fake.routes.get(url.path)
                if reply is None:
                    reply = Reply(404, recorded("github-compare-404.json"))
                payload = (
                    reply.body.encode()
                    if isinstance(reply.body, str)
                    else json.dumps(reply.body).encode()
                )
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

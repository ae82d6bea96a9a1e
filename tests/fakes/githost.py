"""A fake GitHub / GitLab API on 127.0.0.1 that answers recorded bodies (tests/data/git)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlparse

from testkit.fakes.http import JsonHandler, serve_in_thread, stop_serving

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

        class Handler(JsonHandler):
            def do_GET(self) -> None:
                url = urlparse(self.path)
                query = dict(parse_qsl(url.query))
                fake.requests.append((url.path, query, dict(self.headers)))
                reply = fake.routes.get(self.path) or fake.routes.get(url.path)
                if reply is None:
                    reply = Reply(404, recorded("github-compare-404.json"))
                self.reply(reply.status, reply.body, reply.headers)

        self._server = serve_in_thread(Handler)
        return self

    def stop(self) -> None:
        stop_serving(self._server)

"""A fake Slack Web API and response_url receiver, served over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlparse


@dataclass
class Call:
    path: str
    body: dict[str, Any]
    headers: dict[str, str]


@dataclass
class FakeSlack:
    """Records every call; `responses` collects what the bot posts to response URLs."""

    calls: list[Call] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)
    _faults: list[tuple[str, int, dict[str, Any], dict[str, str]]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    def response_url(self, name: str = "1") -> str:
        return f"{self.base_url}/response/{name}"

    def responses(self, name: str = "1") -> list[dict[str, Any]]:
        return [c.body for c in self.calls if c.path == f"/response/{name}"]

    def api_calls(self, method: str) -> list[dict[str, Any]]:
        return [c.body for c in self.calls if c.path == f"/api/{method}"]

    def fail_next(
        self, path: str, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        self._faults.append((path, status, body, headers or {}))

    def wait_for(self, path: str, count: int = 1, timeout: float = 10.0) -> list[Call]:
        """Block until `count` calls to `path` arrived (the bot answers asynchronously)."""
        with self.arrived:
            self.arrived.wait_for(
                lambda: len([c for c in self.calls if c.path == path]) >= count, timeout
            )
        found = [c for c in self.calls if c.path == path]
        assert len(found) >= count, f"expected {count} calls to {path}, got {len(found)}"
        return found

    def start(self) -> FakeSlack:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                if self.headers.get("Content-Type", "").startswith("application/json"):
                    body = json.loads(raw or "{}")
                else:
                    body = dict(parse_qsl(raw))
                path = urlparse(self.path).path
                status, answer, extra = fake._answer(path, body)
                with fake.arrived:
                    fake.calls.append(Call(path, body, dict(self.headers)))
                    fake.arrived.notify_all()
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in extra.items():
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

    def _answer(
        self, path: str, body: dict[str, Any]
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        for fault in self._faults:
            if fault[0] == path:
                self._faults.remove(fault)
                return fault[1], fault[2], fault[3]
        if path == "/api/auth.test":
            return (
                200,
                {"ok": True, "user_id": "UKOSLIBOT", "bot_id": "BKOSLI", "team_id": "T1"},
                {},
            )
        if path == "/api/chat.postMessage":
            ts = f"1700000000.{len(self.calls):06d}"
            return 200, {"ok": True, "channel": body.get("channel"), "ts": ts}, {}
        if path.startswith("/response/"):
            return 200, {"ok": True}, {}
        return 200, {"ok": False, "error": "unknown_method"}, {}

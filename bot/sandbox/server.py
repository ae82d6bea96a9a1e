"""KosliSandbox: the fake Kosli API served over real HTTP on 127.0.0.1.

Used as the Kosli server in tests and by the bot's demo mode. Requests are answered from a
Dataset as it looks at `now()`; without one, the bundled dataset of the org: `acme` (today's
shapes) or, for any other org, the cyber-dojo story of 2022.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from .acme import acme
from .api import Api, ApiError
from .cyber_dojo import cyber_dojo
from .dataset import ArtifactRecord, Dataset, RunningArtifact
from .git import github_answer, gitlab_answer, histories

BUNDLED: dict[str, Callable[[], Dataset]] = {"acme": acme, "cyber-dojo": cyber_dojo}


@dataclass
class _Reply:
    status: int
    body: bytes
    headers: dict[str, str]


def _json_reply(status: int, payload: object) -> _Reply:
    return _Reply(status, json.dumps(payload).encode(), {})


class KosliSandbox:
    def __init__(
        self,
        org: str = "cyber-dojo",
        token: str | None = "sandbox-token",
        dataset: Dataset | None = None,
        now: Callable[[], float] | None = None,
    ) -> None:
        self.org = org
        self.token = token  # None: accept any Authorization, or none
        self.dataset = dataset if dataset is not None else BUNDLED.get(org, cyber_dojo)()
        self.now = now or time.time
        self.base_url = ""
        self.requests: list[tuple[str, str]] = []  # (method, path with query), in arrival order
        self.gate: threading.Event | None = None  # when set, each request waits for it
        # Requests whose path holds a key wait for its event: one environment slow to answer.
        self.held: dict[str, threading.Event] = {}
        self.latency = 0.0  # seconds each request takes, as a real Kosli's round trip would
        self._faults: list[tuple[str | None, _Reply]] = []
        self._lock = threading.Lock()  # the dataset, requests and faults are shared with handlers
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        if self._server is None:
            self._server = _Server(("127.0.0.1", 0), _Handler, self)
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.02},  # how long stop() may wait for the loop to notice
                name="kosli-sandbox",
                daemon=True,
            )
            self._thread.start()
            self.base_url = f"http://127.0.0.1:{self._server.server_port}"
        return self.base_url

    @property
    def github_url(self) -> str:
        """Where the story's git history answers in GitHub's API shapes."""
        return f"{self.base_url}/github"

    @property
    def gitlab_url(self) -> str:
        """… and in GitLab's (its API lives under /api/v4 of this)."""
        return f"{self.base_url}/gitlab"

    def stop(self) -> None:
        if self._server is None:
            return
        for event in [self.gate, *self.held.values()]:
            if event is not None:
                event.set()  # release handlers still waiting, or they would outlive the server
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = self._thread = None

    def __enter__(self) -> KosliSandbox:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def fail_next(
        self,
        status: int,
        body: str | None = None,
        headers: dict[str, str] | None = None,
        times: int = 1,
        only: str | None = None,
    ) -> None:
        """Answer the next `times` requests (whose path contains `only`, when given) with this
        instead of the real answer."""
        payload = body if body is not None else json.dumps({"message": f"sandbox fault {status}"})
        with self._lock:
            for _ in range(times):
                reply = _Reply(status, payload.encode(), dict(headers or {}))
                self._faults.append((only, reply))

    def add_snapshot(
        self,
        env: str,
        timestamp: float,
        artifacts: list[RunningArtifact],
        records: list[ArtifactRecord] | None = None,
    ) -> int:
        """Report the next snapshot of `env`; returns its index. `records`: what the flows
        know of new builds (their trails, commits); a minimal record stands in for any other."""
        with self._lock:
            environment = self.dataset.environment(env)
            if environment is None:
                raise KeyError(f"no environment named {env!r}")
            snapshot = environment.append(timestamp, artifacts, self.dataset.era)
            self.dataset.artifacts += records or []
            known = {r.fingerprint for r in self.dataset.artifacts}
            for a in artifacts:
                if a.fingerprint not in known:  # so search and artifacts can find it too
                    self.dataset.artifacts.append(_record_for(a, timestamp))
                    known.add(a.fingerprint)
            return snapshot.index

    def _answer(self, method: str, target: str, authorization: str | None) -> _Reply:
        with self._lock:
            self.requests.append((method, target))
            fault = next((f for f in self._faults if f[0] is None or f[0] in target), None)
            if fault is not None:
                self._faults.remove(fault)
        gate = self.gate
        if gate is not None:
            gate.wait()
        for part, held in list(self.held.items()):
            if part in target:
                held.wait()
        if self.latency:
            time.sleep(self.latency)
        if fault is not None:
            return fault[1]
        url = urlsplit(target)
        if url.path.startswith(("/github/", "/gitlab/")):  # the story's git hosts, anonymous
            with self._lock:
                repos = histories(self.dataset)
            try:
                if url.path.startswith("/github/"):
                    return _json_reply(200, github_answer(url.path, repos))
                return _json_reply(200, gitlab_answer(url.path, url.query, repos))
            except ApiError as e:
                return _json_reply(e.status, {"message": e.message})
        if self.token is not None and authorization != f"Bearer {self.token}":
            return _json_reply(401, {"message": "Invalid or missing API token"})
        if method != "GET":
            return _json_reply(405, {"message": f"Method {method} is not allowed here"})
        with self._lock:
            api = Api(self.dataset, self.org, self.now())
            try:
                payload = api.get(url.path, url.query)
            except ApiError as e:
                return _json_reply(e.status, {"message": e.message})
            return _Reply(200, json.dumps(payload).encode(), api.headers)


def _record_for(a: RunningArtifact, timestamp: float) -> ArtifactRecord:
    """A minimal record for an artifact first seen in an added snapshot."""
    return ArtifactRecord(
        filename=a.name,
        flow_name=a.flow_name,
        fingerprint=a.fingerprint,
        created_at=None if not a.flow_name else min(a.started_at, timestamp),
        git_commit=a.git_commit,
        commit_url=a.commit_url,
        build_url=None,
        html_url=None,
        state="COMPLIANT" if a.compliant else "NON-COMPLIANT",
        trail_name=a.git_commit or "",
    )


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # socketserver's 5 drops the SYNs of a burst (a 1 s retry each)

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        sandbox: KosliSandbox,
    ) -> None:
        self.sandbox = sandbox
        super().__init__(address, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client killed mid-request
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    # Keep-alive, as Kosli's own servers do: a new connection a request would cost both sides
    # more than the answer. Headers and body go in two writes: without TCP_NODELAY the second
    # waits for the client's delayed ACK (40 ms) on a kept-alive connection.
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)  # bodies are ignored, but must be drained
        reply = self.server.sandbox._answer(
            self.command, self.path, self.headers.get("Authorization")
        )
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (e.g. its timeout while the gate was shut)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep test output quiet

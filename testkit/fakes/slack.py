"""A fake Slack Web API and response_url receiver, served over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlparse

from aiohttp import WSMsgType, web

from testkit.fakes.http import JsonHandler, serve_in_thread, stop_serving


@dataclass
class Call:
    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)  # when it arrived (for benchmarks)


@dataclass
class FakeSlack:
    """Records every call; `responses` collects what the bot posts to response URLs."""

    calls: list[Call] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)
    _faults: list[tuple[str, int, dict[str, Any], dict[str, str]]] = field(default_factory=list)
    # What apps.connections.open hands out (a FakeSocketMode's url); None: Socket Mode is off.
    socket_url: str | None = None
    # Messages posted with chat.postMessage, per channel, as conversations.history returns them.
    channels: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # Channels the bot cannot post to, with the error Slack gives (e.g. not_in_channel).
    closed: dict[str, str] = field(default_factory=dict)
    # Channels where Slack refuses messages with blocks (e.g. invalid_blocks), and also
    # plain messages whose text holds one of `refuse_text`.
    refuse_blocks: dict[str, str] = field(default_factory=dict)
    refuse_text: set[str] = field(default_factory=set)
    # How many more posts to a channel get 429 ratelimited (Retry-After: 0), once the
    # channel has had `limit_after` (default 0) posts accepted.
    rate_limited: dict[str, int] = field(default_factory=dict)
    limit_after: dict[str, int] = field(default_factory=dict)
    # Files shared with files_upload_v2: id, title, channel_id, thread_ts, content.
    files: list[dict[str, Any]] = field(default_factory=list)
    # Bot tokens Slack no longer takes (the app was uninstalled, the token revoked).
    revoked: set[str] = field(default_factory=set)
    _uploads: dict[str, bytes] = field(default_factory=dict)
    # The Home tab each user was last shown (views.publish), and every chat.unfurl's unfurls.
    home_views: dict[str, dict[str, Any]] = field(default_factory=dict)
    unfurled: list[dict[str, Any]] = field(default_factory=list)
    # OAuth mode: what oauth.v2.access answers for each code (see `grant`), and the team of
    # each bot token it handed out, which auth.test then names.
    grants: dict[str, dict[str, Any]] = field(default_factory=dict)
    token_teams: dict[str, str] = field(default_factory=dict)
    # Modals opened with views.open: trigger_id and view.
    views: list[dict[str, Any]] = field(default_factory=list)
    _answering: threading.Lock = field(default_factory=threading.Lock)
    _ts: Iterator[int] = field(default_factory=lambda: itertools.count(1))
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

    def posted(self, channel: str) -> list[dict[str, Any]]:
        return list(self.channels.get(channel, []))

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

    def grant(self, code: str, team: str, bot_token: str, enterprise: str | None = None) -> None:
        """Slack's answer to oauth.v2.access with `code`: the app installed in `team` (or,
        with `enterprise` and no team, org-wide in that Enterprise Grid org)."""
        self.grants[code] = {
            "ok": True,
            "app_id": "A0KOSLIBOT",
            "authed_user": {"id": "UINSTALLER"},
            "scope": "commands,chat:write",
            "token_type": "bot",
            "access_token": bot_token,
            "bot_user_id": "UKOSLIBOT",
            "team": {"id": team, "name": f"Team {team}"} if team else None,
            "enterprise": {"id": enterprise, "name": f"Org {enterprise}"} if enterprise else None,
            "is_enterprise_install": bool(enterprise and not team),
        }
        self.token_teams[bot_token] = team or enterprise or ""

    def start(self) -> FakeSlack:
        fake = self

        class Handler(JsonHandler):
            # Connections kept alive, as slack.com keeps them (HTTP/1.0 made every post a new
            # connection, the bot's cost in a bench); headers and body go in two writes, so
            # without TCP_NODELAY the second would wait for the client's delayed ACK.
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_GET(self) -> None:
                # slack_sdk sends some methods (conversations.history) as GET with a query.
                self._handle(dict(parse_qsl(urlparse(self.path).query)))

            def do_POST(self) -> None:
                data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                url = urlparse(self.path)
                if url.path.startswith("/upload/"):  # files_upload_v2 sends the bytes here
                    fake._uploads[url.path.rsplit("/", 1)[-1]] = data
                    self._handle({})
                    return
                raw = data.decode()
                if self.headers.get("Content-Type", "").startswith("application/json"):
                    body = json.loads(raw or "{}")
                else:
                    body = dict(parse_qsl(raw))
                # Some methods send their arguments in the query string of a POST.
                self._handle({**dict(parse_qsl(url.query)), **body})

            def _handle(self, body: dict[str, Any]) -> None:
                path = urlparse(self.path).path
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                with fake._answering:  # one at a time, as ts numbers and faults are shared
                    if token in fake.revoked:
                        status, answer, extra = 200, {"ok": False, "error": "token_revoked"}, {}
                    else:
                        status, answer, extra = fake._answer_install(
                            path, body, token
                        ) or fake._answer(path, body)
                with fake.arrived:
                    fake.calls.append(Call(path, body, dict(self.headers)))
                    fake.arrived.notify_all()
                self.reply(status, answer, extra)

        self._server = serve_in_thread(Handler)
        return self

    def stop(self) -> None:
        stop_serving(self._server)

    def _answer_install(
        self, path: str, body: dict[str, Any], token: str
    ) -> tuple[int, dict[str, Any], dict[str, str]] | None:
        """OAuth mode's methods: installs, each token's own auth.test, modals."""
        if path == "/api/oauth.v2.access":
            grant = self.grants.get(str(body.get("code")))
            return 200, grant or {"ok": False, "error": "invalid_code"}, {}
        if path == "/api/auth.test" and token in self.token_teams:
            team = self.token_teams[token]
            answer = {"ok": True, "user_id": "UKOSLIBOT", "bot_id": "BKOSLI", "team_id": team}
            return 200, answer, {}
        if path == "/api/views.open":
            view = body.get("view")
            opened = json.loads(view) if isinstance(view, str) else view
            self.views.append({"trigger_id": body.get("trigger_id"), "view": opened})
            return 200, {"ok": True, "view": {"id": f"V{len(self.views):04d}"}}, {}
        return None

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
            channel = str(body.get("channel"))
            if channel in self.closed:
                return 200, {"ok": False, "error": self.closed[channel]}, {}
            if channel in self.refuse_blocks and (
                body.get("blocks") or any(t in str(body.get("text", "")) for t in self.refuse_text)
            ):
                return 200, {"ok": False, "error": self.refuse_blocks[channel]}, {}
            accepted = len(self.channels.get(channel, []))
            if self.rate_limited.get(channel, 0) > 0 and accepted >= self.limit_after.get(
                channel, 0
            ):
                self.rate_limited[channel] -= 1
                return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "0"}
            ts = f"1700000000.{next(self._ts):06d}"
            posted = {
                "ts": ts,
                "text": body.get("text"),
                "blocks": body.get("blocks"),
                "thread_ts": body.get("thread_ts"),
            }
            if body.get("metadata"):
                metadata = body["metadata"]
                posted["metadata"] = json.loads(metadata) if isinstance(metadata, str) else metadata
            self.channels.setdefault(channel, []).append(posted)
            return 200, {"ok": True, "channel": channel, "ts": ts}, {}
        if path == "/api/chat.delete":
            posts = self.channels.get(str(body.get("channel")), [])
            kept = [m for m in posts if m["ts"] != body.get("ts")]
            if len(kept) == len(posts):
                return 200, {"ok": False, "error": "message_not_found"}, {}
            self.channels[str(body.get("channel"))] = kept
            return 200, {"ok": True, "channel": body.get("channel"), "ts": body.get("ts")}, {}
        if path == "/api/chat.postEphemeral":
            if str(body.get("channel")) in self.closed:
                return 200, {"ok": False, "error": self.closed[str(body.get("channel"))]}, {}
            return 200, {"ok": True, "message_ts": f"1700000000.{next(self._ts):06d}"}, {}
        if path in ("/api/views.publish", "/api/chat.unfurl", "/api/chat.getPermalink"):
            return self._home_and_links(path, body)
        if path == "/api/files.getUploadURLExternal":
            file_id = f"F{len(self.files) + len(self._uploads) + 1:04d}"
            url = f"{self.base_url}/upload/{file_id}"
            return 200, {"ok": True, "upload_url": url, "file_id": file_id}, {}
        if path.startswith("/upload/"):
            return 200, {"ok": True}, {}
        if path == "/api/files.completeUploadExternal":
            shared = []
            for item in json.loads(body["files"]):
                shared.append(
                    {
                        **item,
                        "channel_id": body.get("channel_id"),
                        "thread_ts": body.get("thread_ts"),
                        "initial_comment": body.get("initial_comment"),
                        "content": self._uploads.pop(item["id"], b"").decode(),
                    }
                )
            self.files += shared
            return 200, {"ok": True, "files": [{"id": f["id"]} for f in shared]}, {}
        if path == "/api/conversations.replies":
            thread = str(body.get("ts"))
            messages = [
                m
                for m in self.channels.get(str(body.get("channel")), [])
                if thread in (m["ts"], m.get("thread_ts"))
            ]
            return 200, {"ok": True, "messages": messages, "has_more": False}, {}
        if path == "/api/conversations.history":
            messages = list(reversed(self.channels.get(str(body.get("channel")), [])))
            return 200, {"ok": True, "messages": messages, "has_more": False}, {}
        if path.startswith("/response/"):
            return 200, {"ok": True}, {}
        if path == "/api/apps.connections.open" and self.socket_url is not None:
            return 200, {"ok": True, "url": self.socket_url}, {}
        return 200, {"ok": False, "error": "unknown_method"}, {}

    def _home_and_links(
        self, path: str, body: dict[str, Any]
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """views.publish, chat.unfurl and chat.getPermalink, as Slack answers them."""
        if path == "/api/views.publish":
            view = body.get("view")
            view = json.loads(view) if isinstance(view, str) else view
            if not isinstance(view, dict) or view.get("type") != "home":
                return 200, {"ok": False, "error": "invalid_arguments"}, {}
            self.home_views[str(body.get("user_id"))] = view
            return 200, {"ok": True, "view": {"id": "V0HOME", **view}}, {}
        if path == "/api/chat.unfurl":
            unfurls = body.get("unfurls")
            unfurls = json.loads(unfurls) if isinstance(unfurls, str) else unfurls
            if not isinstance(unfurls, dict) or not (
                body.get("unfurl_id") or (body.get("channel") and body.get("ts"))
            ):
                return 200, {"ok": False, "error": "invalid_arguments"}, {}
            self.unfurled.append(body)
            return 200, {"ok": True}, {}
        channel, ts = str(body.get("channel")), str(body.get("message_ts"))
        if not any(m["ts"] == ts for m in self.channels.get(channel, [])):
            return 200, {"ok": False, "error": "message_not_found"}, {}
        link = f"https://fake-slack.example/archives/{channel}/p{ts.replace('.', '')}"
        return 200, {"ok": True, "channel": channel, "permalink": link}, {}


class FakeSocketMode:
    """Slack's end of a Socket Mode websocket (aiohttp.web on 127.0.0.1), for one asyncio loop.

    Says `hello` to each connecting bot, sends the envelopes a test gives it and queues every
    message the bot sends back (its acks). Start and use it inside the loop that runs the bot.
    """

    def __init__(self) -> None:
        self.received: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.connected = asyncio.Event()  # set once a bot has been greeted
        self.url = ""
        self._sockets: list[web.WebSocketResponse] = []
        self._runner: web.AppRunner | None = None

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/link", self._link)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        # Binding our own socket gives the port without reaching into aiohttp's internals.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        await web.SockSite(self._runner, sock).start()
        self.url = f"ws://127.0.0.1:{sock.getsockname()[1]}/link"
        return self.url

    async def stop(self) -> None:
        for ws in self._sockets:
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def send(self, envelope: dict[str, Any], timeout: float = 10.0) -> None:
        """Send to the bot connected most recently (waits for it to connect)."""
        await asyncio.wait_for(self.connected.wait(), timeout)
        await self._sockets[-1].send_json(envelope)

    async def next_from_bot(self, timeout: float = 10.0) -> dict[str, Any]:
        return await asyncio.wait_for(self.received.get(), timeout)

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()  # answers the client's pings by itself (autoping)
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": len(self._sockets),
                "connection_info": {"app_id": "A0KOSLIBOT"},
            }
        )
        self.connected.set()
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                self.received.put_nowait(json.loads(message.data))
        return ws

"""Kosli Actions' webhook: `POST /kosli/webhook/{secret}` makes the watcher poll that
environment at once, so an alert follows a change in seconds; polling stays the safety net.

Kosli signs nothing, so the secret in the URL is the authentication: compared in constant
time, and a wrong one is a plain 404 that does no work.

Installed into many workspaces, a push concerns every workspace connected to the org it
names: each one that watches that environment polls it, in its own org, for its own
channels. Single-workspace mode serves one org and refuses pushes of any other.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.background import in_background
from bot.kosli.parsing import moment
from bot.metrics import WEBHOOKS
from bot.web.gate import Refusal, ascii_digits, read_body
from bot.workspaces import Workspace, Workspaces

log = logging.getLogger(__name__)

MAX_WEBHOOK = 64 * 1024  # Kosli's payload is under 2 kB
_FINGERPRINT = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True)
class Push:
    org: str
    env: str
    event: str
    snapshot: int | None
    at: datetime | None = None  # when Kosli saw it; digits in a string, a number or ISO 8601
    compliant: bool | None = None  # the snapshot's status, where Kosli says it
    allow_listed: str = ""  # the build's fingerprint, when the push tells an allow-listing

    def news_about(self, last_seen_index: int, last_seen_compliant: bool | None) -> bool:
        """Whether it can tell the watcher anything: a snapshot not read yet, or the last one
        read, now with another compliance (a push names no snapshot: poll to see)."""
        if self.snapshot is None or self.snapshot > last_seen_index:
            return True
        return (
            self.snapshot == last_seen_index
            and self.compliant is not None
            and self.compliant != last_seen_compliant
        )


def parse_push(body: bytes) -> Push | Refusal:
    """Kosli's payload, or why not: numbers arrive as strings, and anything may be missing."""
    try:
        data: Any = json.loads(body)
    except (ValueError, RecursionError):
        return Refusal(400, "not JSON")
    if not isinstance(data, dict):
        return Refusal(400, "not a JSON object")
    org, env, event = data.get("org"), data.get("environment"), data.get("event_type", "")
    if not isinstance(org, str) or not isinstance(env, str) or not isinstance(event, str):
        return Refusal(422, "org, environment and event_type must be strings")
    if not env or len(env) > 255 or not env.isprintable():
        return Refusal(422, "bad environment name")
    snapshot = data.get("snapshot")
    index = snapshot.get("index") if isinstance(snapshot, dict) else None
    number = str(index) if isinstance(index, (str, int)) and not isinstance(index, bool) else ""
    valid = ascii_digits(number) and len(number) < 12
    at = moment(data.get("timestamp"))
    status = snapshot.get("status") if isinstance(snapshot, dict) else None
    compliant = _compliance_of(status) if isinstance(status, str) else None
    artifact = data.get("artifact")
    fingerprint = artifact.get("fingerprint") if isinstance(artifact, dict) else None
    allow_listed = (
        fingerprint.lower()
        if "ALLOW" in event.upper()
        and isinstance(fingerprint, str)
        and _FINGERPRINT.fullmatch(fingerprint)
        else ""
    )
    return Push(org, env, event[:64], int(number) if valid else None, at, compliant, allow_listed)


def _compliance_of(status: str) -> bool | None:
    """'compliant', 'non-compliant' (also 'NON_COMPLIANT', 'incompliant'); else unknown."""
    word = status.lower().replace("-", "").replace("_", "").replace(" ", "")
    return {"compliant": True, "noncompliant": False, "incompliant": False}.get(word)


def webhook_route(workspaces: Workspaces, secret: str) -> Route:

    async def receive(request: Request) -> Response:
        given = str(request.path_params["secret"]).encode()
        if not hmac.compare_digest(given, secret.encode()):
            WEBHOOKS.labels("wrong secret").inc()
            return Response("Not Found", status_code=404)
        body = await read_body(request, MAX_WEBHOOK)
        push = parse_push(body) if isinstance(body, bytes) else body
        if isinstance(push, Refusal):
            return _refuse(push)
        single = workspaces.single_workspace
        if single is not None and push.org != single.kosli.org:
            return _refuse(Refusal(403, f"this bot serves org {single.kosli.org}"))
        concerned = [w for w in await workspaces.watching(push.env) if w.kosli.org == push.org]
        outcomes = {await _take(workspace, push) for workspace in concerned}
        if "polled" in outcomes:
            WEBHOOKS.labels("polled").inc()
            log.debug(
                "Kosli Actions: %s in %s at %s", push.event, push.env, push.at or "an unsaid time"
            )
            return JSONResponse({"ok": True, "polled": True}, 202)
        if "seen" in outcomes:
            WEBHOOKS.labels("seen").inc()
            return JSONResponse({"ok": True, "polled": False, "why": "already seen"}, 202)
        WEBHOOKS.labels("unwatched").inc()
        return JSONResponse({"ok": True, "polled": False, "why": "nobody watches it"}, 202)

    return Route("/kosli/webhook/{secret:path}", receive, methods=["POST"])


async def _take(workspace: Workspace, push: Push) -> str:
    """What one workspace does with the push: "unwatched", "seen", or "polled" (it polls the
    environment now, in the background)."""
    if not await workspace.store.environments.watched(push.env):
        return "unwatched"
    if push.allow_listed:  # its return to compliance is worded so when a poll sees it
        workspace.watcher.heard_allow_listed(push.env, push.allow_listed)
    state = await workspace.store.environments.state(push.env)
    if state and not push.news_about(state.last_seen_index, state.last_seen_compliant):
        return "seen"
    in_background(workspace.watcher.poll_now(push.env), f"webhook poll of {push.env}")
    return "polled"


def _refuse(refusal: Refusal) -> Response:
    WEBHOOKS.labels(refusal.reason.split(":")[0][:40]).inc()
    log.info("refused a Kosli webhook: %s", refusal.reason)
    return JSONResponse({"ok": False, "error": refusal.reason}, refusal.status)

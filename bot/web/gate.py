"""The door to POST /slack/events, the one place a Slack request is checked: what is too big,
malformed, not signed by Slack or not from a workspace served is refused before Bolt sees it,
cheaply, and each refusal is logged as one short line (never the body)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qs

from slack_sdk.web.async_client import AsyncWebClient
from starlette.requests import Request

from bot.store import StoreError
from bot.store.installations import Installations, workspace_key

log = logging.getLogger(__name__)

# Slack's own payloads are a few kB (a slash command, an event, a button click with its message);
# 256 kB leaves room for the largest while a flood costs at most this much per request.
MAX_BODY = 256 * 1024
MAX_SKEW = 5 * 60  # seconds: Slack's own limit on a request's age

# What a request says, parsed: a JSON body, or a form's `payload`, as its object; else the form's
# fields. Slack's Socket Mode envelopes carry the same objects.
Fields = dict[str, Any]


@dataclass(frozen=True)
class Refusal:
    status: int
    reason: str


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes | Refusal:
    """The raw body, read no further than `limit`: a bigger one is refused unread."""
    declared = request.headers.get("content-length", "")
    if declared and not ascii_digits(declared):
        return Refusal(400, "bad length")
    if declared and int(declared) > limit:
        return Refusal(413, "body too large")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return Refusal(413, "body too large")
        chunks.append(chunk)
    return b"".join(chunks)


async def admit(
    body: bytes, headers: Mapping[str, str], secret: str, teams: Served
) -> Fields | Refusal:
    """The one check of a Slack request over HTTP: signed, readable, from a workspace served."""
    fields = check(body, headers, secret)
    if isinstance(fields, Refusal) or is_handshake(fields):
        return fields
    refusal = await refuse_team(fields, teams)
    return fields if refusal is None else refusal


def check(body: bytes, headers: Mapping[str, str], secret: str) -> Fields | Refusal:
    """Slack's signature over the raw bytes, a fresh timestamp, and a body Bolt can read;
    returns what the body says."""
    stamp = headers.get("x-slack-request-timestamp", "")
    signature = headers.get("x-slack-signature", "")
    if not ascii_digits(stamp) or len(stamp) > 12:
        return Refusal(401, "missing or malformed timestamp")
    if abs(time.time() - int(stamp)) > MAX_SKEW:
        return Refusal(401, "stale timestamp")
    base = b"v0:" + stamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        return Refusal(401, "bad signature")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return Refusal(400, "body is not UTF-8")
    if "application/json" in headers.get("content-type", ""):
        data = _object(text)
        return Refusal(400, "body is not a JSON object") if data is None else data
    form = {name: values[0] for name, values in parse_qs(text).items()}
    if "payload" in form:
        data = _object(form["payload"])
        return Refusal(400, "payload is not a JSON object") if data is None else data
    return form


def is_handshake(fields: Fields) -> bool:
    """Slack's checks of the URL itself (ssl_check, url_verification): they name no workspace,
    and Bolt answers them without doing any work."""
    return fields.get("ssl_check") == "1" or fields.get("type") == "url_verification"


def is_slash_command(fields: Fields, command: str) -> bool:
    return fields.get("command") == command and not is_handshake(fields)


def team_of(fields: Fields) -> str:
    """The workspace a request comes from: `team_id` (slash commands, events) or `team.id`
    (buttons); empty when it names none."""
    team = fields.get("team_id")
    if team is None and isinstance(fields.get("team"), dict):
        team = fields["team"].get("id")
    return team if isinstance(team, str) else ""


def workspace_of(fields: Fields) -> str:
    """The workspace an install serves that a request comes from (OAuth mode): its team, or
    its enterprise when the app is installed org-wide on an Enterprise Grid."""
    enterprise = fields.get("enterprise_id")
    if enterprise is None and isinstance(fields.get("enterprise"), dict):
        enterprise = fields["enterprise"].get("id")
    return workspace_key(
        enterprise if isinstance(enterprise, str) else None,
        team_of(fields),
        fields.get("is_enterprise_install") in (True, "true"),
    )


class WorkspaceUnknown(Exception):
    """Slack did not say which workspace the bot's token belongs to (or the database of
    installations did not answer)."""


class Served(Protocol):
    """Which workspaces this bot answers."""

    def workspace(self, fields: Fields) -> str:
        """The workspace a request comes from, as this mode names workspaces."""
        ...

    async def serves(self, workspace: str) -> bool:
        """Raises WorkspaceUnknown when it cannot tell."""
        ...


class Teams:
    """Which workspaces are served: ALLOWED_TEAM_IDS, or the one the bot's token belongs to
    (Slack's auth.test says, asked once)."""

    def __init__(self, allowed: frozenset[str], client: AsyncWebClient) -> None:
        self.allowed = allowed
        self.client = client
        self.installed: str | None = None
        self._asking = asyncio.Lock()  # a burst of first requests asks Slack once

    async def served(self) -> frozenset[str]:
        if self.allowed:
            return self.allowed
        if self.installed is not None:  # every request but the first few: no lock on the ack
            return frozenset((self.installed,))
        async with self._asking:
            if self.installed is None:
                try:
                    answer = await self.client.auth_test()
                except Exception as error:  # aiohttp's errors vary; any of them means "not known"
                    raise WorkspaceUnknown(type(error).__name__) from error
                self.installed = str(answer["team_id"])
        return frozenset((self.installed,))

    def workspace(self, fields: Fields) -> str:
        return team_of(fields)

    async def serves(self, workspace: str) -> bool:
        return workspace in await self.served()


class InstalledTeams:
    """OAuth mode: the workspaces the app is installed in (and among ALLOWED_TEAM_IDS, when
    set), as the installation store says."""

    def __init__(self, installations: Installations, allowed: frozenset[str]) -> None:
        self.installations = installations
        self.allowed = allowed

    def workspace(self, fields: Fields) -> str:
        return workspace_of(fields)

    async def serves(self, workspace: str) -> bool:
        if not workspace or (self.allowed and workspace not in self.allowed):
            return False
        try:
            return await self.installations.installed(workspace)
        except StoreError as error:
            raise WorkspaceUnknown(type(error).__name__) from error


async def refuse_team(fields: Fields, teams: Served) -> Refusal | None:
    """Why a request from another workspace, or naming none, is refused: the signing secret
    and the app token are shared by every install of the app, so a valid signature alone does
    not say the request is ours to answer."""
    team = teams.workspace(fields)
    try:
        served = await teams.serves(team)
    except WorkspaceUnknown as error:
        return Refusal(503, f"cannot tell which workspace is served ({error})")
    if not team:
        return Refusal(403, "names no workspace")
    if not served:
        return Refusal(403, f"workspace {team[:32]!r} is not served here")
    return None


def _object(text: str) -> Fields | None:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def log_refusal(request: Request, refusal: Refusal, size: int | None) -> None:
    """One line: what was refused, why, how big, from where; control characters escaped."""
    client = request.client.host if request.client else "unknown"
    length = "unread" if size is None else f"{size} bytes"
    agent = request.headers.get("user-agent", "")[:80].encode("unicode_escape").decode()
    log.warning(
        "refused %s %s: %s (%s, from %s, agent %r)",
        request.method,
        request.url.path,
        refusal.reason,
        length,
        client,
        agent,
    )


def ascii_digits(text: str) -> bool:
    """ASCII digits only: str.isdigit() also takes '¹' (Latin-1 in a header), which int() won't."""
    return text.isascii() and text.isdigit()

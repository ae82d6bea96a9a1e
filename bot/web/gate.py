"""The door to POST /slack/events: refuse what is too big, malformed or not signed by Slack
before anything parses it, cheaply, and log each refusal as one short line (never the body)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs

from starlette.requests import Request

log = logging.getLogger(__name__)

# Slack's own payloads are a few kB (a slash command, an event, a button click with its message);
# 256 kB leaves room for the largest while a flood costs at most this much per request.
MAX_BODY = 256 * 1024
MAX_SKEW = 5 * 60  # seconds: Slack's own limit on a request's age

Form = dict[str, list[str]]  # a form body's fields, as parse_qs reads them


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


def check(body: bytes, headers: Mapping[str, str], secret: str) -> Refusal | Form:
    """Slack's signature over the raw bytes, a fresh timestamp, and a body Bolt can read;
    returns the form's fields (none for a JSON body)."""
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
        return {} if _is_object(text) else Refusal(400, "body is not a JSON object")
    form = parse_qs(text)
    payload = form.get("payload")
    if payload is not None and not _is_object(payload[0]):
        return Refusal(400, "payload is not a JSON object")
    return form


def slash_command_team(form: Form, command: str) -> str | None:
    """The team of a slash `command` (from a checked form); None for anything else."""
    if form.get("command") != [command] or "ssl_check" in form:
        return None
    return form.get("team_id", [""])[0]


def _is_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


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

"""Requests signed exactly as Slack signs them (and forged ones)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from urllib.parse import urlencode

SIGNING_SECRET = "test-signing-secret-0123456789"


def sign(body: str, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


def slash_command_body(text: str, response_url: str, command: str = "/kosli") -> str:
    return urlencode(slash_command_fields(text, response_url, command))


def slash_command_fields(text: str, response_url: str, command: str = "/kosli") -> dict[str, str]:
    """The fields Slack sends for `/kosli TEXT` typed in #incident-42."""
    return {
        "token": "deprecated-verification-token",
        "team_id": "T1",
        "team_domain": "cyber-dojo",
        "channel_id": "C0INCIDENT",
        "channel_name": "incident-42",
        "user_id": "U0ONCALL",
        "user_name": "oncall",
        "command": command,
        "text": text,
        "api_app_id": "A0KOSLIBOT",
        "response_url": response_url,
        "trigger_id": "1.2.3",
    }


def signed_json(payload: dict) -> tuple[str, dict[str, str]]:
    """An Events API request (JSON body), signed."""
    body = json.dumps(payload)
    return body, {**sign(body), "Content-Type": "application/json"}


def signed_action(payload: dict) -> tuple[str, dict[str, str]]:
    """An interactivity request: the JSON payload form-encoded as `payload`, signed."""
    body = urlencode({"payload": json.dumps(payload)})
    return body, sign(body)


def sign_bytes(body: bytes, secret: str = SIGNING_SECRET) -> dict[str, str]:
    """Sign raw bytes, as Slack does (for bodies that are not text)."""
    stamp = str(int(time.time()))
    base = b"v0:" + stamp.encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}

"""What the fake API's endpoint modules share: the error they raise, the JSON alias, app links."""

from __future__ import annotations

from typing import Any

Json = Any

APP = "https://app.kosli.com"


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def artifact_url(org: str, flow: str, fingerprint: str) -> str:
    return f"{APP}/{org}/flows/{flow}/artifacts/{fingerprint}"

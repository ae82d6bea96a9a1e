"""What the fake API's endpoint modules share: the error they raise, the JSON alias, app links."""

from __future__ import annotations

from typing import Any, Protocol

from .dataset import Dataset, Environment, Snapshot

Json = Any

APP = "https://app.kosli.com"


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def artifact_url(org: str, flow: str, fingerprint: str) -> str:
    return f"{APP}/{org}/flows/{flow}/artifacts/{fingerprint}"


class Reader(Protocol):
    """What the endpoint modules read through: the dataset as it looks at `now` (api.Api)."""

    dataset: Dataset
    org: str
    now: float

    def visible(self, env: Environment) -> list[Snapshot]: ...

    def environment(self, name: str) -> Environment: ...

    def resolve(self, env: Environment, suffix: str) -> Snapshot: ...

"""Async client for Kosli's HTTP API (v2), one method per call the bot makes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import httpx

from bot.kosli.errors import (
    KosliBadRequest,
    KosliBadResponse,
    KosliError,
    KosliNotFound,
    KosliUnauthorized,
    KosliUnavailable,
)
from bot.kosli.models import (
    Artifact,
    Environment,
    Snapshot,
    SnapshotDiff,
    SnapshotSummary,
    parse_list,
)
from bot.kosli.snappish import Snappish

log = logging.getLogger(__name__)

RETRY_STATUSES = {429, 500, 502, 503, 504}
MAX_RETRY_AFTER = 30.0


def _segment(value: str) -> str:
    return quote(value, safe="")


class KosliClient:
    """Owns one connection pool; retries 429/5xx and connection errors with backoff."""

    def __init__(
        self,
        host: str,
        org: str,
        token: str,
        *,
        timeout: float = 15.0,
        attempts: int = 3,
        backoff: float = 0.5,
        max_in_flight: int = 32,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.org = org
        self._attempts = attempts
        self._backoff = backoff
        self._sleep = sleep
        # Requests beyond this wait here: httpcore's pool rescans its whole queue on every
        # event, which costs the event loop dearly when Kosli is slow and requests pile up.
        self._in_flight = asyncio.Semaphore(max_in_flight)
        self._http = httpx.AsyncClient(
            base_url=host.rstrip("/") + "/api/v2/",
            headers={
                "Authorization": f"Bearer {token}",
                "User-Agent": "kosli-incident-bot/0.1",
                "Accept": "application/json",
            },
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def environments(self) -> list[Environment]:
        data = await self._get(f"environments/{_segment(self.org)}")
        return parse_list(data, Environment.from_json)

    async def environment(self, env: str) -> Environment:
        data = await self._get(f"environments/{_segment(self.org)}/{_segment(env)}")
        return Environment.from_json(data)

    async def snapshots(self, env: str, page: int = 1, per_page: int = 15) -> list[SnapshotSummary]:
        data = await self._get(
            f"snapshots/{_segment(self.org)}/{_segment(env)}",
            params={"page": page, "per_page": per_page, "reverse": "false"},
        )
        return parse_list(data, SnapshotSummary.from_json)

    async def snapshot(self, snappish: Snappish) -> Snapshot:
        path = f"snapshots/{_segment(self.org)}/{_segment(snappish.env)}/{snappish.path_segment}"
        return Snapshot.from_json(snappish.env, await self._get(path))

    async def diff(self, before: Snappish, after: Snappish) -> SnapshotDiff:
        data = await self._get(
            f"env-diff/{_segment(self.org)}",
            params={"snappish1": str(before), "snappish2": str(after)},
        )
        return SnapshotDiff.from_json(data)

    async def artifacts_by_fingerprint(self, flow: str, fingerprint: str) -> list[Artifact]:
        path = f"artifacts/{_segment(self.org)}/{_segment(flow)}/fingerprint/" + _segment(
            fingerprint
        )
        return parse_list(await self._get(path), Artifact.from_json)

    async def artifacts_by_commit(self, flow: str, commit: str) -> list[Artifact]:
        path = f"artifacts/{_segment(self.org)}/{_segment(flow)}/commit_sha/{_segment(commit)}"
        return parse_list(await self._get(path), Artifact.from_json)

    async def search(self, sha: str) -> list[Artifact]:
        """Artifacts whose fingerprint or git commit starts with `sha`."""
        data = await self._get(f"search/{_segment(self.org)}/sha/{_segment(sha)}")
        if not isinstance(data, dict):
            raise KosliBadResponse("search answer is not an object")
        return parse_list(data.get("artifacts", []), Artifact.from_json)

    async def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        for attempt in range(1, self._attempts + 1):
            try:
                async with self._in_flight:
                    response = await self._http.get(path, params=params)
            except httpx.TimeoutException:
                # A slow Kosli is not retried: the user is waiting and a retry doubles the wait.
                raise KosliUnavailable("Kosli did not answer in time") from None
            except httpx.TransportError as error:
                if attempt == self._attempts:
                    raise KosliUnavailable("Kosli could not be reached") from error
                await self._sleep(self._delay(attempt, None))
                continue
            if response.status_code in RETRY_STATUSES and attempt < self._attempts:
                log.warning("Kosli answered %s for %s; retrying", response.status_code, path)
                await self._sleep(self._delay(attempt, response.headers.get("Retry-After")))
                continue
            return self._decode(response)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after:
            seconds = _retry_after_seconds(retry_after)
            if seconds is not None:
                return min(seconds, MAX_RETRY_AFTER)
        return self._backoff * 2 ** (attempt - 1)

    @staticmethod
    def _decode(response: httpx.Response) -> Any:
        status = response.status_code
        if status < 300:
            try:
                return response.json()
            except ValueError:
                raise KosliBadResponse("Kosli answered with something that is not JSON") from None
        message = _error_message(response)
        if status == 404:
            raise KosliNotFound(message)
        if status in (401, 403):
            raise KosliUnauthorized(message)
        if status == 400:
            raise KosliBadRequest(message)
        if status == 429 or status >= 500:
            raise KosliUnavailable(f"Kosli is having trouble (HTTP {status})")
        raise KosliError(f"Kosli answered HTTP {status}: {message}")


def _error_message(response: httpx.Response) -> str:
    try:
        message = response.json().get("message")
    except (ValueError, AttributeError):
        message = None
    return message if isinstance(message, str) and message else f"HTTP {response.status_code}"


def _retry_after_seconds(value: str) -> float | None:
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())

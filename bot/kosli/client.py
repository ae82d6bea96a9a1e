"""Async client for Kosli's HTTP API (v2), one method per call the bot makes."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

from bot.kosli.attestations import Assertion, Trail
from bot.kosli.errors import (
    KosliBadRequest,
    KosliBadResponse,
    KosliError,
    KosliForbidden,
    KosliNotFound,
    KosliUnauthorized,
    KosliUnavailable,
)
from bot.kosli.events import MAX_PER_PAGE, EnvironmentEvent, EventsPage
from bot.kosli.models import (
    Artifact,
    Environment,
    Snapshot,
    SnapshotDiff,
    SnapshotSummary,
)
from bot.kosli.parsing import parse_list
from bot.kosli.snappish import Snappish
from bot.kosli.transport import Answer, KosliHttp, Unreachable

log = logging.getLogger(__name__)

RETRY_STATUSES = {429, 500, 502, 503, 504}
MAX_RETRY_AFTER = 30.0
MAX_MESSAGE = 300  # characters of Kosli's error wording shown in Slack and logged


def _segment(value: str) -> str:
    """One path segment, escaped so that nothing in it can change the path: '/' and '%' are
    escaped by `quote`, and a segment of dots ('.', '..') would be read as a relative path."""
    escaped = quote(value, safe="")
    return escaped.replace(".", "%2E") if set(value) <= {"."} else escaped


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
        max_answer_bytes: int = 50 * 2**20,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        observe: Callable[[str, int, float], None] | None = None,
    ) -> None:
        self.org = org
        # Told (endpoint, HTTP status or 0, seconds) of every request, e.g. for metrics.
        self._observe = observe
        self.host = host.rstrip("/")
        self._attempts = attempts
        self._backoff = backoff
        self._sleep = sleep
        # Requests beyond this wait here, so none waits for a pooled connection inside its
        # own timeout, and at most this many connections are kept alive.
        self._in_flight = asyncio.Semaphore(max_in_flight)
        self._http = KosliHttp(
            host.rstrip("/") + "/api/v2/",
            {
                "Authorization": f"Bearer {token}",
                "User-Agent": "kosli-incident-bot/0.1",
                "Accept": "application/json",
            },
            timeout,
            max_in_flight,
            max_answer_bytes,
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

    async def latest_snapshot(self, env: str) -> Snapshot | None:
        """The newest snapshot; None where there is none to read: an environment that never
        reported (Kosli answers 404, or 400 for the latest of none), a logical or an unknown
        one. The caller tells which where it matters."""
        try:
            return await self.snapshot(Snappish(env))
        except (KosliNotFound, KosliBadRequest):
            return None

    async def newest_row(self, env: str) -> list[SnapshotSummary]:
        """The newest snapshot's row of the log, or none where there is no snapshot (as
        `latest_snapshot`)."""
        try:
            return await self.snapshots(env, page=1, per_page=1)
        except (KosliNotFound, KosliBadRequest):
            return []

    async def diff(self, before: Snappish, after: Snappish) -> SnapshotDiff:
        data = await self._get(
            f"env-diff/{_segment(self.org)}",
            params={"snappish1": before.api_form, "snappish2": after.api_form},
        )
        return SnapshotDiff.from_json(data)

    async def artifacts_by_fingerprint(self, flow: str, fingerprint: str) -> list[Artifact]:
        path = f"artifacts/{_segment(self.org)}/{_segment(flow)}/fingerprint/" + _segment(
            fingerprint
        )
        return _artifacts(await self._get(path))

    async def artifacts_by_commit(self, flow: str, commit: str) -> list[Artifact]:
        path = f"artifacts/{_segment(self.org)}/{_segment(flow)}/commit_sha/{_segment(commit)}"
        return _artifacts(await self._get(path))

    async def search(self, sha: str) -> list[Artifact]:
        """Artifacts whose fingerprint or git commit starts with `sha`."""
        data = await self._get(f"search/{_segment(self.org)}/sha/{_segment(sha)}")
        if not isinstance(data, dict):
            raise KosliBadResponse("search answer is not an object")
        return parse_list(data.get("artifacts", []), Artifact.from_json)

    async def asserts(self, fingerprint: str, environment: str | None = None) -> Assertion:
        """Per-attestation status of an artifact, judged for `environment` when given."""
        data = await self._get(
            f"asserts/{_segment(self.org)}/fingerprint/{_segment(fingerprint)}",
            params={"environment_name": environment} if environment else None,
        )
        return Assertion.from_json(data)

    async def trail(self, flow: str, name: str) -> Trail:
        path = f"trails/{_segment(self.org)}/{_segment(flow)}/{_segment(name)}"
        return Trail.from_json(await self._get(path), flow)

    async def events(
        self,
        env: str,
        *,
        page: int = 1,
        per_page: int = MAX_PER_PAGE,
        reverse: bool = False,
        start: int | str | None = None,
        end: int | str | None = None,
        start_ts: float | None = None,
        end_ts: float | None = None,
    ) -> EventsPage | None:
        """One page of the environment's events, newest first unless `reverse`; `start`/`end`
        are a snapshot index or a time expression, `start_ts`/`end_ts` Unix times, as Kosli's
        CLI sends them. None when Kosli has no event log for it (404: 2022-era data), so the
        caller reads snapshots instead."""
        per_page = max(1, min(per_page, MAX_PER_PAGE))
        params: dict[str, Any] = {
            "page": page,
            "per_page": per_page,
            "reverse": str(reverse).lower(),
        }
        for key, value in (
            ("start", start),
            ("end", end),
            ("start_ts", start_ts),
            ("end_ts", end_ts),
        ):
            if value is not None:
                params[key] = value
        response = await self._send(
            f"environments/{_segment(self.org)}/{_segment(env)}/events", params
        )
        if response.status == 404:
            return None
        events = parse_list(self._decode(response), EnvironmentEvent.from_json)
        return EventsPage.from_response(tuple(events), page, per_page, response.headers)

    async def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self._decode(await self._send(path, params))

    async def _send(self, path: str, params: dict[str, Any] | None = None) -> Answer:
        """The answer after retries; a timeout or an unreachable Kosli raises."""
        endpoint = path.split("/", 1)[0]
        for attempt in range(1, self._attempts + 1):
            started = time.perf_counter()
            try:
                async with self._in_flight:
                    response = await self._http.get(path, params=params)
            except TimeoutError:
                self._note(endpoint, 0, started)
                # A slow Kosli is not retried: the user is waiting and a retry doubles the wait.
                raise KosliUnavailable("Kosli did not answer in time") from None
            except Unreachable as error:
                self._note(endpoint, 0, started)
                if attempt == self._attempts:
                    raise KosliUnavailable("Kosli could not be reached") from error
                await self._sleep(self._delay(attempt, None))
                continue
            self._note(endpoint, response.status, started)
            if response.status in RETRY_STATUSES and attempt < self._attempts:
                log.warning("Kosli answered %s for %s; retrying", response.status, path)
                await self._sleep(self._delay(attempt, response.headers.get("Retry-After")))
                continue
            return response
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _note(self, endpoint: str, status: int, started: float) -> None:
        if self._observe is not None:
            self._observe(endpoint, status, time.perf_counter() - started)

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after:
            seconds = _retry_after_seconds(retry_after)
            if seconds is not None:
                return min(seconds, MAX_RETRY_AFTER)
        return self._backoff * 2.0 ** (attempt - 1)

    @staticmethod
    def _decode(response: Answer) -> Any:
        status = response.status
        if status < 300:
            try:
                return response.json()
            except ValueError:
                raise KosliBadResponse("Kosli answered with something that is not JSON") from None
        message = _error_message(response)
        if status == 404:
            raise KosliNotFound(message)
        if status == 403:
            raise KosliForbidden(message)
        if status == 401:
            raise KosliUnauthorized(message)
        if status in (400, 422):
            raise KosliBadRequest(message)
        if status == 429 or status >= 500:
            raise KosliUnavailable(f"Kosli is having trouble (HTTP {status})")
        raise KosliError(f"Kosli answered HTTP {status}: {message}")


def _artifacts(data: Any) -> list[Artifact]:
    # Kosli may answer one bare object instead of a list (the CLI wraps it the same way).
    return parse_list([data] if isinstance(data, dict) else data, Artifact.from_json)


def _error_message(response: Answer) -> str:
    """Kosli's own words for a failure, whatever shape they come in, safe to show and log."""
    try:
        words = _json_words(response.json())
    except ValueError:
        text = response.text.strip()
        # Short plain text is someone's wording; long or binary bodies and HTML pages are not.
        short = len(text) <= MAX_MESSAGE and not text.startswith("<")
        words = text if short and all(c.isprintable() or c.isspace() for c in text) else ""
    # Control characters and newlines could forge log lines or break the Slack message.
    words = " ".join("".join(c if c.isprintable() else " " for c in words).split())
    if len(words) > MAX_MESSAGE:
        words = words[: MAX_MESSAGE - 1] + "…"
    return words or f"HTTP {response.status}"


def _json_words(data: Any) -> str:
    """The message in a JSON error body: a bare string, `message`, `errors` or 422's `detail`."""
    if isinstance(data, str):
        return data
    if not isinstance(data, dict):
        return ""
    message = data.get("message")
    if isinstance(message, str) and message.strip():
        return message
    errors = data.get("errors")
    if isinstance(errors, dict):  # field -> message, or field -> [messages]
        return "; ".join(f"{field}: {m}" for field, ms in errors.items() for m in _strings(ms))
    if errors is not None:
        return "; ".join(_strings(errors))
    detail = data.get("detail")
    if isinstance(detail, list):  # FastAPI: [{"loc": [...], "msg": "...", "type": "..."}]
        return "; ".join(filter(None, map(_detail_item, detail)))
    return detail if isinstance(detail, str) else ""


def _strings(value: Any) -> list[str]:
    """A string, or the strings in a list."""
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _detail_item(item: Any) -> str:
    """One FastAPI validation error as "msg (loc.joined)"."""
    if isinstance(item, str):
        return item
    if not isinstance(item, dict) or not isinstance(item.get("msg"), str):
        return ""
    loc = item.get("loc")
    where = ".".join(str(part) for part in loc) if isinstance(loc, list) else ""
    return f"{item['msg']} ({where})" if where else item["msg"]


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

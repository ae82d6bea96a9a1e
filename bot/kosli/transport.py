"""The Kosli client's HTTP: GETs over one aiohttp connection pool, nothing more.

httpx over httpcore looked at every pooled connection each time a request started or ended;
httpx over aiohttp still built and merged URLs, cookies and headers twice a request. A watcher
cycle makes two or three Kosli calls an environment, so this is aiohttp alone: the base URL's
path and the headers joined once, a request's path and query appended as escaped text.
"""

from __future__ import annotations

import functools
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
import orjson
import yarl

from bot.kosli.errors import KosliAnswerTooLarge

CHUNK = 64 * 1024


class Unreachable(Exception):
    """No answer: the connection failed or broke (a timeout raises TimeoutError instead)."""


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]  # case-insensitive, as aiohttp hands them over
    body: bytes

    def json(self) -> Any:
        """Raises ValueError when the body is not JSON. orjson reads a snapshot in half the
        time json does, straight from the bytes. Unlike json it refuses NaN and Infinity and
        reads integers past 64 bits as floats; Kosli sends neither."""
        return orjson.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


class KosliHttp:
    def __init__(
        self,
        base_url: str,
        headers: Mapping[str, str],
        timeout: float,
        max_connections: int,
        max_answer_bytes: int,
    ) -> None:
        self._base = base_url.rstrip("/") + "/"
        self._headers = dict(headers)
        # A deadline for the whole request, not a wait between reads: an answer that trickles
        # in is cut off too, and one timer a request costs less than one reset at each read.
        self._timeout = aiohttp.ClientTimeout(total=timeout, connect=min(timeout, 5.0))
        self._max_connections = max_connections
        self._max_answer_bytes = max_answer_bytes
        self._session: aiohttp.ClientSession | None = None

    def _session_now(self) -> aiohttp.ClientSession:
        # Made in the running loop (aiohttp binds its pool to one), on the first request.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                # As many kept alive as may be in flight.
                connector=aiohttp.TCPConnector(limit=self._max_connections),
                headers=self._headers,
                timeout=self._timeout,
            )
        return self._session

    async def get(self, path: str, params: Mapping[str, Any] | None = None) -> Answer:
        """GET base + path (already escaped) with `params` as the query."""
        url = self._base + path
        if params:
            url += "?" + urlencode(params, quote_via=quote)
        target = yarl.URL(url, encoded=True)
        try:
            async with self._session_now().get(
                target, allow_redirects=False, proxy=_proxy_for(target.scheme, target.host or "")
            ) as answer:
                body = await read_limited(answer, self._max_answer_bytes)
                return Answer(answer.status, answer.headers, body)
        except TimeoutError:
            raise
        except aiohttp.ClientError as error:
            raise Unreachable(str(error)) from error

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


async def read_limited(answer: aiohttp.ClientResponse, limit: int) -> bytes:
    """The body, read as a stream no further than `limit` bytes as they come over the wire:
    one huge answer is refused without being held whole."""
    declared = answer.content_length
    if declared is not None and declared > limit:
        raise KosliAnswerTooLarge(_too_large(limit))
    body = bytearray()
    async for chunk in answer.content.iter_chunked(CHUNK):
        body += chunk
        if len(body) > limit:
            raise KosliAnswerTooLarge(_too_large(limit))
    return bytes(body)


def _too_large(limit: int) -> str:
    return f"Kosli's answer was larger than {limit // 2**20} MB, more than the bot reads"


@functools.cache
def _proxy_for(scheme: str, host: str) -> str | None:
    """The proxy the environment names for this host (HTTPS_PROXY, NO_PROXY, ...), as httpx
    would use; read once, not on every request as aiohttp's trust_env does."""
    if urllib.request.proxy_bypass(host):
        return None
    return urllib.request.getproxies().get(scheme)

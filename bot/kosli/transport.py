"""httpx's client over aiohttp's connection pool, for the Kosli client.

httpcore's pool looks at every connection it holds (a getpeername and a poll on each idle
one, and a scan of all of them per connection) each time a request starts or ends. With 32
requests in flight to a 50 ms Kosli, that was most of the bot's CPU in a watcher cycle.
aiohttp's pool hands out a kept-alive connection without looking at the others.
"""

from __future__ import annotations

import functools
import urllib.request

import aiohttp
import httpx
import yarl

from bot.kosli.errors import KosliAnswerTooLarge

CHUNK = 64 * 1024


class AiohttpTransport(httpx.AsyncBaseTransport):
    def __init__(self, max_connections: int, max_answer_bytes: int) -> None:
        self._max_connections = max_connections
        self._max_answer_bytes = max_answer_bytes
        self._session: aiohttp.ClientSession | None = None

    def _session_now(self) -> aiohttp.ClientSession:
        # Made in the running loop (aiohttp binds its pool to one), on the first request.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._max_connections),
                auto_decompress=False,  # httpx decodes, as its own transport would leave it
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding"),
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        limits = request.extensions.get("timeout", {})
        timeout = aiohttp.ClientTimeout(connect=limits.get("connect"), sock_read=limits.get("read"))
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
        try:
            async with self._session_now().request(
                request.method,
                yarl.URL(str(request.url), encoded=True),  # already escaped by httpx
                headers=headers,
                data=await request.aread() or None,
                allow_redirects=False,
                proxy=_proxy_for(request.url.scheme, request.url.host),
                timeout=timeout,
            ) as answer:
                body = await read_limited(answer, self._max_answer_bytes)
                status, raw_headers = answer.status, list(answer.raw_headers)
        except TimeoutError as error:
            raise httpx.ReadTimeout(str(error) or "timed out", request=request) from error
        except aiohttp.ClientConnectorError as error:
            raise httpx.ConnectError(str(error), request=request) from error
        except aiohttp.ClientError as error:
            raise httpx.RemoteProtocolError(str(error), request=request) from error
        return httpx.Response(status, headers=raw_headers, content=body, request=request)

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
    """The proxy the environment names for this host (HTTPS_PROXY, NO_PROXY, ...), as httpx's
    own transport would use; read once, not on every request as aiohttp's trust_env does."""
    if urllib.request.proxy_bypass(host):
        return None
    return urllib.request.getproxies().get(scheme)

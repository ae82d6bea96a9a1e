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


class AiohttpTransport(httpx.AsyncBaseTransport):
    def __init__(self, max_connections: int) -> None:
        self._max_connections = max_connections
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
                body = await answer.read()
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


@functools.cache
def _proxy_for(scheme: str, host: str) -> str | None:
    """The proxy the environment names for this host (HTTPS_PROXY, NO_PROXY, ...), as httpx's
    own transport would use; read once, not on every request as aiohttp's trust_env does."""
    if urllib.request.proxy_bypass(host):
        return None
    return urllib.request.getproxies().get(scheme)

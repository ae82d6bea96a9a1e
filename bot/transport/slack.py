"""The Transport over Slack's Web API (slack_sdk's AsyncWebClient, with its retry handlers)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.metrics import SLACK_ERRORS
from bot.render.blockkit import Message, parts
from bot.transport import ChannelGone, RateLimited, Rejected, TransportError

# Slack errors that will not heal by retrying: stop posting to that channel.
CHANNEL_GONE = frozenset({"not_in_channel", "channel_not_found", "is_archived", "account_inactive"})
# Slack errors about the message itself: the same message will never go through.
REJECTED = frozenset(
    {"invalid_blocks", "invalid_blocks_format", "msg_too_long", "invalid_attachments", "no_text"}
)
METADATA_EVENT = "kosli_alert"


def slack_client(token: str | None, base_url: str) -> AsyncWebClient:
    """429 honours Retry-After, 5xx and dropped connections are retried, by slack_sdk.
    Without a token (OAuth mode), each request's comes from its workspace's install."""
    client = AsyncWebClient(token=token, base_url=base_url)
    client.retry_handlers.extend(
        [
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncRateLimitErrorRetryHandler(max_retry_count=3),
            AsyncServerErrorRetryHandler(max_retry_count=2),
        ]
    )
    return client


def _error(error: SlackApiError) -> TransportError:
    reason = str(error.response.get("error", "") or "unknown_error")
    SLACK_ERRORS.labels(reason[:40]).inc()
    if reason in CHANNEL_GONE:
        return ChannelGone(reason)
    if reason in REJECTED:
        return Rejected(reason)
    if reason == "ratelimited":
        return RateLimited(reason)
    return TransportError(reason)


class SlackTransport:
    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client  # Bolt's listeners share it

    @asynccontextmanager
    async def connected(self) -> AsyncIterator[None]:
        """One aiohttp session for as long as the bot runs, so calls reuse their connections:
        without it slack_sdk opens a session, and a TLS connection, for every call."""
        session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.client.timeout))
        self.client.session = session
        try:
            yield
        finally:
            self.client.session = None
            await session.close()

    async def post(
        self,
        channel: str,
        message: Message,
        *,
        thread_ts: str | None = None,
        key: str | None = None,
        already: Mapping[str, str] | None = None,
    ) -> str:
        first = ""
        for number, blocks in enumerate(parts(message.blocks), start=1):
            part_key = (key if number == 1 else f"{key}/{number}") if key else None
            ts = (already or {}).get(part_key or "")
            if ts is None:
                extra: dict[str, Any] = {}
                if part_key:
                    payload = {"key": part_key}
                    extra["metadata"] = {"event_type": METADATA_EVENT, "event_payload": payload}
                try:
                    response = await self.client.chat_postMessage(
                        channel=channel,
                        thread_ts=thread_ts,
                        text=message.text,
                        blocks=blocks or None,  # a plain-text message has none
                        unfurl_links=False,
                        unfurl_media=False,
                        **extra,
                    )
                except SlackApiError as error:
                    raise _error(error) from None
                ts = str(response["ts"])
            first = first or ts
        return first

    async def post_private(
        self, channel: str, user: str, message: Message, *, thread_ts: str | None = None
    ) -> None:
        for blocks in parts(message.blocks):
            try:
                await self.client.chat_postEphemeral(
                    channel=channel,
                    user=user,
                    thread_ts=thread_ts,
                    text=message.text,
                    blocks=blocks,
                )
            except SlackApiError as error:
                raise _error(error) from None

    async def upload(
        self, channel: str, thread_ts: str | None, filename: str, title: str, content: str
    ) -> None:
        try:
            await self.client.files_upload_v2(
                channel=channel,
                thread_ts=thread_ts,
                content=content,
                filename=filename,
                title=title,
            )
        except SlackApiError as error:
            raise _error(error) from None

    async def delete(self, channel: str, ts: str) -> None:
        try:
            await self.client.chat_delete(channel=channel, ts=ts)
        except SlackApiError as error:
            raise _error(error) from None

    async def find_posted(
        self, channel: str, key: str, *, thread_ts: str | None, since: datetime
    ) -> dict[str, str]:
        """Read the thread (or the channel since `since`) for posts carrying our metadata."""
        try:
            if thread_ts:
                history = await self.client.conversations_replies(
                    channel=channel, ts=thread_ts, include_all_metadata=True, limit=200
                )
            else:
                history = await self.client.conversations_history(
                    channel=channel,
                    oldest=str(since.timestamp()),
                    include_all_metadata=True,
                    limit=200,
                )
        except SlackApiError as error:
            raise _error(error) from None
        found: dict[str, str] = {}
        messages: list[dict[str, Any]] = history.get("messages", [])
        for posted in messages:
            metadata: dict[str, Any] = posted.get("metadata") or {}
            found_key = str((metadata.get("event_payload") or {}).get("key", ""))
            ours = found_key == key or found_key.startswith(key + "/")
            if metadata.get("event_type") == METADATA_EVENT and ours:
                found[found_key] = str(posted.get("ts"))
        return found

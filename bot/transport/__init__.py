"""Where messages go: one Protocol that Slack and the terminal both implement.

Application code (commands, the watcher) posts through a Transport and never sees a Slack SDK
type; its failures arrive as the errors below.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

from bot.render.blockkit import Message


class TransportError(Exception):
    """The transport refused a message; `reason` is its own word for why (e.g. Slack's)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ChannelGone(TransportError):
    """The bot can no longer post in that channel (removed, archived, never invited)."""


class Rejected(TransportError):
    """The message itself was refused (e.g. invalid blocks, too long): sending it again as it
    is will never work."""


class RateLimited(TransportError):
    """Still rate-limited after the transport's own retries: try again later."""


class Transport(Protocol):
    async def post(
        self,
        channel: str,
        message: Message,
        *,
        thread_ts: str | None = None,
        key: str | None = None,
        already: Mapping[str, str] | None = None,
    ) -> str:
        """Post every part of `message` (a long one goes as several); return the first part's
        ts. `key` marks the parts ('key', 'key/2', …) so `find_posted` can find them again;
        parts already posted (`already`: part key -> ts) are not posted twice."""
        ...

    async def post_private(
        self, channel: str, user: str, message: Message, *, thread_ts: str | None = None
    ) -> None:
        """Only `user` sees it."""
        ...

    async def upload(
        self, channel: str, thread_ts: str | None, filename: str, title: str, content: str
    ) -> None: ...

    async def delete(self, channel: str, ts: str) -> None:
        """Take back one of the bot's own messages (e.g. a parent whose record failed)."""
        ...

    async def find_posted(
        self, channel: str, key: str, *, thread_ts: str | None, since: datetime
    ) -> dict[str, str]:
        """Parts of a keyed post that already made it (part key -> ts), so a retry after a
        crash between posting and recording posts nothing twice."""
        ...

"""@mentions: slash commands cannot be typed in threads, so the bot answers mentions there."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext

from bot.background import in_background
from bot.commands.dispatch import answer, deliver
from bot.commands.services import Services
from bot.slack.workspace import services_of
from bot.store.events import HandledEvents
from bot.workspaces import Workspaces

_MENTION = re.compile(r"<@[A-Z0-9]+(\|[^>]*)?>")
_BARE_SNAPSHOT = re.compile(r"[#~]-?\d+")


def thread_text(text: str, default_env: str | None) -> str:
    """Drop the mention; in a one-environment incident thread `#175` means `aws-prod#175`."""
    words = _MENTION.sub(" ", text).split()
    if default_env:
        words = [f"{default_env}{w}" if _BARE_SNAPSHOT.fullmatch(w) else w for w in words]
    return " ".join(words)


async def take_mention(
    services: Services, handled: HandledEvents, event: dict[str, Any], body: dict[str, Any]
) -> None:
    # Slack retries an event it got no quick 200 for: a retry of one this bot already took
    # on is dropped; a retry of one whose first delivery never arrived, or failed, is answered.
    event_id = str(body.get("event_id", ""))
    if not await handled.take(event_id, datetime.now(UTC)):
        return
    try:
        await answer_mention(services, event)
    except Exception:
        await handled.release(event_id)  # let Slack's retry try again
        raise


async def answer_mention(services: Services, event: dict[str, Any]) -> None:
    channel, user = event["channel"], event.get("user", "")
    in_thread = event.get("thread_ts")
    envs = await services.incidents.thread_envs(channel, in_thread) if in_thread else ()
    default_env = envs[0] if len(envs) == 1 else None
    text = thread_text(event.get("text", ""), default_env)
    reply = await answer(text, services, channel, user, in_thread)
    await deliver(services.transport, reply, channel, user, in_thread or event["ts"])


async def mention_in_workspace(
    workspaces: Workspaces,
    handled: HandledEvents,
    context: AsyncBoltContext,
    event: dict[str, Any],
    body: dict[str, Any],
) -> None:
    services = await services_of(workspaces, context)
    if not isinstance(services, str):
        await take_mention(services, handled, event, body)
        return
    await context.client.chat_postEphemeral(
        channel=event["channel"],
        user=event.get("user", ""),
        thread_ts=event.get("thread_ts"),
        text=services,
    )


def register(app: AsyncApp, workspaces: Workspaces, handled: HandledEvents) -> None:
    async def on_mention(
        event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        # Bolt acks when this returns: the work runs after it.
        work = mention_in_workspace(workspaces, handled, context, event, body)
        in_background(work, "answering a mention")

    app.event("app_mention")(on_mention)

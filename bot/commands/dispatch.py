"""Answer a command's text: parse, run its handler, turn faults into friendly words, render.
Transport-neutral: Slack's listeners and the shell both call `answer`."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.commands.incidents import IncidentDesk
from bot.commands.queries import Queries, QueryError
from bot.commands.subscriptions import Subscriptions
from bot.domain.commands import (
    CloseIncident,
    CommandError,
    OpenIncident,
    Subscribing,
    parse_command,
)
from bot.domain.results import HelpResult, WatchingResult
from bot.kosli import (
    KosliBadRequest,
    KosliBadResponse,
    KosliError,
    KosliUnauthorized,
    KosliUnavailable,
)
from bot.render.blocks import render, render_error
from bot.render.kit import Message, section
from bot.render.watching import render_subscription
from bot.transport import Transport

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reply:
    message: Message
    public: bool


def kosli_fault(error: KosliError, org: str) -> str:
    """Words for a Kosli failure that help the reader decide what to do next."""
    match error:
        case KosliUnavailable():
            return f"Kosli is not answering right now ({error}). Try again in a minute."
        case KosliUnauthorized():
            return (
                f"Kosli refused the bot's API token for org `{org}`. "
                "Ask whoever runs the bot to check KOSLI_API_TOKEN and KOSLI_ORG."
            )
        case KosliBadRequest():
            return f"Kosli could not read that request: {error}"
        case KosliBadResponse():
            return "Kosli sent an answer the bot could not read. Try again, or report it."
    return f"Kosli answered with an error: {error}"


@dataclass(frozen=True)
class Services:
    """What a command may use: queries, the channel's subscriptions, incident threads."""

    queries: Queries
    subscriptions: Subscriptions
    incidents: IncidentDesk
    transport: Transport
    command_name: str = "/kosli"


async def answer(
    text: str, services: Services, channel: str, user: str, thread_ts: str | None = None
) -> Reply:
    """Never raises: every failure becomes a private, readable message."""
    try:
        command = parse_command(text, services.incidents.clock())
        if isinstance(command, OpenIncident | CloseIncident):
            # The thread itself is posted to the channel; the asker gets a short receipt.
            note = await services.incidents.run(command, channel, user, thread_ts)
            return Reply(Message(note, [section(note).to_dict()]), public=False)
        if isinstance(command, Subscribing):
            outcome = await services.subscriptions.run(command, channel, user)
            # Everyone in the channel should know what it is now watching; a listing is private.
            public = not isinstance(outcome, WatchingResult)
            return Reply(render_subscription(outcome, services.command_name), public)
        result = await services.queries.run(command)
    except (CommandError, QueryError) as error:
        return Reply(render_error(str(error)), public=False)
    except KosliError as error:
        log.warning("Kosli call failed for %r: %s", text, error)
        fault = kosli_fault(error, services.queries.kosli.org)
        return Reply(render_error(fault), public=False)
    except Exception:
        log.exception("unexpected failure answering %r", text)
        return Reply(render_error("Something went wrong on the bot's side; it is logged."), False)
    # Query results go to the channel: in an incident everyone should see them.
    public = not isinstance(result, HelpResult)
    return Reply(render(result, services.command_name), public)


async def deliver(
    transport: Transport, reply: Reply, channel: str, user: str, thread_ts: str
) -> None:
    """Post in the thread for everyone, or only to the asker when the reply is private."""
    if reply.public:
        await transport.post(channel, reply.message, thread_ts=thread_ts)
    else:
        await transport.post_private(channel, user, reply.message, thread_ts=thread_ts)

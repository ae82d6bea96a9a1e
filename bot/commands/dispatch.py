"""Answer a command's text: parse, run its handler, turn faults into friendly words, render.
Transport-neutral: Slack's listeners and the shell both call `answer`."""

from __future__ import annotations

import logging

from bot.commands.catalog import COMMANDS
from bot.commands.queries import QueryError
from bot.commands.registry import Context, Reply
from bot.commands.services import Services
from bot.domain.commands import CommandError
from bot.kosli import (
    KosliBadRequest,
    KosliBadResponse,
    KosliError,
    KosliUnauthorized,
    KosliUnavailable,
)
from bot.render.queries import render_error
from bot.store import StoreError
from bot.transport import Transport

log = logging.getLogger(__name__)


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


async def answer(
    text: str,
    services: Services,
    channel: str,
    user: str,
    thread_ts: str | None = None,
    unparsable: str | None = None,
) -> Reply:
    """Never raises: every failure becomes a private, readable message. `unparsable` replaces
    the parser's explanation (a button's stale value is no typing mistake of the reader's)."""
    ctx = Context(channel, user, thread_ts, services.command_name)
    try:
        command, request = COMMANDS.parse(text, services.incidents.clock())
        if command.for_admins(request) and services.admins and user not in services.admins:
            refusal = f"Only the bot's admins may use `{command.name}` like that here."
            return Reply(render_error(refusal), public=False)
        return await command.handle(request, services, ctx)
    except CommandError as error:
        return Reply(render_error(unparsable or str(error)), public=False)
    except QueryError as error:
        return Reply(render_error(str(error)), public=False)
    except KosliError as error:
        log.warning("Kosli call failed for %r: %s", text, error)
        fault = kosli_fault(error, services.queries.kosli.org)
        return Reply(render_error(fault), public=False)
    except StoreError as error:
        log.warning("the database failed answering %r: %s", text, type(error).__name__)
        fault = "The bot's database is not answering right now, so I could not do that."
        return Reply(render_error(f"{fault} Try again in a minute."), public=False)
    except Exception:
        log.exception("unexpected failure answering %r", text)
        return Reply(render_error("Something went wrong on the bot's side; it is logged."), False)


async def deliver(
    transport: Transport, reply: Reply, channel: str, user: str, thread_ts: str
) -> None:
    """Post in the thread for everyone, or only to the asker when the reply is private."""
    if reply.public:
        await transport.post(channel, reply.message, thread_ts=thread_ts)
    else:
        await transport.post_private(channel, user, reply.message, thread_ts=thread_ts)

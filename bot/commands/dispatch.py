"""Answer a command's text: parse, run its handler, turn faults into friendly words, render.
Transport-neutral: Slack's listeners and the shell both call `answer`."""

from __future__ import annotations

import logging
import time

from bot.commands.catalog import COMMANDS
from bot.commands.queries import QueryError
from bot.commands.registry import Context, Reply
from bot.commands.services import Services
from bot.domain.commands import CommandError, may_administer
from bot.kosli import (
    KosliAnswerTooLarge,
    KosliBadRequest,
    KosliBadResponse,
    KosliError,
    KosliUnauthorized,
    KosliUnavailable,
)
from bot.logs import log_context
from bot.metrics import ANSWER_SECONDS, COMMANDS_ANSWERED
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
        case KosliAnswerTooLarge():
            return (
                f"{error}, so I stopped reading it. If such answers are expected, ask whoever "
                "runs the bot to raise KOSLI_MAX_ANSWER_MB."
            )
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
    the parser's explanation (a button's stale value is no typing mistake of the reader's).
    Each answer is counted by command and outcome, and timed."""
    started = time.perf_counter()
    name, outcome = "unknown", "error"
    try:
        reply, name, outcome = await _answer(text, services, channel, user, thread_ts, unparsable)
        return reply
    finally:
        COMMANDS_ANSWERED.labels(name, outcome).inc()
        ANSWER_SECONDS.labels(name).observe(time.perf_counter() - started)


async def _answer(
    text: str,
    services: Services,
    channel: str,
    user: str,
    thread_ts: str | None,
    unparsable: str | None,
) -> tuple[Reply, str, str]:
    ctx = Context(channel, user, thread_ts, services.command_name)
    name = "unknown"
    try:
        command, request = COMMANDS.parse(text, services.incidents.clock())
        name = command.name
        if command.for_admins(request) and not may_administer(services.admins, user):
            refusal = f"Only the bot's admins may use `{command.name}` like that here."
            return Reply(render_error(refusal), public=False), name, "refused"
        with log_context(command=name):
            return await command.handle(request, services, ctx), name, "ok"
    except CommandError as error:
        return Reply(render_error(unparsable or str(error)), public=False), name, "refused"
    except QueryError as error:
        return Reply(render_error(str(error)), public=False), name, "not_found"
    except KosliError as error:
        log.warning("Kosli call failed for %r: %s", text, error)
        fault = kosli_fault(error, services.queries.kosli.org)
        return Reply(render_error(fault), public=False), name, "kosli"
    except StoreError as error:
        log.warning("the database failed answering %r: %s", text, type(error).__name__)
        fault = "The bot's database is not answering right now, so I could not do that."
        reply = Reply(render_error(f"{fault} Try again in a minute."), public=False)
        return reply, name, "database"
    except Exception:
        log.exception("unexpected failure answering %r", text)
        reply = Reply(render_error("Something went wrong on the bot's side; it is logged."), False)
        return reply, name, "error"


async def deliver(
    transport: Transport, reply: Reply, channel: str, user: str, thread_ts: str
) -> None:
    """Post in the thread for everyone, or only to the asker when the reply is private."""
    if reply.public:
        await transport.post(channel, reply.message, thread_ts=thread_ts)
    else:
        await transport.post_private(channel, user, reply.message, thread_ts=thread_ts)

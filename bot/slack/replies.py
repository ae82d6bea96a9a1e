"""Answer a parsed question: run the query, turn faults into friendly words, render."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.domain.commands import CommandError, parse_command
from bot.kosli import (
    KosliBadRequest,
    KosliBadResponse,
    KosliError,
    KosliUnauthorized,
    KosliUnavailable,
)
from bot.queries import HelpResult, Queries, QueryError
from bot.render.blocks import Message, render, render_error

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


async def answer(text: str, queries: Queries, command_name: str) -> Reply:
    """Never raises: every failure becomes a private, readable message."""
    try:
        result = await queries.run(parse_command(text))
    except (CommandError, QueryError) as error:
        return Reply(render_error(str(error)), public=False)
    except KosliError as error:
        log.warning("Kosli call failed for %r: %s", text, error)
        return Reply(render_error(kosli_fault(error, queries.kosli.org)), public=False)
    except Exception:
        log.exception("unexpected failure answering %r", text)
        return Reply(render_error("Something went wrong on the bot's side; it is logged."), False)
    # Query results go to the channel: in an incident everyone should see them.
    return Reply(render(result, command_name), public=not isinstance(result, HelpResult))

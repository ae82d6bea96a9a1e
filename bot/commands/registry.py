"""The command registry: one declaration per command. Parsing, help, dispatch and button
routing are all read from it, so a new command is one declaration plus its handler."""

from __future__ import annotations

import difflib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from bot.commands.services import Services
from bot.domain.commands import CommandError
from bot.domain.results import HelpEntry
from bot.render.blockkit import Message

MAX_COMMAND = 1000  # characters: the longest real command is well under 200


@dataclass(frozen=True)
class Context:
    """Who asked, where, and under which slash command name (e.g. `/kosli`)."""

    channel: str
    user: str
    thread_ts: str | None
    command_name: str


@dataclass(frozen=True)
class Reply:
    message: Message
    public: bool  # everyone in the channel sees it; else only the asker


Handler = Callable[[Any, Services, Context], Awaitable[Reply]]
Parser = Callable[[list[str], datetime], Any]


@dataclass(frozen=True)
class Command:
    """One command: `name ARGUMENTS` does `summary`, e.g. `example`. `parse` turns the words
    after the name into a request (or raises CommandError); `handle` answers it. `buttons`:
    action_id -> the command text a click on that button stands for, from its value."""

    name: str
    arguments: str
    summary: str
    example: str
    parse: Parser
    handle: Handler
    aliases: tuple[str, ...] = ()
    buttons: Mapping[str, Callable[[str], str]] = field(default_factory=dict)
    # Requests that stop or silence alerts for everyone: only admins, when there are any.
    for_admins: Callable[[Any], bool] = lambda _: False

    @property
    def usage(self) -> str:
        arguments = f" {self.arguments}" if self.arguments else ""
        return f"Usage: `{self.name}{arguments}`, for example `{self.example}`."


class Registry:
    """Commands in help order; names, aliases and button ids may not collide."""

    def __init__(self, commands: list[Command]) -> None:
        self.commands = tuple(commands)
        names: dict[str, Command] = {}
        buttons: dict[str, Callable[[str], str]] = {}
        for command in commands:
            for name in (command.name, *command.aliases):
                if name in names:
                    raise ValueError(f"`{name}` is declared twice")
                names[name] = command
            for action_id, to_text in command.buttons.items():
                if action_id in buttons:
                    raise ValueError(f"button `{action_id}` is declared twice")
                buttons[action_id] = to_text
        self._names = MappingProxyType(names)
        self._buttons = MappingProxyType(buttons)

    def parse(self, text: str, now: datetime) -> tuple[Command, Any]:
        """The command `text` names and its request; an empty text asks for help."""
        if len(text) > MAX_COMMAND:
            raise CommandError(
                f"That is {len(text):,} characters; a command is at most {MAX_COMMAND:,}."
            )
        words = text.split()
        if not words:
            words = ["help"]
        lowered = [w.lower() for w in words]
        # Kosli's CLI words (`env log`, `artifact get`) are aliases of two words.
        two = " ".join(lowered[:2])
        name, args = (two, words[2:]) if two in self._names else (lowered[0], words[1:])
        command = self._names.get(name)
        if command is None:
            close = difflib.get_close_matches(name, [c.name for c in self.commands], n=1)
            hint = f" Did you mean `{close[0]}`?" if close else ""
            raise CommandError(
                f"I don't know the command `{name}`.{hint} Try `help` to see what I can do."
            )
        try:
            return command, command.parse(args, now)
        except CommandError as error:
            raise CommandError(f"{error} {command.usage}") from None

    def help(self) -> tuple[HelpEntry, ...]:
        return tuple(HelpEntry(c.name, c.arguments, c.summary, c.example) for c in self.commands)

    @property
    def action_ids(self) -> tuple[str, ...]:
        return tuple(self._buttons)

    def button_text(self, action_id: str, value: str) -> str:
        """The command a button stands for; KeyError for a button nobody declared."""
        return self._buttons[action_id](value)

"""The Transport for a terminal (`kosli-bot shell`): every post is printed as text, thread
replies indented, private ones marked; files are saved in a folder."""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TextIO

from bot.render.blockkit import Message
from bot.render.plain import blocks_to_text

BOLD, CYAN, RESET = "\033[1m", "\033[36m", "\033[0m"
_BOLD = re.compile(r"\*([^*\n]+)\*")
# What a terminal would act on rather than print, from Kosli or a git host: control sequences
# (CSI: colours, cursor moves, clearing the screen; OSC, DCS, APC, PM: a window title, up to
# their terminator or the line's end; any other ESC pair), then every other C0 control but
# newline and tab, DEL and C1.
_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c\n]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -~]?"
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
THREAD, PRIVATE = "  │ ", "(only you) "


def wants_colour(out: TextIO) -> bool:
    return out.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


def printable(text: str) -> str:
    """`text` as plain characters: nothing in it can drive the terminal."""
    return _CONTROL.sub("", _SEQUENCE.sub("", text))


def paint(text: str, colour: bool) -> str:
    """Slack's *bold* as terminal bold; the first line (a header) in cyan."""
    if not colour:
        return _BOLD.sub(r"\1", text)
    head, _, rest = text.partition("\n")
    painted = []
    for part, chunk in enumerate(rest.split("*")):
        painted.append(f"{BOLD}{chunk}{RESET}" if part % 2 else chunk)
    return f"{BOLD}{CYAN}{head}{RESET}" + ("\n" + "".join(painted) if rest else "")


class TerminalTransport:
    def __init__(self, out: TextIO, colour: bool, files: Path) -> None:
        self.out, self.colour, self.files = out, colour, files
        self._ts = itertools.count(1)
        self._posted: dict[str, str] = {}  # part key -> ts: what find_posted finds

    def show(self, message: Message, prefix: str = "") -> None:
        text = blocks_to_text(message.blocks) if message.blocks else message.text
        lines = paint(printable(text), self.colour).splitlines() or [""]
        print("\n".join(prefix + line for line in lines) + "\n", file=self.out, flush=True)

    async def post(
        self,
        channel: str,
        message: Message,
        *,
        thread_ts: str | None = None,
        key: str | None = None,
        already: Mapping[str, str] | None = None,
    ) -> str:
        if key and key in (already or {}):
            return (already or {})[key]
        self.show(message, THREAD if thread_ts else "")
        ts = f"{next(self._ts)}.000000"
        if key:
            self._posted[key] = ts
        return ts

    async def post_private(
        self, channel: str, user: str, message: Message, *, thread_ts: str | None = None
    ) -> None:
        self.show(message, PRIVATE)

    async def upload(
        self, channel: str, thread_ts: str | None, filename: str, title: str, content: str
    ) -> None:
        path = self.files / Path(filename).name  # never outside the folder
        path.write_text(content)
        self.show(Message(f"📎 {title}: saved as {path}"), THREAD)

    async def delete(self, channel: str, ts: str) -> None:
        self.show(Message(f"(message {ts} withdrawn)"))

    async def find_posted(
        self, channel: str, key: str, *, thread_ts: str | None, since: datetime
    ) -> dict[str, str]:
        return {k: ts for k, ts in self._posted.items() if k == key or k.startswith(key + "/")}

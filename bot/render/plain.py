"""Block Kit as plain text: for terminals, logs, files and the notes people paste elsewhere."""

from __future__ import annotations

import re
from typing import Any

_DATE = re.compile(r"<!date\^\d+\^[^|>]*\|([^>]*)>")
_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]*)>")
_MENTION = re.compile(r"<([#@])(\w+)>")
_EMOJI = {
    ":large_green_circle:": "🟢",
    ":red_circle:": "🔴",
    ":arrows_counterclockwise:": "🔄",
    ":rewind:": "⏪",
    ":left_right_arrow:": "↔️",
    ":rotating_light:": "🚨",
    ":white_check_mark:": "✅",
    ":x:": "❌",
    ":warning:": "⚠️",
    ":grey_question:": "❔",
    ":no_bell:": "🔕",
    ":bell:": "🔔",
    ":pause_button:": "⏸️",
    ":hourglass:": "⌛",
    ":twisted_rightwards_arrows:": "🔀",
    ":information_source:": "ℹ️",
    ":repeat:": "🔁",
    ":link:": "🔗",
}


def mrkdwn_to_text(text: str, links: bool = True, markdown: bool = False) -> str:
    """Dates become their fallback, links 'label (url)' (or Markdown's), entities and emoji
    their characters."""
    text = _DATE.sub(r"\1", text)
    link = r"[\2](\1)" if markdown else r"\2 (\1)" if links else r"\2"
    text = _LINK.sub(link, text)
    text = _MENTION.sub(r"\1\2", text)
    for code, character in _EMOJI.items():
        text = text.replace(code, character)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def blocks_to_text(blocks: list[dict[str, Any]], links: bool = True) -> str:
    return _convert(blocks, lambda text: mrkdwn_to_text(text, links), heading="")


def blocks_to_markdown(blocks: list[dict[str, Any]], heading: str = "##") -> str:
    """Markdown for files: headers become headings, links Markdown links; buttons are dropped."""

    def convert(text: str) -> str:
        # Slack's *bold* is Markdown's **bold**; a line break needs two spaces in Markdown.
        text = re.sub(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])", r"**\1**", text)
        return mrkdwn_to_text(text, markdown=True).replace("\n", "  \n")

    return _convert(blocks, convert, heading=heading + " ")


def _convert(blocks: list[dict[str, Any]], convert: Any, heading: str) -> str:
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            lines.append(heading + block["text"]["text"])
        elif kind == "section":
            if "text" in block:
                lines.append(convert(block["text"]["text"]))
            for field in block.get("fields") or []:
                lines.append(convert(field["text"]).replace("\n", ": ", 1))
        elif kind == "context":
            lines += [convert(e.get("text", "")) for e in block["elements"]]
        elif kind == "divider":
            lines.append("---")
    return "\n".join(lines)

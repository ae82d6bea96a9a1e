"""Block Kit as plain text: for terminals, logs, files and the notes people paste elsewhere."""

from __future__ import annotations

import re
from typing import Any

_DATE = re.compile(r"<!date\^\d+\^[^|>]*\|([^>]*)>")
_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]*)>")
_MENTION = re.compile(r"<#(\w+)>")
_EMOJI = {
    ":large_green_circle:": "🟢",
    ":red_circle:": "🔴",
    ":arrows_counterclockwise:": "🔄",
    ":left_right_arrow:": "↔️",
    ":rotating_light:": "🚨",
    ":white_check_mark:": "✅",
    ":x:": "❌",
    ":warning:": "⚠️",
    ":grey_question:": "❔",
    ":no_bell:": "🔕",
    ":bell:": "🔔",
    ":pause_button:": "⏸️",
}


def mrkdwn_to_text(text: str, links: bool = True) -> str:
    """Dates become their fallback, links 'label (url)', entities and emoji their characters."""
    text = _DATE.sub(r"\1", text)
    text = _LINK.sub(r"\2 (\1)" if links else r"\2", text)
    text = _MENTION.sub(r"#\1", text)
    for code, character in _EMOJI.items():
        text = text.replace(code, character)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def blocks_to_text(blocks: list[dict[str, Any]], links: bool = True) -> str:
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            lines.append(block["text"]["text"])
        elif kind == "section":
            if "text" in block:
                lines.append(mrkdwn_to_text(block["text"]["text"], links))
            for field in block.get("fields") or []:
                lines.append(mrkdwn_to_text(field["text"], links).replace("\n", ": ", 1))
        elif kind == "context":
            lines += [mrkdwn_to_text(e.get("text", ""), links) for e in block["elements"]]
        elif kind == "divider":
            lines.append("---")
    return "\n".join(lines)

"""Block Kit building blocks, each clipped to Slack's limits, shared by every renderer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.domain.changes import commit_sha
from bot.kosli.models import SnapshotArtifact
from bot.render.mrkdwn import escape, link

MAX_BLOCKS = 50
MAX_TEXT = 3000
MAX_HEADER = 150
MAX_FIELDS = 10

# A Block Kit block as Slack's API takes it, built as a plain dict: slack_sdk's block classes
# cost more to turn into dicts than the rest of an alert's rendering together.
Block = dict[str, Any]


@dataclass(frozen=True)
class Message:
    """What goes to Slack: `text` is the notification and screen-reader fallback."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    # Where to see everything, when an answer is too long to send whole (mrkdwn, escaped).
    see_all: str = ""


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _object(**fields: Any) -> Block:
    """A Block Kit object as slack_sdk writes one: keys sorted, empty values left out."""
    return {
        key: value
        for key, value in sorted(fields.items())
        if value is not None and (not isinstance(value, str | list) or value)
    }


def _plain(text: str) -> Block:
    return _object(type="plain_text", text=text, emoji=True)


def _mrkdwn(text: str) -> Block:
    return _object(type="mrkdwn", text=text)


def header(text: str) -> Block:
    return _object(type="header", text=_plain(clip(text, MAX_HEADER)))


def section(text: str, fields: list[str] | None = None) -> Block:
    return _object(
        type="section",
        text=_mrkdwn(clip(text, MAX_TEXT)),
        fields=[_mrkdwn(clip(f, 2000)) for f in (fields or [])[:MAX_FIELDS]],
    )


def context(text: str) -> Block:
    return _object(type="context", elements=[_mrkdwn(clip(text, MAX_TEXT))])


def divider() -> Block:
    return {"type": "divider"}


def lines(lines: list[str]) -> list[Block]:
    """Pack lines into as few sections as fit in 3,000 characters each."""
    sections: list[Block] = []
    chunk: list[str] = []
    for line in lines:
        if chunk and len("\n".join([*chunk, line])) > MAX_TEXT:
            sections.append(section("\n".join(chunk)))
            chunk = []
        chunk.append(line)
    if chunk:
        sections.append(section("\n".join(chunk)))
    return sections


def message(
    text: str,
    blocks: Sequence[Block],
    footer: Sequence[Block] | None = None,
    see_all: str = "",
) -> Message:
    """All the blocks, however many: transports send more than 50 as several messages
    (`parts`) rather than drop any. The `footer` (buttons) ends the last part.

    `text` is the notification and screen-reader fallback, and Slack reads it as mrkdwn: it
    is escaped here, once for every message, so no Kosli or user text can become a mention
    or a link there."""
    return Message(
        text=clip(_escaped_once(text), MAX_TEXT),
        blocks=[*blocks, *(footer or [])],
        see_all=see_all,
    )


def _escaped_once(text: str) -> str:
    """Escape `text` for Slack without escaping twice what a caller escaped already."""
    return escape(text.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"))


def parts(blocks: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Slack takes 50 blocks a message: a longer message goes as consecutive messages."""
    return [blocks[i : i + MAX_BLOCKS] for i in range(0, len(blocks), MAX_BLOCKS)] or [[]]


def cut(message: Message, most: int) -> list[dict[str, Any]]:
    """At most `most` blocks of `message`: when some must go, the last says how many entries
    (sections) were left out and where to see them all, instead of dropping them silently."""
    if len(message.blocks) <= most:
        return message.blocks
    kept = message.blocks[: most - 1]
    left = sum(1 for b in message.blocks[most - 1 :] if b["type"] == "section")
    where = message.see_all or "Ask about fewer at a time."
    note = f"…and {left} more not shown: one answer holds {most} blocks. {where}"
    return [*kept, context(note)]


def buttons(*choices: tuple[str, str, str]) -> Block:
    """(action_id, label, value) buttons; the value carries what the click acts on."""
    return actions(*(button(action, label, value) for action, label, value in choices))


def actions(*elements: Block) -> Block:
    return _object(type="actions", elements=list(elements))


def button(
    action: str, label: str, value: str, style: str = "", confirm: Block | None = None
) -> Block:
    return _object(
        type="button",
        action_id=action,
        text=_plain(clip(label, 75)) if label else None,
        value=clip(value, 2000),
        style=style,
        confirm=confirm,
    )


def confirmation(title: str, text: str, yes: str, no: str) -> Block:
    """The dialog a button asks through before it acts."""
    return {
        "confirm": {"text": yes, "type": "plain_text"},
        "deny": {"text": no, "type": "plain_text"},
        "text": _mrkdwn(text),
        "title": _plain(title),
    }


def compliance(state: bool | None) -> str:
    if state is None:
        return ":grey_question: unknown"
    return ":white_check_mark: compliant" if state else ":x: non-compliant"


def commit_link(commit_url: str, sha: str = "") -> str:
    sha = sha or commit_sha(commit_url)
    if not commit_url and not sha:
        return "unknown"
    return link(commit_url, sha[:7] if sha else commit_url)


def artifact_target(artifact: SnapshotArtifact) -> str:
    """What `artifact` looks an artifact up by: FLOW@FINGERPRINT, or the bare fingerprint
    (Kosli's search) when it has no flow."""
    return f"{artifact.flow}@{artifact.fingerprint}" if artifact.flow else artifact.fingerprint

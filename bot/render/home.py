"""The bot's Home tab: the Kosli connection, and per channel what it watches (last snapshot,
compliance, muted until) and its open incident threads; buttons for admins."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    DividerBlock,
    MarkdownTextObject,
    PlainTextObject,
)
from slack_sdk.models.views import View

from bot.domain.results import ChannelHome, EnvProgress, HomeResult, OpenIncident, Watched
from bot.render import blockkit
from bot.render.blockkit import clip, compliance
from bot.render.mrkdwn import code, date, escape, link

MAX_HOME_BLOCKS = 100  # Slack's limit for a Home view
CONNECT, UNWATCH, UNMUTE = "home_connect", "home_unwatch", "home_unmute"


def render_home(result: HomeResult, command: str, notice: str = "") -> dict[str, Any]:
    """The view for views.publish. `notice` says what a click could not do (escaped here,
    once: it may be a reply's text, escaped already)."""
    blocks: list[Block] = [blockkit.header("Kosli incident bot"), _connection(result, command)]
    if notice:
        blocks.append(blockkit.context(f":warning: {blockkit.message(notice, []).text}"))
    if result.connection is not None and not result.channels:
        blocks.append(
            blockkit.section(
                f"No channel watches anything yet. In a channel, `{command} watch ENV` "
                "posts there each change Kosli records in ENV."
            )
        )
    body: list[list[Block]] = [_channel(channel, result.admin) for channel in result.channels]
    return View(
        type="home", blocks=[*blocks, *_cut(body, MAX_HOME_BLOCKS - len(blocks), command)]
    ).to_dict()


def _connection(result: HomeResult, command: str) -> Block:
    if result.connection is None:
        text = f"Not connected to a Kosli org yet: an admin runs `{command} connect`."
    else:
        org, host = result.connection
        text = f"Connected to Kosli org {code(org)} at {code(host)}."
    section = blockkit.section(text)
    if result.admin:
        label = "Connect" if result.connection is None else "Change"
        section.accessory = ButtonElement(action_id=CONNECT, text=label, value="connect")
    return section


def _channel(home: ChannelHome, admin: bool) -> list[Block]:
    """A divider, the channel and its incidents, then one section per watched environment
    (with its buttons for admins)."""
    lines = [f"*<#{home.channel}>*"]
    lines += [_incident(incident) for incident in home.incidents]
    blocks: list[Block] = [DividerBlock(), blockkit.section("\n".join(lines))]
    for watched, progress in home.watching:
        blocks.append(blockkit.section(_watch_line(watched, progress)))
        if admin:
            blocks.append(_buttons(home.channel, watched))
    return blocks


def _incident(incident: OpenIncident) -> str:
    envs = ", ".join(incident.envs)
    label = f"Incident in {envs}" if envs else "Incident"
    opened = f"opened {date(incident.opened_at)} by <@{incident.by}>"
    return f":rotating_light: {link(incident.permalink, label)} · {opened}"


def _watch_line(watched: Watched, progress: EnvProgress | None) -> str:
    parts = [code(watched.env)]
    if progress is None:
        parts.append("not read yet")
    else:
        parts.append(f"last snapshot {code(f'#{progress.last_seen_index}')}")
        parts.append(compliance(progress.compliant))
        if progress.outage_open:
            parts.append(":warning: Kosli not answering")
    if watched.risky_only:
        parts.append("risky changes only")
    if watched.muted_until is not None:
        parts.append(f":mute: muted until {date(watched.muted_until)}")
    if watched.paused_reason:
        parts.append(f":pause_button: paused: {escape(watched.paused_reason)}")
    return " · ".join(parts)


def _buttons(channel: str, watched: Watched) -> ActionsBlock:
    value = clip(f"{channel} {watched.env}", 2000)
    unwatch = ButtonElement(
        action_id=UNWATCH,
        text="Unwatch",
        value=value,
        style="danger",
        confirm=ConfirmObject(
            title="Stop watching?",
            text=MarkdownTextObject(
                text=clip(f"<#{channel}> stops getting the changes of {code(watched.env)}.", 300)
            ),
            confirm=PlainTextObject(text="Unwatch"),
            deny=PlainTextObject(text="Keep"),
        ),
    )
    if watched.muted_until is None:
        return ActionsBlock(elements=[unwatch])
    unmute = ButtonElement(action_id=UNMUTE, text="Unmute", value=value)
    return ActionsBlock(elements=[unmute, unwatch])


def _cut(groups: list[list[Block]], room: int, command: str) -> list[Block]:
    """Whole channels while they fit (a first channel too big for the tab is shown in part),
    then one line saying what was left out."""
    kept: list[Block] = []
    for number, group in enumerate(groups):
        last = number == len(groups) - 1
        if len(kept) + len(group) <= room - (0 if last else 1):
            kept += group
            continue
        part = group[: max(room - 1, 0)] if not kept else []
        if part and group[len(part)].type == "actions":
            part = part[:-1]  # never a watch without its buttons
        kept += part
        left = sum(_watches(g) for g in groups[number:]) - _watches(part)
        channels = len(groups) - number - (1 if part else 0)
        missing = [f"{left} more watched environments"] if left else []
        missing += [f"{channels} more channels"] if channels else []
        note = (
            f"…and {' in '.join(missing)} not shown: a Home tab holds {MAX_HOME_BLOCKS} blocks. "
            f"`{command} watching` in a channel lists all it watches."
        )
        kept.append(blockkit.context(note))
        break
    return kept


def _watches(group: list[Block]) -> int:
    """Watched environments in a channel's blocks: its sections after the channel's own."""
    return max(sum(1 for b in group if b.type == "section") - 1, 0)

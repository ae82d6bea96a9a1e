"""Replies to watch, unwatch, watching, mute and unmute."""

from __future__ import annotations

from typing import Any

from bot.domain.logical import included_words, names, not_read, reading_included
from bot.domain.results import (
    MuteResult,
    UnwatchResult,
    WatchingResult,
    WatchResult,
)
from bot.kosli.models import Environment
from bot.render import blockkit
from bot.render.blockkit import Block, Message
from bot.render.mrkdwn import code, date, date_fallback, escape
from bot.render.watcher import render_baseline


def render_unwatch(result: UnwatchResult, command: str) -> Message:
    env = escape(result.env)
    if result.logical is not None:
        return _render_unwatch_logical(result, result.logical)
    if not result.removed:
        text = f"This channel was not watching `{env}`."
        return blockkit.message(text, [blockkit.section(text)])
    text = f"<@{escape(result.by)}> stopped watching `{env}` in this channel."
    return blockkit.message(f"Stopped watching {result.env} here", [blockkit.section(text)])


def _render_unwatch_logical(result: UnwatchResult, logical: Environment) -> Message:
    if not result.included:
        what = included_words(logical)
        text = (
            f"This channel was not watching `{logical.name}`, "
            f"a logical environment that includes {what}."
        )
        return blockkit.message(text, [blockkit.section(escape(text))])
    unwatched = escape(names(result.included))
    text = (
        f"<@{escape(result.by)}> stopped watching {unwatched} in this channel: "
        f"what the logical environment `{escape(logical.name)}` includes."
    )
    return blockkit.message(f"Stopped watching {unwatched} here", [blockkit.section(text)])


def render_watch(result: WatchResult, command: str) -> Message:
    blocks: list[dict[str, Any]] = []
    texts: list[str] = []
    for baseline in result.started:
        message = render_baseline(baseline, command)
        blocks += message.blocks
        texts.append(message.text)
    for sub in result.already:
        text = f"Already watching {code(sub.env)} here (since snapshot #{sub.since_index})."
        if sub.env in result.switched and sub.risky_only:
            text = f"Now only risky changes of {code(sub.env)} here (non-compliant or rogue)."
        elif sub.env in result.switched:
            text = f"Now every change of {code(sub.env)} here, not only risky ones."
        blocks.append(blockkit.section(text))
        texts.append(text)
    if result.risky_only and result.started:
        note = "Only non-compliant and rogue artifacts will be reported here (--risky)."
        blocks.append(blockkit.context(note))
    notes = [reading_included(env, "watching") for env in result.logical]
    if result.no_snapshot:
        notes.append(not_read(result.no_snapshot, "watched") + " Watch again once it reports.")
    for note in notes:  # names Kosli listed: escaped, as the baselines' texts are
        blocks.append(blockkit.context(f":information_source: {escape(note)}"))
        texts.append(escape(note))
    # Several baselines may pass 50 blocks: the transports send them as several messages.
    return Message(blockkit.clip(" · ".join(texts), blockkit.MAX_TEXT), blocks)


def render_watching(result: WatchingResult, command: str) -> Message:
    if not result.rows:
        text = f"This channel watches nothing yet. Start with `{command} watch ENV`."
        return blockkit.message(text, [blockkit.section(text)])
    lines = []
    for sub, state in result.rows:
        seen = f"last seen *#{state.last_seen_index}*" if state else "not polled yet"
        notes = []
        if sub.risky_only:
            notes.append("only risky changes")
        if sub.muted_until:
            notes.append(f":no_bell: muted until {date(sub.muted_until)}")
        if sub.paused_reason:
            notes.append(f":pause_button: paused: Slack said {code(sub.paused_reason)}")
        if state and state.outage_open:
            notes.append(":warning: Kosli not answering")
        extra = f" · {' · '.join(notes)}" if notes else ""
        lines.append(f"*{escape(sub.env)}* · {seen} · since #{sub.since_index}{extra}")
    blocks: list[Block] = [blockkit.header("Watched in this channel"), *blockkit.lines(lines)]
    return blockkit.message(f"This channel watches {len(result.rows)} environments", blocks)


def render_mute(result: MuteResult, command: str) -> Message:
    env = escape(result.env)
    if result.logical is not None:
        return _render_mute_logical(result, result.logical, command)
    if not result.found:
        text = f"This channel does not watch `{env}`. Start with `{command} watch {env}`."
        return blockkit.message(text, [blockkit.section(text)])
    if result.until:
        text = (
            f":no_bell: <@{escape(result.by)}> muted `{env}`: alerts are held until "
            f"{date(result.until)}, then summarised. End it early with `{command} unmute {env}`."
        )
    else:
        held = f"{result.released} held alerts follow as one summary." if result.released else ""
        text = f":bell: <@{escape(result.by)}> unmuted `{env}`. {held}".strip()
    what = f"muted until {date_fallback(result.until)}" if result.until else "unmuted"
    return blockkit.message(f"{result.env} {what}", [blockkit.section(text)])


def _render_mute_logical(result: MuteResult, logical: Environment, command: str) -> Message:
    """`mute production` (un)mutes what the logical environment includes and this channel
    watches."""
    env = escape(logical.name)
    if not result.included:
        what = included_words(logical)
        text = (
            f"This channel watches nothing `{logical.name}` includes ({what}). "
            f"Start with `{command} watch {logical.name}`."
        )
        return blockkit.message(text, [blockkit.section(escape(text))])
    envs = escape(names(result.included))
    why = f"what the logical environment `{env}` includes"
    if result.until:
        text = (
            f":no_bell: <@{escape(result.by)}> muted {envs}, {why}: alerts are held until "
            f"{date(result.until)}, then summarised. End it early with `{command} unmute {env}`."
        )
        fallback = f"{envs} muted until {date_fallback(result.until)}"
    else:
        held = f" {result.released} held alerts follow as one summary." if result.released else ""
        text = f":bell: <@{escape(result.by)}> unmuted {envs}, {why}.{held}"
        fallback = f"{envs} unmuted"
    return blockkit.message(fallback, [blockkit.section(text)])

"""Replies to watch, unwatch, watching, mute and unmute."""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from bot.domain.results import (
    MuteResult,
    SubscriptionResult,
    UnwatchResult,
    WatchingResult,
    WatchResult,
)
from bot.render import kit
from bot.render.alerts import render_baseline
from bot.render.kit import Message
from bot.render.mrkdwn import date, escape


def render_subscription(result: SubscriptionResult, command: str = "/kosli") -> Message:
    match result:
        case WatchResult():
            return _watch(result, command)
        case UnwatchResult(env, removed):
            text = (
                f"Stopped watching `{escape(env)}` in this channel."
                if removed
                else f"This channel was not watching `{escape(env)}`."
            )
            return kit.message(text, [kit.section(text)])
        case WatchingResult():
            return _watching(result, command)
        case MuteResult():
            return _mute(result, command)
    raise AssertionError(f"no renderer for {result!r}")


def _watch(result: WatchResult, command: str) -> Message:
    blocks: list[dict] = []
    texts: list[str] = []
    for baseline in result.started:
        message = render_baseline(baseline, command)
        blocks += message.blocks
        texts.append(message.text)
    for sub in result.already:
        text = f"Already watching `{escape(sub.env)}` here (since snapshot #{sub.since_index})."
        blocks.append(kit.section(text).to_dict())
        texts.append(text)
    if result.risky_only and result.started:
        note = "Only non-compliant and rogue artifacts will be reported here (--risky)."
        blocks.append(kit.context(note).to_dict())
    # Several baselines may pass 50 blocks: the transports send them as several messages.
    return Message(kit.clip(" · ".join(texts), kit.MAX_TEXT), blocks)


def _watching(result: WatchingResult, command: str) -> Message:
    if not result.rows:
        text = f"This channel watches nothing yet. Start with `{command} watch ENV`."
        return kit.message(text, [kit.section(text)])
    lines = []
    for sub, state in result.rows:
        seen = f"last seen *#{state.last_seen_index}*" if state else "not polled yet"
        notes = []
        if sub.risky_only:
            notes.append("only risky changes")
        if sub.muted_until:
            notes.append(f":no_bell: muted until {date(sub.muted_until)}")
        if sub.paused_reason:
            notes.append(f":pause_button: paused: Slack said `{escape(sub.paused_reason)}`")
        if state and state.outage_open:
            notes.append(":warning: Kosli not answering")
        extra = f" · {' · '.join(notes)}" if notes else ""
        lines.append(f"*{escape(sub.env)}* · {seen} · since #{sub.since_index}{extra}")
    blocks: list[Block] = [kit.header("Watched in this channel"), *kit.lines(lines)]
    return kit.message(f"This channel watches {len(result.rows)} environments", blocks)


def _mute(result: MuteResult, command: str) -> Message:
    env = escape(result.env)
    if not result.found:
        text = f"This channel does not watch `{env}`. Start with `{command} watch {env}`."
    elif result.until:
        text = (
            f":no_bell: Alerts for `{env}` are held until {date(result.until)}; "
            f"you'll get one summary then. End it early with `{command} unmute {env}`."
        )
    else:
        held = f"{result.released} held alerts follow as one summary." if result.released else ""
        text = f":bell: `{env}` is unmuted. {held}".strip()
    return kit.message(text, [kit.section(text)])

"""Suspects: the changes before an incident's start, most suspect first, each with its
reasons; the marks people put on them; cause and fix in the closing words."""

from __future__ import annotations

from collections.abc import Callable

from bot.domain.suspects import HOW, Candidate, Mark, Ranking, Suspect, Verdict
from bot.render import blockkit
from bot.render.blockkit import Block, Message
from bot.render.mrkdwn import date, escape

LISTED = 10  # lower-ranked changes named one line each; the rest counted
NAME_IN_VALUE = 60  # characters of the artifact's name a button carries


def _after_line(c: Candidate, ranking: Ranking) -> str:
    minutes = max(1, round((c.at - ranking.start).total_seconds() / 60))
    return f"{escape(c.label)} · {minutes} min after ({escape(c.env)}#{c.snapshot})"


def _mark_value(suspect: Suspect) -> str:
    c = suspect.candidate
    name = c.change.artifact.name.split("@", 1)[0].rsplit("/", 1)[-1][:NAME_IN_VALUE]
    return f"{c.env} {c.fingerprint} {name}"


def suspects_blocks(ranking: Ranking, marks: bool) -> list[Block]:
    """The ranking, top three first; with `marks`, Cause and Not it buttons under each."""
    blocks: list[Block] = []
    if not ranking.suspects:
        blocks.append(
            blockkit.section(f"*Suspects*: no change before {date(ranking.start)} in the window.")
        )
    else:
        blocks.append(blockkit.section(f"*Suspects*, before {date(ranking.start)}:"))
    for place, suspect in enumerate(ranking.top, start=1):
        c = suspect.candidate
        blocks.append(
            blockkit.section(
                f"*{place}.* {escape(suspect.line)}\n_{escape(c.env)}#{c.snapshot}, "
                f"score {suspect.score:+.1f}_"
            )
        )
        if marks:
            value = _mark_value(suspect)
            blocks.append(
                blockkit.buttons(
                    ("suspect_cause", "Cause", value), ("suspect_not_it", "Not it", value)
                )
            )
    rest = ranking.suspects[3:]
    lines = []
    if rest:
        named = [f"{escape(s.line)}" for s in rest[:LISTED]]
        more = f"\n…and {len(rest) - LISTED} more" if len(rest) > LISTED else ""
        lines.append("Ranked lower:\n" + "\n".join(named) + more)
    if ranking.after:
        after = [_after_line(c, ranking) for c in ranking.after[:LISTED]]
        more = f"\n…and {len(ranking.after) - LISTED} more" if len(ranking.after) > LISTED else ""
        lines.append("After the start, never ranked first:\n" + "\n".join(after) + more)
    if ranking.unread:
        lines.append("Not read: " + "; ".join(escape(u) for u in ranking.unread) + ".")
    blocks += blockkit.lines(lines)
    blocks.append(blockkit.context(HOW))
    return blocks


def render_suspects(ranking: Ranking, command: str) -> Message:
    envs = sorted({s.candidate.env for s in ranking.suspects} | {c.env for c in ranking.after})
    title = f"Suspects in {', '.join(envs)}" if envs else "Suspects"
    top = ranking.suspects[0].line if ranking.suspects else "no change before the start"
    blocks: list[Block] = [blockkit.header(title), *suspects_blocks(ranking, marks=False)]
    blocks.append(
        blockkit.context(
            f"Open an incident thread with `{escape(command)} incident ENV at TIME` to mark "
            "the cause and the fix."
        )
    )
    return blockkit.message(f"{title}: {top}", blocks)


def _who(mark: Mark, plain: bool = False) -> str:
    by = mark.by if plain else f"<@{escape(mark.by)}>"
    return f"{by} at {mark.at:%H:%M} UTC"


def _named(mark: Mark, say: Callable[[str], str] = escape) -> str:
    name = mark.name or mark.fingerprint[:12]
    return f"`{say(name)}` in {say(mark.env)}"


def render_mark(mark: Mark) -> Message:
    what = "the cause" if mark.cause else "not it"
    text = f"{_named(mark)} marked {what} by {_who(mark)}."
    # The notification names no one: a mention there would be escaped into noise.
    return blockkit.message(f"{_named(mark)} marked {what}.", [blockkit.section(text)])


def verdict_lines(decided: Verdict, plain: bool = False) -> list[str]:
    """Cause and fix for the closing message (mrkdwn, escaped) and, `plain`, the timeline
    file."""
    say: Callable[[str], str] = (lambda text: text) if plain else escape
    lines = []
    for mark, cause, fix in decided.causes:
        label = say(cause.label) if cause else _named(mark, say)
        where = f" ({say(cause.env)}#{cause.snapshot})" if cause else ""
        lines.append(f"Cause: {label}{where}, marked by {_who(mark, plain)}.")
        if fix is not None:
            lines.append(
                f"Fix: {say(fix.label)} ({say(fix.env)}#{fix.snapshot}, "
                f"{fix.at:%H:%M} UTC), proposed: the next change of {say(fix.image)}."
            )
        elif cause is not None:
            lines.append(f"Fix: no later change of {say(cause.image)} in the window.")
    for mark, candidate in decided.not_it:
        label = say(candidate.label) if candidate else _named(mark, say)
        lines.append(f"Not it: {label}, marked by {_who(mark, plain)}.")
    return lines

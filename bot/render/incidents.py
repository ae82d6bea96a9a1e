"""An incident thread's parent message, its closing summary, and the timeline file."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.domain.changes import Kind, short_name
from bot.domain.commits_window import CommitsWindow
from bot.domain.suspects import Ranking, Verdict
from bot.domain.timeline import IncidentWindow, Timeline
from bot.render import blockkit
from bot.render.blockkit import Block, Message
from bot.render.changes import render_alert
from bot.render.mrkdwn import date, escape
from bot.render.plain import blocks_to_markdown
from bot.render.suspects import suspects_blocks, verdict_lines


def _counts(timelines: Sequence[Timeline]) -> str:
    changes = sum(len(t.changesets) for t in timelines)
    return f"{changes} change{'s' if changes != 1 else ''}"


def render_parent(
    timelines: Sequence[Timeline], user: str, command: str, ranking: Ranking
) -> Message:
    """The suspects first (the incident's real question), then each environment's window."""
    names = ", ".join(t.env for t in timelines)
    title = f"Incident: what changed in {names}"
    blocks: list[Block] = [blockkit.header(title), *suspects_blocks(ranking, marks=True)]
    for timeline in timelines:
        start = timeline.start
        skipped = (
            f"\n_{timeline.skipped} earlier changes are left out of the thread; "
            "the closing file lists them all._"
            if timeline.skipped
            else ""
        )
        blocks.append(
            blockkit.section(
                f"*{escape(timeline.env)}* at the window's start: snapshot *#{start.index}* "
                f"({date(start.timestamp)}), {len(start.running)} artifacts running, "
                f"{blockkit.compliance(start.compliant)}.\n"
                f"Since then: {_counts([timeline])} up to #{timeline.latest}, "
                f"one reply each in this thread.{skipped}"
            )
        )
    blocks.append(
        blockkit.context(
            f"Opened by <@{escape(user)}>. New changes of {escape(names)} follow in this thread "
            f"until it is closed. Ask here by mentioning me with a command, e.g. `diff #175 #176` "
            f"or `where b7a5908`; close with `{command} incident close`."
        )
    )
    footer = [blockkit.buttons(("close_incident", "Close incident", "close"))]
    return blockkit.message(f"{title}: {_counts(timelines)}", blocks, footer)


def _totals(timeline: Timeline) -> str:
    """Each change kind summed over the window, e.g. '4 started, 4 replaced'."""
    counts = [f"{n} {kind.value}" for kind in Kind if (n := timeline.count(kind))]
    return ", ".join(counts) or "no change"


def render_close(
    incident: IncidentWindow, timelines: Sequence[Timeline], user: str, decided: Verdict
) -> Message:
    names = ", ".join(incident.envs)
    lines = [f"*{escape(t.env)}* #{t.start.index} → #{t.latest}: {_totals(t)}" for t in timelines]
    lines += verdict_lines(decided) or ["No suspect was marked as the cause."]
    text = (
        f":white_check_mark: Incident closed by <@{escape(user)}>. Window: "
        f"{date(incident.window_start)} → {date(incident.closed_at)}, {_counts(timelines)}.\n"
        + "\n".join(lines)
        + "\nThe full timeline is attached as a file; alerts no longer come to this thread."
    )
    return blockkit.message(
        f"Incident closed: {names}, {_counts(timelines)}", [blockkit.section(text)]
    )


def render_timeline_markdown(
    incident: IncidentWindow,
    timelines: Sequence[Timeline],
    command: str,
    windows: Mapping[tuple[str, str], CommitsWindow] | None = None,
    decided: Verdict | None = None,
) -> str:
    """The whole window, change by change, for a postmortem or an audit; `windows` adds the
    commits between each replaced build's old and new commit."""
    parts = [
        f"# Incident timeline: {', '.join(incident.envs)}",
        "",
        f"- Opened: {incident.opened_at:%Y-%m-%d %H:%M:%S} UTC by {incident.opened_by}",
        f"- Closed: {incident.closed_at:%Y-%m-%d %H:%M:%S} UTC" if incident.closed_at else "",
        f"- Window start: {incident.window_start:%Y-%m-%d %H:%M:%S} UTC",
    ]
    if decided is not None and (said := verdict_lines(decided, plain=True)):
        parts += ["", "## Cause and fix", "", *(f"- {line}" for line in said)]
    for timeline in timelines:
        start = timeline.start
        parts += [
            "",
            f"## {timeline.env}: #{start.index} → #{timeline.latest}",
            "",
            f"At the start, snapshot #{start.index} ({start.timestamp:%Y-%m-%d %H:%M:%S} UTC) "
            f"ran {len(start.running)} artifacts:",
            "",
            *(
                f"- `{short_name(a.name)}` ({a.fingerprint[:12]}, "
                f"commit {a.git_commit[:7] or 'unknown'})"
                for a in sorted(start.running, key=lambda a: a.name)
            ),
        ]
        for changes in timeline.changesets:
            message = render_alert(changes, command, timeline.builds, windows or {})
            parts += ["", blocks_to_markdown(message.blocks, heading="###")]
    return "\n".join(parts).strip() + "\n"

"""The watcher's notes beside its change alerts (render/changes.py): baseline, outage, mute."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.domain.compliance import reasons
from bot.domain.timeline import Baseline
from bot.kosli.models import SnapshotArtifact
from bot.render import blockkit
from bot.render.blockkit import Block, Message
from bot.render.changes import artifact_line, rogue_lines
from bot.render.mrkdwn import code, date, escape


def _why(artifact: SnapshotArtifact) -> str:
    found = reasons(artifact)
    if found:
        return "; ".join(escape(r) for r in found)
    return "Kosli gives no reason: open the artifact in Kosli to see which evidence is missing"


def render_baseline(baseline: Baseline, command: str) -> Message:
    snapshot = baseline.snapshot
    env = snapshot.env
    title = f"Watching {env} in this channel"
    blocks: list[Block] = [
        blockkit.header(title),
        blockkit.section(
            f"From snapshot *#{snapshot.index}* ({date(snapshot.timestamp)}), "
            f"{len(baseline.running)} artifacts running · {blockkit.compliance(snapshot.compliant)}"
        ),
    ]
    trouble = [
        *(
            f":rotating_light: *Rogue* {rogue_lines(a)}"
            + (f"\n*Why:* {_why(a)}" if reasons(a) else "")
            for a in baseline.rogue
        ),
        *(
            f":x: *Non-compliant* {artifact_line(a)}\n*Why:* {_why(a)}"
            for a in baseline.non_compliant
        ),
    ]
    if trouble:
        blocks += [blockkit.section("*Needs attention now*")] + [
            blockkit.section(t) for t in trouble
        ]
    blocks += blockkit.lines([artifact_line(a) for a in baseline.running])
    blocks.append(
        blockkit.context(
            "I'll post here when something starts, stops, is replaced, or runs without "
            f"compliant evidence or provenance. Stop with `{command} unwatch {escape(env)}`."
        )
    )
    text = f"{title}: {len(baseline.running)} artifacts running at #{snapshot.index}"
    if trouble:
        text += f", {len(trouble)} need attention"
    return blockkit.message(text, blocks)


def render_outage(env: str, failures: int, since: datetime | None) -> Message:
    when = f" since {date(since)}" if since else ""
    text = (
        f":warning: Kosli has not answered for *{escape(env)}* in the last {failures} polls{when}. "
        "I keep trying; nothing is lost: every snapshot in between will be reported."
    )
    return blockkit.message(f"Kosli is not answering for {env}", [blockkit.section(text)])


def render_recovery(env: str, last_seen: int) -> Message:
    text = (
        f":white_check_mark: Kosli is answering again for *{escape(env)}*; "
        f"catching up from snapshot #{last_seen}."
    )
    return blockkit.message(f"Kosli is back for {env}", [blockkit.section(text)])


def render_mute_summary(env: str, held: Sequence[tuple[int, str]]) -> Message:
    """`held`: (snapshot index, the alert's one-line text) for every alert kept while muted."""
    title = f"{env}: mute ended, {len(held)} alerts while muted"
    lines = [f"*#{index}* {escape(text)}" for index, text in held]
    blocks: list[Block] = [blockkit.header(title), *blockkit.lines(lines)]
    return blockkit.message(title, blocks)


def render_paused(channel: str, envs: Sequence[str], reason: str, command: str) -> Message:
    names = ", ".join(f"{code(e)}" for e in envs)
    text = (
        f"I can no longer post to <#{channel}> (Slack says {code(reason)}), so I paused "
        f"watching {names} there. Invite me back and type `{command} watch` again to resume."
    )
    return blockkit.message(f"Paused alerts for {', '.join(envs)}", [blockkit.section(text)])

"""The watcher's messages: one per snapshot transition, plus baseline, outage and mute notes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from slack_sdk.models.blocks import ActionsBlock, Block

from bot.domain.transitions import Baseline, Transition
from bot.kosli.models import SnapshotArtifact
from bot.render import kit
from bot.render.kit import Message
from bot.render.mrkdwn import date, escape, image_tail, short


def _reasons(artifact: SnapshotArtifact) -> str:
    if artifact.reasons:
        return "; ".join(escape(r) for r in artifact.reasons)
    return "Kosli gives no reason: open the artifact in Kosli to see which evidence is missing"


def _rogue_lines(artifact: SnapshotArtifact) -> str:
    return (
        f"`{escape(image_tail(artifact.name))}` · fingerprint `{short(artifact.fingerprint)}`"
        f" · started {date(artifact.started_at)}\n"
        "Kosli cannot tie it to any flow: no build, no commit, no evidence."
    )


def summary(t: Transition) -> str:
    parts = [
        (len(t.rogue), "rogue"),
        (len(t.non_compliant), "non-compliant"),
        (len(t.replaced), "replaced"),
        (len(t.started), "started"),
        (len(t.stopped), "stopped"),
        (len(t.scaled), "scaled"),
        (len(t.undeployed), "without deployment"),
    ]
    words = [f"{n} {word}" for n, word in parts if n]
    if t.compliance:
        words.append("now compliant" if t.compliance[1] else "now non-compliant")
    return ", ".join(words) or "no change in what runs"


def render_transition(
    t: Transition, command: str = "/kosli", builds: Mapping[str, str] | None = None
) -> Message:
    """One snapshot's changes; `builds` (fingerprint -> build URL) adds build links."""
    builds = builds or {}
    title = f"{t.env}#{t.after}: {summary(t)}"
    blocks: list[Block] = [
        kit.header(title),
        kit.context(f"{date(t.at)} · snapshot #{t.before} → #{t.after}"),
    ]
    if t.compliance:
        state = (
            ":white_check_mark: *is compliant again*"
            if t.compliance[1]
            else ":x: *is now non-compliant*"
        )
        blocks.append(kit.section(f"*{escape(t.env)}* {state}"))
    entries: list[tuple[str, str]] = [
        *((":rotating_light: Rogue: running with no provenance", _rogue_lines(a)) for a in t.rogue),
        *(
            (":x: Non-compliant", f"{_artifact_line(a)}\n*Why:* {_reasons(a)}")
            for a in t.non_compliant
        ),
        *(
            (
                ":arrows_counterclockwise: Replaced",
                kit.replacement_lines(r, builds.get(r.new.fingerprint, "")),
            )
            for r in t.replaced
        ),
        *(
            (":large_green_circle: Started", kit.artifact_lines(a, builds.get(a.fingerprint, "")))
            for a in t.started
        ),
        *(
            (":red_circle: Stopped", kit.artifact_lines(a, builds.get(a.fingerprint, "")))
            for a in t.stopped
        ),
        *(
            (
                ":left_right_arrow: Scaled",
                f"`{escape(image_tail(s.artifact.name))}` "
                f"{s.instances_before} → {s.artifact.instances} instances",
            )
            for s in t.scaled
        ),
        *(
            (
                ":warning: Running with no deployment recorded",
                f"{_artifact_line(a)}\nKosli saw it start, but no deployment was reported.",
            )
            for a in t.undeployed
        ),
    ]
    blocks += [kit.section(f"*{label}*\n{body}") for label, body in entries]
    diff = f"{t.env}#{t.before} {t.env}#{t.after}"
    blocks.append(kit.context(f"Details: `{command} diff {escape(diff)}`"))
    return kit.message(title, blocks, footer=[transition_buttons(t)])


def transition_buttons(t: Transition) -> ActionsBlock:
    """Walk back one change (the seed story), open the main artifact, or mute for an hour."""
    choices = []
    if t.before > 1:
        choices.append(("previous_change", "Previous change", f"{t.env}#{t.before}"))
    focus = next(
        iter((*t.rogue, *t.non_compliant, *(r.new for r in t.replaced), *t.started, *t.stopped)),
        None,
    )
    if focus is not None:
        choices.append(("artifact_details", "Artifact details", kit.artifact_target(focus)))
    choices.append(("mute_hour", "Mute 1h", t.env))
    return kit.buttons(*choices)


def _artifact_line(artifact: SnapshotArtifact) -> str:
    """One short line; the full details are in the Started entry or `artifact` command."""
    icon = ":x: " if artifact.compliant is False else ""
    flow = "" if artifact.flow else " · _no provenance_"
    commit = kit.commit_link(artifact.commit_url, artifact.git_commit)
    return f"{icon}`{escape(image_tail(artifact.name))}` · commit {commit}{flow}"


def render_baseline(baseline: Baseline, command: str = "/kosli") -> Message:
    snapshot = baseline.snapshot
    env = snapshot.env
    title = f"Watching {env} in this channel"
    blocks: list[Block] = [
        kit.header(title),
        kit.section(
            f"From snapshot *#{snapshot.index}* ({date(snapshot.timestamp)}), "
            f"{len(baseline.running)} artifacts running · {kit.compliance(snapshot.compliant)}"
        ),
    ]
    trouble = [
        *(f":rotating_light: *Rogue* {_rogue_lines(a)}" for a in baseline.rogue),
        *(
            f":x: *Non-compliant* {_artifact_line(a)}\n*Why:* {_reasons(a)}"
            for a in baseline.non_compliant
        ),
    ]
    if trouble:
        blocks += [kit.section("*Needs attention now*")] + [kit.section(t) for t in trouble]
    blocks += kit.lines([_artifact_line(a) for a in baseline.running])
    blocks.append(
        kit.context(
            "I'll post here when something starts, stops, is replaced, or runs without "
            f"compliant evidence or provenance. Stop with `{command} unwatch {escape(env)}`."
        )
    )
    text = f"{title}: {len(baseline.running)} artifacts running at #{snapshot.index}"
    if trouble:
        text += f", {len(trouble)} need attention"
    return kit.message(text, blocks)


def render_outage(env: str, failures: int, since: datetime | None) -> Message:
    when = f" since {date(since)}" if since else ""
    text = (
        f":warning: Kosli has not answered for *{escape(env)}* in the last {failures} polls{when}. "
        "I keep trying; nothing is lost: every snapshot in between will be reported."
    )
    return kit.message(f"Kosli is not answering for {env}", [kit.section(text)])


def render_recovery(env: str, last_seen: int) -> Message:
    text = (
        f":white_check_mark: Kosli is answering again for *{escape(env)}*; "
        f"catching up from snapshot #{last_seen}."
    )
    return kit.message(f"Kosli is back for {env}", [kit.section(text)])


def render_mute_summary(env: str, held: Sequence[tuple[int, str]]) -> Message:
    """`held`: (snapshot index, the alert's one-line text) for every alert kept while muted."""
    title = f"{env}: mute ended, {len(held)} alerts while muted"
    lines = [f"*#{index}* {escape(text)}" for index, text in held]
    blocks: list[Block] = [kit.header(title), *kit.lines(lines)]
    return kit.message(title, blocks)


def render_paused(channel: str, envs: Sequence[str], reason: str, command: str) -> Message:
    names = ", ".join(f"`{escape(e)}`" for e in envs)
    text = (
        f"I can no longer post to <#{channel}> (Slack says `{escape(reason)}`), so I paused "
        f"watching {names} there. Invite me back and type `{command} watch` again to resume."
    )
    return kit.message(f"Paused alerts for {', '.join(envs)}", [kit.section(text)])

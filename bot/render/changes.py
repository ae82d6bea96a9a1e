"""The one renderer of a change set: its entries, summary line and buttons, for `diff`,
alerts, incident replies, the timeline file and the shell alike."""

from __future__ import annotations

from collections.abc import Mapping

from bot.domain.changes import QUIET, Change, ChangeSet, Kind, service_of, short_name
from bot.domain.commits_window import CommitsWindow, window_ends
from bot.domain.results import CommitsResult
from bot.domain.timeago import duration_words
from bot.kosli.models import SnapshotArtifact
from bot.render import blockkit
from bot.render.blockkit import Block, Message
from bot.render.commits import window_mrkdwn, window_section
from bot.render.mrkdwn import code, date, escape, link, short

MAX_TITLE = 80

LABELS = {
    Kind.ROGUE: ":rotating_light: Rogue: running with no provenance",
    Kind.NON_COMPLIANT: ":x: Non-compliant",
    Kind.ROLLED_BACK: ":rewind: Rolled back",
    Kind.REPLACED: ":arrows_counterclockwise: Replaced",
    Kind.STARTED: ":large_green_circle: Started",
    Kind.STOPPED: ":red_circle: Stopped",
    Kind.PROVENANCE: ":link: Provenance arrived",
    Kind.COMPLIANT: ":white_check_mark: Compliant again",
    Kind.RESTARTED: ":repeat: Restarted, not a deploy",
    Kind.SCALED: ":left_right_arrow: Instance count",
}


def _label(kind: Kind, changes: ChangeSet) -> str:
    """Across environments (or backwards) there is no 'started': only 'only in'."""
    if not changes.timeline:
        if kind == Kind.REPLACED:
            return ":arrows_counterclockwise: Different version"
        if kind == Kind.STARTED:
            return f":large_green_circle: Only in {escape(changes.after)}"
        if kind == Kind.STOPPED:
            return f":red_circle: Only in {escape(changes.before)}"
    return LABELS[kind]


def _word(kind: Kind, changes: ChangeSet, count: int) -> str:
    if not changes.timeline:
        words = {
            Kind.REPLACED: "different version" + ("s" if count > 1 else ""),
            Kind.STARTED: f"only in {changes.after}",
            Kind.STOPPED: f"only in {changes.before}",
        }
        return words.get(kind, kind.value)
    return kind.value


def summary(changes: ChangeSet) -> str:
    """'1 non-compliant, 1 replaced, now non-compliant': every kind counted, trouble first."""
    counts = [(kind, len(changes.of(kind))) for kind in Kind]
    words = [f"{n} {_word(kind, changes, n)}" for kind, n in counts if n]
    if changes.compliance:
        words.append("now compliant" if changes.compliance[1] else "now non-compliant")
    return ", ".join(words) or "no change in what runs"


def _commit_details(artifact: SnapshotArtifact) -> str:
    """' _Merge pull request #204…_ · Jon Jagger': what the commit was and who wrote it."""
    info = artifact.commit
    words = ""
    if info and info.title:
        words += f" _{escape(blockkit.clip(info.title, MAX_TITLE))}_"
    if info and info.author_name:
        words += f" · {escape(info.author_name)}"
    return words


def commit_words(artifact: SnapshotArtifact) -> str:
    """'commit 95ab455 _Merge pull request #204…_ · Jon Jagger', the sha linked."""
    link_ = blockkit.commit_link(artifact.commit_url, artifact.git_commit)
    return f"commit {link_}{_commit_details(artifact)}"


def _promotions(artifact: SnapshotArtifact) -> str:
    promoted = [escape(f"{f.name} / {f.trail}" if f.trail else f.name) for f in artifact.promotions]
    return f"\nPromoted in {', '.join(promoted)}" if promoted else ""


def _build(url: str) -> str:
    return f" · {link(url, 'build')}" if url else ""


def _lead_time(artifact: SnapshotArtifact) -> str:
    if artifact.lead_time is None:
        return ""
    return f" · {duration_words(artifact.lead_time)} after its commit"


def artifact_lines(artifact: SnapshotArtifact, build: str = "") -> str:
    """Name, flow, commit with its title and author, promotions, fingerprint and start."""
    flow = f"flow {escape(artifact.flow)}" if artifact.flow else "_no flow: no provenance_"
    return (
        f"{code(short_name(artifact.name))} · {flow} · {commit_words(artifact)}"
        f"{_build(build)}{_promotions(artifact)}"
        f"\nFingerprint {code(short(artifact.fingerprint))} · started {date(artifact.started_at)}"
        f"{_lead_time(artifact)}"
    )


def artifact_line(artifact: SnapshotArtifact) -> str:
    """One short line, for lists (a baseline) and for trouble entries."""
    icon = ":x: " if artifact.compliant is False else ""
    flow = "" if artifact.flow else " · _no provenance_"
    return f"{icon}{code(short_name(artifact.name))} · {commit_words(artifact)}{flow}"


def _short_sha(artifact: SnapshotArtifact) -> str:
    return artifact.git_commit[:7] or short_name(artifact.name)


def _takeover_lines(change: Change, changes: ChangeSet, build: str) -> str:
    old, new = change.previous, change.artifact
    assert old is not None, "a takeover always has the version it took over from"
    compare = f" · {link(change.compare_url, 'compare')}" if change.compare_url else ""
    lines = []
    if change.kind == Kind.ROLLED_BACK:
        service = escape(service_of(short_name(new.name), ""))
        lines.append(
            f"*{service}* rolled back {escape(_short_sha(old))} → {escape(_short_sha(new))}"
        )
    lines += [
        f"{code(short_name(old.name))} → {code(short_name(new.name))}",
        f"Commit {blockkit.commit_link(old.commit_url, old.git_commit)} → "
        f"{blockkit.commit_link(new.commit_url, new.git_commit)}{_commit_details(new)}{compare}",
    ]
    if change.kind == Kind.ROLLED_BACK:
        lines.append(_why_rollback(old, new))
    if change.rollout_finished:
        lines.append(
            f"{escape(_short_sha(old))} stopped; {escape(_short_sha(new))}, already running at "
            f"#{changes.before_index}, now runs alone: rollout finished."
        )
    lines.append(f"Started {date(new.started_at)}{_build(build)}{_promotions(new)}")
    return "\n".join(lines)


def _why_rollback(old: SnapshotArtifact, new: SnapshotArtifact) -> str:
    new_at = new.commit.timestamp if new.commit else None
    old_at = old.commit.timestamp if old.commit else None
    return (
        f"{escape(_short_sha(new))} was committed {date(new_at)}, before "
        f"{escape(_short_sha(old))} ({date(old_at)})."
    )


def _reasons(change: Change, command: str, env: str) -> str:
    if change.reasons:
        return "\n".join(f"• {escape(r)}" for r in change.reasons)
    where = link(change.artifact.html_url, "open it in Kosli") if change.artifact.html_url else ""
    ask = f"`{command} why {escape(env)} {escape(short_name(change.artifact.name))}`"
    return f"Kosli gives no reason here: try {ask}" + (f" or {where}" if where else "") + "."


def rogue_lines(artifact: SnapshotArtifact) -> str:
    return (
        f"{code(short_name(artifact.name))} · fingerprint {code(short(artifact.fingerprint))}"
        f" · started {date(artifact.started_at)}\n"
        "Kosli cannot tie it to any flow: no build, no commit, no evidence."
    )


def entry(change: Change, changes: ChangeSet, command: str, build: str = "") -> str:
    """One change as a section: bold label, then its lines."""
    a = change.artifact
    match change.kind:
        case Kind.ROGUE:
            body = rogue_lines(a)
            if change.reasons:
                body += "\n" + _reasons(change, command, changes.env)
        case Kind.NON_COMPLIANT:
            body = f"{artifact_line(a)}\n*Why:*\n{_reasons(change, command, changes.env)}"
        case Kind.REPLACED | Kind.ROLLED_BACK:
            body = _takeover_lines(change, changes, build)
        case Kind.PROVENANCE:
            body = provenance_line(change)
        case Kind.COMPLIANT:
            body = compliant_line(change, changes.env)
        case Kind.SCALED:
            body = f"{code(short_name(a.name))} {change.instances_before} → {a.instances} instances"
        case _:
            body = artifact_lines(a, build)
    return f"*{_label(change.kind, changes)}*\n{body}"


def restart_line(change: Change) -> str:
    """'`runner:85cac88` · 3 instances replaced, same build'."""
    n = change.artifact.instances
    return (
        f"`{escape(short_name(change.artifact.name))}` · {n} instance{'s' if n != 1 else ''} "
        "replaced, same build"
    )


def provenance_line(change: Change) -> str:
    """The build a rogue artifact turned out to be, and whether it passes now."""
    a = change.artifact
    since = f" (running since {date(a.started_at)})" if a.started_at else ""
    line = (
        f"`{escape(short_name(a.name))}`{since} now has provenance: flow {escape(a.flow)} · "
        f"{commit_words(a)}"
    )
    if a.compliant is False:
        why = "\n".join(f"• {escape(r)}" for r in change.reasons) or "Kosli gives no reason."
        return f"{line}\n:x: Still non-compliant:\n{why}"
    return line + (" · :white_check_mark: compliant" if a.compliant else "")


def compliant_line(change: Change, env: str) -> str:
    """Why the same build passes now: allow-listed (no provenance) or late evidence."""
    a = change.artifact
    name = f"`{escape(short_name(a.name))}`"
    if change.allow_list_told:
        return f"{name} · same build: allow-listed in {escape(env)} (Kosli Actions said so)"
    if change.allow_listed:
        return (
            f"{name} · same build, still no provenance: allowed to run in {escape(env)} "
            "(allow-listed, or its policy no longer asks for provenance)"
        )
    return f"{name} · same build, {commit_words(a)}: the evidence it lacked arrived"


def _focus(changes: ChangeSet) -> SnapshotArtifact | None:
    """The artifact a reader most likely wants next: trouble first, then what is new."""
    shown = (c for c in changes.changes if c.kind not in QUIET)
    return next((c.artifact for c in shown), None)


def buttons(changes: ChangeSet, mute: bool, commits: bool = True) -> list[Block]:
    """Walk one change further back (the seed story), list the commits behind a replaced
    build, open the main artifact, mute."""
    choices = []
    if changes.timeline and changes.before_index > 1:
        choices.append(("previous_change", "Previous change", changes.before))
    if commits and any(window_ends(c) for c in changes.changes):
        choices.append(("show_commits", "Commits", f"{changes.before} {changes.after}"))
    focus = _focus(changes)
    if focus is not None:
        choices.append(("artifact_details", "Artifact details", blockkit.artifact_target(focus)))
    if mute:
        choices.append(("mute_hour", "Mute 1h", changes.env))
    return [blockkit.buttons(*choices)] if choices else []


def _compliance(changes: ChangeSet) -> list[Block]:
    if not changes.compliance:
        return []
    state = (
        ":white_check_mark: *is compliant again*"
        if changes.compliance[1]
        else ":x: *is now non-compliant*"
    )
    return [blockkit.section(f"*{escape(changes.env)}* {state}")]


def _entries(
    changes: ChangeSet,
    command: str,
    builds: Mapping[str, str] | None,
    windows: Mapping[tuple[str, str], CommitsWindow] | None = None,
) -> list[Block]:
    builds, windows = builds or {}, windows or {}
    blocks: list[Block] = []
    restarts = changes.of(Kind.RESTARTED)
    for c in changes.changes:
        if c.kind == Kind.RESTARTED:
            continue  # together, in one section at the end
        blocks.append(
            blockkit.section(entry(c, changes, command, builds.get(c.artifact.fingerprint, "")))
        )
        ends = window_ends(c)
        if ends is not None and (window := windows.get((ends.old, ends.new))) is not None:
            blocks.append(blockkit.section(window_mrkdwn(window)))
    if restarts:
        lines = "\n".join(restart_line(c) for c in restarts)
        blocks.append(blockkit.section(f"*{LABELS[Kind.RESTARTED]}*\n{lines}"))
    return blocks


def render_alert(
    changes: ChangeSet,
    command: str,
    builds: Mapping[str, str] | None = None,
    windows: Mapping[tuple[str, str], CommitsWindow] | None = None,
) -> Message:
    """One snapshot's changes as the watcher posts them (and an incident thread's reply);
    `builds` (fingerprint -> build URL) adds build links, `windows` the commits between the
    old and new builds (without them, a Commits button asks for them)."""
    title = f"{changes.after}: {summary(changes)}"
    blocks: list[Block] = [
        blockkit.header(title),
        blockkit.context(
            f"{date(changes.at)} · snapshot #{changes.before_index} → #{changes.after_index}"
        ),
        *_compliance(changes),
        *_entries(changes, command, builds, windows),
    ]
    diff = f"{changes.before} {changes.after}"
    blocks.append(blockkit.context(f"Details: `{command} diff {escape(diff)}`"))
    footer = buttons(changes, mute=True, commits=windows is None)
    return blockkit.message(title, blocks, footer=footer)


def render_follow_up(changes: ChangeSet, command: str) -> Message:
    """A snapshot's follow-ups (provenance arrived, compliant again) as a reply under the
    alert they resolve: a line each, and where to see the whole snapshot."""
    title = f"{changes.after}: {summary(changes)}"
    blocks: list[Block] = [blockkit.section(entry(c, changes, command)) for c in changes.follow_ups]
    blocks += _compliance(changes)
    diff = f"{changes.before} {changes.after}"
    blocks.append(
        blockkit.context(
            f"{date(changes.at)} · {escape(changes.after)} · `{command} diff {escape(diff)}`"
        )
    )
    return blockkit.message(title, blocks)


def render_diff(changes: ChangeSet, command: str) -> Message:
    """`diff A B`: the same entries as the alert for the same two snapshots."""
    title = f"{changes.before} → {changes.after}"
    if changes.is_empty:
        text = f"No difference between {code(changes.before)} and {code(changes.after)}."
        return blockkit.message(
            f"{title}: no difference", [blockkit.header(title), blockkit.section(text)]
        )
    counts = summary(changes)
    when = f"{date(changes.at)} · " if changes.at and changes.timeline else ""
    blocks: list[Block] = [
        blockkit.header(title),
        blockkit.context(f"{when}{escape(counts)}"),
        *_compliance(changes),
        *_entries(changes, command, None),
    ]
    # Kosli's CLI lists every change, however many.
    cli = code(f"kosli diff snapshots {changes.before} {changes.after}")
    see_all = f"Kosli's CLI lists them all: {cli}"
    footer = buttons(changes, mute=False)
    return blockkit.message(f"{title}: {counts}", blocks, footer=footer, see_all=see_all)


def render_commits(result: CommitsResult, command: str) -> Message:
    """`commits A B` (the Commits button): each replaced build with its commits window."""
    changes = result.changes
    title = f"Commits: {changes.before} → {changes.after}"
    blocks: list[Block] = [blockkit.header(title)]
    for change in changes.changes:
        ends = window_ends(change)
        if ends is None or change.previous is None:
            continue
        old, new = short_name(change.previous.name), short_name(change.artifact.name)
        heading = f"{code(old)} → {code(new)}"
        blocks.append(window_section(heading, result.windows.get((ends.old, ends.new))))
    if len(blocks) == 1:
        nothing = (
            "No build was replaced here, so there are no commits between builds. "
            f"See `{command} diff {escape(changes.before)} {escape(changes.after)}`."
        )
        blocks.append(blockkit.section(nothing))
    return blockkit.message(title, blocks)


def render_reevaluated(changes: ChangeSet, command: str) -> Message:
    """A snapshot already alerted on, that Kosli now answers with another compliance (from
    `reevaluated`): said once, with what fails in it now."""
    now = "now compliant" if changes.compliance and changes.compliance[1] else "now non-compliant"
    was = "compliant" if changes.compliance and changes.compliance[0] else "non-compliant"
    title = f"{changes.after}: {now}"
    blocks: list[Block] = [
        blockkit.header(title),
        blockkit.context(
            f"{date(changes.at)} · snapshot #{changes.after_index} was {was} when the bot read it;"
            " Kosli has evaluated it again"
        ),
        *_compliance(changes),
        *_entries(changes, command, None),
        blockkit.context(f"Details: `{command} why {escape(changes.env)}`"),
    ]
    return blockkit.message(title, blocks, footer=buttons(changes, mute=True, commits=False))

"""Links pasted in Slack, described in one compact attachment each: what the link is, where it
runs now, and its compliance. Every value from Kosli or a git host is escaped."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.attachments import BlockAttachment
from slack_sdk.models.blocks import Block

from bot.domain.changes import short_name
from bot.domain.links import KosliArtifact, KosliTrail
from bot.domain.results import BuildLinked, Linked, SnapshotLinked, WhereResult
from bot.render import blockkit
from bot.render.blockkit import Message, compliance
from bot.render.mrkdwn import code, date, escape

MAX_PLACES = 6  # environments named in one line; the rest are counted
MAX_NAMES = 5  # running artifacts a snapshot's line names


def render_unfurl(linked: Linked) -> dict[str, Any]:
    """The attachment chat.unfurl shows under the link, coloured by compliance."""
    text, blocks = _described(linked)
    state = _state(linked)
    color = None if state is None else ("good" if state else "danger")
    fallback = blockkit.message(text, []).text
    return BlockAttachment(blocks=blocks, color=color, fallback=fallback).to_dict()


def render_linked(linked: Linked) -> Message:
    """The same description as a message (the shortcut answers a snapshot link with it)."""
    return blockkit.message(*_described(linked))


def _described(linked: Linked) -> tuple[str, list[Block]]:
    if isinstance(linked, SnapshotLinked):
        return _snapshot(linked)
    return _build(linked)


def _state(linked: Linked) -> bool | None:
    if isinstance(linked, SnapshotLinked):
        return linked.snapshot.compliant
    if linked.trail is not None:
        return linked.trail.compliant
    states = {state for _, state in _places(linked.where)} if linked.where else set()
    return states.pop() if len(states) == 1 else None


def _snapshot(linked: SnapshotLinked) -> tuple[str, list[Block]]:
    snapshot = linked.snapshot
    name = f"{snapshot.env}#{snapshot.index}"
    running = snapshot.running
    if linked.latest is None or linked.latest == snapshot.index:
        latest = "the latest"
    else:
        latest = f"the latest is {code(f'#{linked.latest}')}"
    title = f"*Snapshot* {code(name)} · {compliance(snapshot.compliant)}"
    line = (
        f"{_count(len(running), 'artifact')} running · taken {date(snapshot.timestamp)} · {latest}"
    )
    names = [code(short_name(a.name)) for a in running[:MAX_NAMES]]
    more = f" and {len(running) - MAX_NAMES} more" if len(running) > MAX_NAMES else ""
    blocks: list[Block] = [blockkit.section(f"{title}\n{line}")]
    if names:
        blocks.append(blockkit.context(", ".join(names) + more))
    return f"Snapshot {name}: {_word(snapshot.compliant)}, {len(running)} running", blocks


def _build(linked: BuildLinked) -> tuple[str, list[Block]]:
    link, where = linked.link, linked.where
    if isinstance(link, KosliArtifact):
        name = _artifact_name(link.fingerprint, where) or link.fingerprint[:12]
        title = f"*Artifact* {code(name)} · flow {code(link.flow)}"
        text = f"Artifact {name}"
    elif isinstance(link, KosliTrail):
        title = f"*Trail* {code(link.trail)} · flow {code(link.flow)}"
        if linked.trail is not None:
            title += f" · {compliance(linked.trail.compliant)}"
            if commit := linked.trail.commit:
                by = f" · {escape(commit.author_name)}" if commit.author_name else ""
                title += f"\nCommit {code(commit.sha[:7])} {escape(commit.title)}{by}"
        text = f"Trail {link.trail}"
    else:
        title = f"*Commit* {code(link.sha[:7])} of {code(link.repository)}"
        if where is not None and where.commit is not None:
            title += f" · {escape(where.commit.title)}"
        text = f"Commit {link.sha[:7]} of {link.repository}"
    runs = _runs(where) if where is not None else "Kosli knows no commit for it."
    return f"{text}: {_plain_runs(where)}", [blockkit.section(f"{title}\n{runs}")]


def _artifact_name(fingerprint: str, where: WhereResult | None) -> str:
    if where is None:
        return ""
    for artifact in where.artifacts:
        if artifact.fingerprint.startswith(fingerprint):
            return short_name(artifact.name)
    for place in where.placements:
        return short_name(place.artifact.name)
    return ""


def _places(where: WhereResult) -> list[tuple[str, bool | None]]:
    """Each place it runs now (env#N) with the compliance of the build running there: a
    build of it, or (a commit no build was made of) a running build that contains it."""
    places: list[tuple[str, bool | None]] = []
    for artifact in where.artifacts:
        state = {"COMPLIANT": True, "NON-COMPLIANT": False}.get(artifact.state.upper())
        places += [(env, state) for env in artifact.running_in]
    for place in where.placements:
        places.append((f"{place.env}#{place.snapshot}", place.artifact.compliant))
    for found in where.containing:
        if found.contains:
            place = found.place
            places.append((f"{place.env}#{place.snapshot}", place.artifact.compliant))
    return list(dict.fromkeys(places))


def _runs(where: WhereResult) -> str:
    places = _places(where)
    if not places:
        return "Not running anywhere now."
    shown = ", ".join(f"*{escape(env)}* {compliance(state)}" for env, state in places[:MAX_PLACES])
    more = f" and {len(places) - MAX_PLACES} more" if len(places) > MAX_PLACES else ""
    runs = "Runs" if not where.containing else "Contained in what runs"
    return f"{runs} in {shown}{more}"


def _plain_runs(where: WhereResult | None) -> str:
    places = _places(where) if where is not None else []
    if not places:
        return "not running anywhere now"
    return "runs in " + ", ".join(env for env, _ in places[:MAX_PLACES])


def _word(state: bool | None) -> str:
    if state is None:
        return "compliance unknown"
    return "compliant" if state else "non-compliant"


def _count(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")

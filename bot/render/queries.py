"""Block Kit for the read-only commands' answers (help, envs, log, artifact, where, why),
kept inside Slack's limits. `diff` is drawn by render/changes.py."""

from __future__ import annotations

from bot.domain.changes import short_name
from bot.domain.compliance import trail_label
from bot.domain.events import what_happened
from bot.domain.logical import included_words
from bot.domain.results import (
    ArtifactResult,
    Containing,
    EnvsResult,
    HelpResult,
    LogResult,
    VersionResult,
    WhereResult,
    WhyResult,
)
from bot.domain.timeago import duration_words
from bot.kosli.attestations import Assertion
from bot.kosli.models import Artifact, Environment
from bot.kosli.snappish import ACCEPTED_FORMS
from bot.render import blockkit
from bot.render.blockkit import Block, Message, clip
from bot.render.changes import artifact_line, commit_words
from bot.render.mrkdwn import code, date, escape, link


def render_error(text: str) -> Message:
    """Error wording quotes what the user typed, so all of it is escaped."""
    return blockkit.message(text, [blockkit.section(f":warning: {escape(text)}")])


# ---- one renderer per result ---------------------------------------------------------------


def render_help(result: HelpResult, command: str) -> Message:
    lines = [
        f"{code(f'{command} {e.name}' + (' ' + e.arguments if e.arguments else ''))}  "
        f"{escape(e.summary)}\n    _e.g._ {code(f'{command} {e.example}')}"
        for e in result.entries
    ]
    blocks: list[Block] = [blockkit.header("Kosli bot: what I can do"), *blockkit.lines(lines)]
    blocks.append(blockkit.context(f"Snapshots: {ACCEPTED_FORMS}"))
    names = ", ".join(e.name for e in result.entries)
    return blockkit.message(f"{command} commands: {names}", blocks)


def render_version(result: VersionResult, command: str) -> Message:
    text = (
        f"kosli-incident-bot {escape(result.version)} · Kosli {escape(result.kosli_host)}, "
        f"org {code(result.org)} · database {escape(result.database)}"
    )
    return blockkit.message(text, [blockkit.section(text)])


def render_envs(result: EnvsResult, command: str) -> Message:
    if not result.envs:
        text = f"No environments in org {code(result.org)} yet."
        return blockkit.message(text, [blockkit.section(text)])
    lines = [_env_line(env) for env in result.envs]
    blocks: list[Block] = [blockkit.header(f"Environments in {result.org}"), *blockkit.lines(lines)]
    return blockkit.message(f"{len(result.envs)} environments in {result.org}", blocks)


def _env_line(env: Environment) -> str:
    if env.logical:  # it never reports: what it groups says more
        included = included_words(env)
        reported = f"includes {escape(included)}"
    elif env.last_reported_at:
        reported = f"last report {date(env.last_reported_at)}"
    else:
        reported = "never reported"
    kind = f" · {escape(env.type)}" if env.type else ""
    return f"*{escape(env.name)}*{kind} · {reported} · {blockkit.compliance(env.compliant)}"


def render_log(result: LogResult, command: str) -> Message:
    env = escape(result.env)
    if not result.rows:
        text = f"No snapshots on page {result.page} of `{env}`."
        return blockkit.message(text, [blockkit.section(text)])
    lines = []
    for row in result.rows:
        until = date(row.ended_at) if row.ended_at else "now"
        flag = "" if row.compliant is None else (" :x:" if not row.compliant else "")
        took = duration_words(row.duration)
        line = f"*#{row.index}*  {date(row.started_at)} → {until}  ·  {took}{flag}"
        happened = what_happened(result.events.get(row.index, ())) if result.events else ""
        lines.append(f"{line}\n└ {escape(happened)}" if happened else line)
    blocks: list[Block] = [blockkit.header(f"{result.env} snapshots"), *blockkit.lines(lines)]
    footer = f"Newest first, page {result.page}."
    if len(result.rows) == result.page_size:
        footer += f" Older: `{command} log {env} {result.page + 1}`"
    footer += f" · Compare two: `{command} diff {env}#{result.rows[0].index}`"
    blocks.append(blockkit.context(footer))
    newest = result.rows[0]
    return blockkit.message(
        f"{result.env}: {len(result.rows)} snapshots, newest #{newest.index}", blocks
    )


STATUS_ICONS = {True: ":white_check_mark:", False: ":x:", None: ":grey_question:"}


def attestation_lines(assertion: Assertion) -> list[str]:
    """'❌ trivy-container-scan (generic) MISSING · payments-ci/9c41e2a': one per attestation,
    failing ones first."""
    ordered = sorted(assertion.attestations, key=lambda a: a.compliant is not False)
    lines = []
    for a in ordered:
        where = f" · {escape(trail_label(a.flow, a.trail))}" if a.flow else ""
        extra = " _(not required)_" if a.unexpected else ""
        lines.append(
            f"{STATUS_ICONS[a.compliant]} {escape(a.name)} ({escape(a.type)}) "
            f"{escape(a.status.lower())}{where}{extra}"
        )
    return lines


def _artifact_section(artifact: Artifact, assertion: Assertion | None) -> list[Block]:
    state = artifact.state or "UNKNOWN"
    icon = ":white_check_mark:" if state == "COMPLIANT" else ":x:"
    fields = [
        f"*Flow*\n{escape(artifact.flow) or '_none: no provenance_'}",
        f"*State*\n{icon} {escape(state)}",
        f"*Commit*\n{blockkit.commit_link(artifact.commit_url, artifact.git_commit)}",
        f"*Build*\n{link(artifact.build_url, 'build log') if artifact.build_url else 'unknown'}",
        f"*Running in*\n{escape(', '.join(artifact.running_in)) or 'not running'}",
    ]
    if artifact.exited_from:
        fields.append(f"*Exited from*\n{escape(', '.join(artifact.exited_from))}")
    if artifact.created_at:
        fields.append(f"*Created*\n{date(artifact.created_at)}")
    kosli_page = f" · {link(artifact.html_url, 'open in Kosli')}" if artifact.html_url else ""
    blocks: list[Block] = [
        blockkit.section(
            f"*{escape(short_name(artifact.name))}*\nImage {code(artifact.name)}\n"
            f"Fingerprint {code(artifact.fingerprint)}{kosli_page}",
            fields,
        )
    ]
    if assertion is not None and assertion.attestations:
        blocks += blockkit.lines(["*Attestations*", *attestation_lines(assertion)])
    history = [f"{date(h.timestamp)}  {escape(h.event)}" for h in artifact.history]
    if history:
        blocks += blockkit.lines(["*History*", *history])
    return blocks


def render_artifacts(result: ArtifactResult, command: str) -> Message:
    if not result.artifacts:
        text = f"Kosli knows no artifact matching {code(result.query)}."
        return blockkit.message(text, [blockkit.section(text)])
    blocks: list[Block] = []
    for artifact in result.artifacts:
        if blocks:
            blocks.append(blockkit.divider())
        blocks += _artifact_section(artifact, result.assertions.get(artifact.fingerprint))
    first = result.artifacts[0]
    more = f" (+{len(result.artifacts) - 1} more)" if len(result.artifacts) > 1 else ""
    return blockkit.message(f"{short_name(first.name)}: {first.state}{more}", blocks)


def _commits(count: int) -> str:
    return f"{count} commit{'s' if count != 1 else ''}"


def _containing_line(found: Containing) -> str:
    place, a = found.place, found.place.artifact
    where = f"*{escape(place.env)}#{place.snapshot}*"
    build = f"{code(short_name(a.name))}"
    if found.contains:
        later = f", {_commits(found.ahead_by)} later" if found.ahead_by else ""
        return f":white_check_mark: {where} · {build} has it{later} · since {date(a.started_at)}"
    if found.status == "behind":
        return f":hourglass: {where} · not yet: runs {build}, {_commits(found.behind_by)} behind"
    return f":twisted_rightwards_arrows: {where} · not in it: runs {build}, on another branch"


def _render_containing(result: WhereResult) -> Message:
    commit = result.commit
    assert commit is not None
    by = f" · {escape(commit.author)}" if commit.author else ""
    about = (
        f"{link(commit.url, commit.short)} {escape(clip(commit.title, 90))}{by} "
        f"({escape(result.repository)}): no build was made of this commit itself; "
        "these running builds of its repository were compared with it."
    )
    lines = [_containing_line(found) for found in result.containing]
    if not lines:
        lines = ["Nothing running was built from this repository."]
    title = f"Where {commit.short} runs"
    held = sum(found.contains for found in result.containing)
    blocks: list[Block] = [blockkit.header(title), blockkit.section(about), *blockkit.lines(lines)]
    blocks += _notes(result)
    return blockkit.message(
        f"{title}: in {held} of {len(result.containing)} running builds", blocks
    )


def render_where(result: WhereResult, command: str) -> Message:
    if result.commit is not None:
        return _render_containing(result)
    query = escape(result.query)
    lines: list[str] = []
    for artifact in result.artifacts:
        where = (
            ", ".join(f"*{escape(env)}*" for env in artifact.running_in) or "not running anywhere"
        )
        exited = (
            f"\n    no longer in {escape(', '.join(artifact.exited_from))}"
            if artifact.exited_from
            else ""
        )
        lines.append(
            f"{code(short_name(artifact.name))} · commit "
            f"{blockkit.commit_link(artifact.commit_url, artifact.git_commit)}: {where}{exited}"
        )
    for place in result.placements:
        a = place.artifact
        lines.append(
            f"*{escape(place.env)}#{place.snapshot}* · {code(short_name(a.name))} · "
            f"{commit_words(a)} · since {date(a.started_at)}"
        )
    empty = [blockkit.context(_no_snapshot(result.no_snapshot))] if result.no_snapshot else []
    if not lines:
        text = f"Nothing running matches `{query}`."
        return blockkit.message(text, [blockkit.section(text), *empty, *_notes(result)])
    shown = len(lines)
    # Beside the builds of the commit, the other running builds of its repository.
    lines += [_containing_line(c) for c in result.containing]
    blocks: list[Block] = [blockkit.header(f"Where {result.query} runs"), *blockkit.lines(lines)]
    blocks += [*empty, *_notes(result)]
    return blockkit.message(f"Where {result.query} runs: {shown} found", blocks)


def _notes(result: WhereResult) -> list[Block]:
    """What could not be reached, one line under what was found."""
    if not result.notes:
        return []
    return [blockkit.context(f":warning: {escape(' '.join(result.notes))}")]


NO_SNAPSHOT_NAMED = 10  # environments named in the one line; the rest are counted


def _no_snapshot(envs: tuple[str, ...]) -> str:
    """'No snapshot yet in `aws-dev`, `aws-test`': read, but nothing to read in them."""
    named = ", ".join(f"{code(env)}" for env in envs[:NO_SNAPSHOT_NAMED])
    more = len(envs) - NO_SNAPSHOT_NAMED
    return f"No snapshot yet in {named}" + (f" and {more} more" if more > 0 else "")


def render_why(result: WhyResult, command: str) -> Message:
    where = f"{result.env}#{result.index}"
    policies = ", ".join(
        escape(f"{p.name} v{p.version}" if p.version is not None else p.name)
        for p in result.policies
    )
    applied = f" Policies: {policies}." if policies else ""
    if result.name and not result.matched:
        text = f"Nothing running in {code(where)} matches {code(result.name)}."
        return blockkit.message(text, [blockkit.section(text)])
    if not result.failing:
        subject = f"{code(result.name)}" if result.name else "every running artifact"
        text = f"In {code(where)}, {subject} is compliant.{applied}"
        return blockkit.message(f"{where}: compliant", [blockkit.section(text)])
    title = (
        f"Why {where} is non-compliant"
        if result.compliant is False
        else f"What fails its policies in {where}"
    )
    blocks: list[Block] = [blockkit.header(title)]
    if applied:
        blocks.append(blockkit.context(applied.strip()))
    for failing in result.failing:
        artifact = failing.artifact
        lines = [artifact_line(artifact)]
        if not artifact.flow:
            lines.append("Kosli cannot tie it to any flow: no build, no commit, no evidence.")
        lines += [f"• {escape(r)}" for r in failing.reasons]
        if not failing.reasons and failing.assertion is None:
            lines.append("Kosli gives no reason for it.")
        if failing.assertion is not None and failing.assertion.attestations:
            lines += ["*Attestations*", *attestation_lines(failing.assertion)]
        lines.append(f"Details: `{command} artifact {escape(blockkit.artifact_target(artifact))}`")
        blocks += blockkit.lines(lines)
    count = len(result.failing)
    return blockkit.message(f"{title}: {count} artifact{'s' if count != 1 else ''} failing", blocks)

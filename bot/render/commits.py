"""A commits window as people read it: the commits between two builds, newest first."""

from __future__ import annotations

from bot.domain.commits_window import CommitsWindow
from bot.githost.models import Comparison, GitCommit
from bot.render import blockkit
from bot.render.blockkit import Block, Message, clip
from bot.render.mrkdwn import code, escape, link

SHOWN = 10  # commits listed; the rest are counted, with the compare link
TITLE = 90


def _plural(count: int) -> str:
    return f"{count} commit{'s' if count != 1 else ''}"


def _head(window: CommitsWindow, comparison: Comparison) -> str:
    old, new = code(window.old[:7]), code(window.new[:7])
    if window.rolled_back:
        return f"{new} is {_plural(comparison.total)} behind {old}; not in {new}:"
    if comparison.status == "diverged":
        return (
            f"{new} is on another branch than {old} ({comparison.ahead_by} ahead, "
            f"{comparison.behind_by} behind); its own commits:"
        )
    if comparison.status == "identical":
        return f"{old} and {new} are the same commit."
    return f"*{_plural(comparison.total)}* from {old} to {new}:"


def _commit_line(commit: GitCommit) -> str:
    merge = " _(merge)_" if commit.merge else ""
    title = escape(clip(commit.title, TITLE)) or "_(no message)_"
    by = f" · {escape(clip(commit.author, 40))}" if commit.author else ""
    return f"• {link(commit.url, commit.short)} {title}{by}{merge}"


def window_mrkdwn(window: CommitsWindow) -> str:
    """The window as a section's text: a heading line, then at most SHOWN commits."""
    comparison = window.comparison
    if comparison is None:
        where = f" {link(window.compare_url, 'compare')}" if window.compare_url else ""
        return (
            f"Commits from {code(window.old[:7])} to {code(window.new[:7])} could not be read: "
            f"{escape(window.failure)}.{where}"
        )
    lines = [_head(window, comparison), *map(_commit_line, comparison.commits[:SHOWN])]
    rest = comparison.total - min(len(comparison.commits), SHOWN)
    if rest > 0:
        lines.append(f"…and {rest} more: {link(comparison.url, 'compare')}")
    return "\n".join(lines)


def render_followup(
    env: str, index: int, labelled: list[tuple[str, CommitsWindow | None]]
) -> Message:
    """The reply under an alert: the commits behind each build it says was replaced."""
    title = f"Commits behind {env}#{index}"
    blocks: list[Block] = [blockkit.context(f"*{escape(title)}*")]
    blocks += [window_section(f"{code(label)}", window) for label, window in labelled]
    return blockkit.message(title, blocks)


def window_section(heading: str, window: CommitsWindow | None) -> Block:
    """A replaced build (`heading`, mrkdwn) over the commits between its old and new build;
    a window of None: the commit is on no git host the bot reads."""
    text = window_mrkdwn(window) if window else "This commit is on no git host the bot reads."
    return blockkit.section(f"{heading}\n{text}")

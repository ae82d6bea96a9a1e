"""Small, safe builders for Slack's mrkdwn: escaping, links, dates."""

from __future__ import annotations

from datetime import UTC, datetime


def escape(text: str) -> str:
    """Escape the three characters Slack reads as markup in text from users or Kosli."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link(url: str, label: str) -> str:
    """A link when `url` is a plain http(s) URL, else just the label (never inject markup)."""
    if url.startswith(("https://", "http://")) and not any(c in url for c in "<>| \n"):
        return f"<{url}|{escape(label)}>"
    return escape(label)


def date_fallback(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S UTC")


def date(moment: datetime | None) -> str:
    """A Slack date token: each reader sees their own timezone; the fallback is UTC."""
    if moment is None:
        return "unknown"
    return (
        f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{date_fallback(moment)}>"
    )


def short(fingerprint: str, length: int = 12) -> str:
    return fingerprint[:length]


def code(text: str) -> str:
    """`text` as a code span: escaped like any text, and a backtick in it (from Kosli or a git
    host) cannot close the span early, so nothing after it is read as markup."""
    return f"`{escape(text).replace('`', 'ˋ')}`"

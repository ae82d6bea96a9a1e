"""What a message points at: Kosli app links (snapshots, artifacts, trails), github.com and
gitlab.com commit links, bare commit shas and fingerprints. Pure: text in, values out.

Slack wraps links in a message's text as `<url>` or `<url|label>`; a URL ends at the first
space, `<`, `>` or `|`, so one scan finds links wrapped or not. Every scan is a single pass
over at most MAX_TEXT characters (no pattern backtracks over the text), at most MAX_URLS
URLs are parsed and at most MAX_FOUND things returned: a pasted log of 40 kB costs little
more than a short message."""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

MAX_TEXT = 40_000  # Slack's longest message text
MAX_FOUND = 10  # what one message can ask about; the rest is left unread
MAX_URL = 2_000
MAX_URLS = 100  # URLs parsed per message; a pasted list of thousands costs no more

_URL = re.compile(r"https?://[^\s<>|\"'`]+", re.IGNORECASE)
_WORD = re.compile(r"[0-9A-Za-z]+")
_SLACK_TOKEN = re.compile(r"<[^<>\n]{0,2100}>")  # mentions, channels, links: not prose
_SHA = re.compile(r"[0-9a-f]{7,40}")
_FINGERPRINT = re.compile(r"[0-9a-f]{64}")
_HEX_PREFIX = re.compile(r"[0-9a-f]{5,64}")  # Kosli takes 5 or more (kosli-api.md)
_SEGMENT = re.compile(r"[A-Za-z0-9._~@:+-]{1,200}")  # an org, environment, flow or trail name
GIT_HOSTS = {"github.com": "github", "gitlab.com": "gitlab"}


@dataclass(frozen=True)
class KosliSnapshot:
    """`https://app.kosli.com/ORG/environments/ENV/snapshots/N`"""

    url: str = field(compare=False)  # the same page pasted twice is one thing
    host: str
    org: str
    env: str
    index: int


@dataclass(frozen=True)
class KosliArtifact:
    """`https://app.kosli.com/ORG/flows/FLOW/artifacts/FINGERPRINT?artifact_id=…`"""

    url: str = field(compare=False)  # the same page pasted twice is one thing
    host: str
    org: str
    flow: str
    fingerprint: str


@dataclass(frozen=True)
class KosliTrail:
    """`https://app.kosli.com/ORG/flows/FLOW/trails/TRAIL` (often named by its commit)"""

    url: str = field(compare=False)  # the same page pasted twice is one thing
    host: str
    org: str
    flow: str
    trail: str


@dataclass(frozen=True)
class CommitLink:
    """`https://github.com/OWNER/REPO/commit/SHA`, `https://gitlab.com/GROUP/…/PROJECT/-/commit/SHA`"""

    url: str = field(compare=False)  # the same page pasted twice is one thing
    host: str  # github or gitlab
    repository: str  # owner/repo, or group/subgroup/project on GitLab
    sha: str


@dataclass(frozen=True)
class Sha:
    """A bare commit sha (7 to 40 hex) or fingerprint (64 hex) in the text."""

    value: str

    @property
    def is_fingerprint(self) -> bool:
        return len(self.value) == 64


KosliLink = KosliSnapshot | KosliArtifact | KosliTrail
Found = KosliLink | CommitLink | Sha


def parse_link(url: str, kosli_hosts: frozenset[str]) -> KosliLink | CommitLink | None:
    """The Kosli page (on one of `kosli_hosts`) or the commit `url` shows; None for any other."""
    if len(url) > MAX_URL:
        return None
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        netloc = parts.netloc.lower()
    except ValueError:  # an unbalanced IPv6 bracket or a bad port
        return None
    if parts.scheme.lower() not in ("http", "https"):
        return None
    segments = [unquote(s) for s in parts.path.split("/") if s]
    if host in GIT_HOSTS:
        return _commit_link(url, GIT_HOSTS[host], segments)
    if netloc in kosli_hosts or host in kosli_hosts:
        return _kosli_link(url, netloc, segments)
    return None


def _kosli_link(url: str, host: str, segments: list[str]) -> KosliLink | None:
    if len(segments) != 5 or not all(_SEGMENT.fullmatch(s) for s in segments):
        return None
    org, area, name, kind, last = segments
    if area == "environments" and kind == "snapshots" and last.isdigit() and len(last) < 10:
        return KosliSnapshot(url, host, org, name, int(last))
    if area == "flows" and kind == "artifacts" and _HEX_PREFIX.fullmatch(last.lower()):
        return KosliArtifact(url, host, org, name, last.lower())
    if area == "flows" and kind == "trails":
        return KosliTrail(url, host, org, name, last)
    return None


def _commit_link(url: str, host: str, segments: list[str]) -> CommitLink | None:
    """github.com/OWNER/REPO/commit/SHA; gitlab.com/GROUP/…/PROJECT/-/commit/SHA (or the
    older form without `-`)."""
    if len(segments) < 4 or segments[-2] != "commit":
        return None
    sha = segments[-1].lower()
    path = segments[:-2]
    if host == "gitlab" and path[-1] == "-":
        path = path[:-1]
    if not _SHA.fullmatch(sha) or len(path) < 2 or "-" in path:
        return None
    if host == "github" and len(path) != 2:
        return None
    if not all(_SEGMENT.fullmatch(s) for s in path):
        return None
    return CommitLink(url, host, "/".join(path), sha)


def is_sha(word: str) -> bool:
    """A commit sha or a fingerprint as people paste them: lowercase hex (Slack's own ids,
    C0123ABCD, are uppercase), and a short one holds a digit and a letter, so a number or
    a word such as `defaced` is not taken for one."""
    if _FINGERPRINT.fullmatch(word):
        return True
    if not _SHA.fullmatch(word):
        return False
    return len(word) == 40 or (not word.isdigit() and any(c.isdigit() for c in word))


def find(text: str, kosli_hosts: frozenset[str]) -> tuple[Found, ...]:
    """Everything `text` points at, in order, each once, at most MAX_FOUND. Links first read
    as links; a sha inside a link or a Slack token (`<@U…>`, `<#C…>`) is not read again."""
    text = text[:MAX_TEXT]
    found: dict[Found, None] = {}
    taken: list[tuple[int, int]] = []
    for number, match in enumerate(_URL.finditer(text)):
        taken.append(match.span())
        if number >= MAX_URLS:
            continue  # still not read for shas below
        link = parse_link(match.group(0).rstrip(".,;:!?)]}"), kosli_hosts)
        if link is not None:
            found[link] = None
            if len(found) >= MAX_FOUND:
                return tuple(found)
    taken += [m.span() for m in _SLACK_TOKEN.finditer(text)]
    inside = _covered(taken)
    for match in _WORD.finditer(text):
        word = match.group(0)
        if is_sha(word) and not inside(match.start()):
            found[Sha(word)] = None
            if len(found) >= MAX_FOUND:
                break
    return tuple(found)


def _covered(spans: list[tuple[int, int]]) -> Callable[[int], bool]:
    """Whether a position lies inside any of `spans` (binary search over their starts)."""
    ordered = sorted(spans)
    starts = [start for start, _ in ordered]
    reach: list[int] = []  # the furthest end among the spans starting at or before each
    for _, end in ordered:
        reach.append(max(end, reach[-1]) if reach else end)

    def inside(position: int) -> bool:
        i = bisect.bisect_right(starts, position) - 1
        return i >= 0 and position < reach[i]

    return inside

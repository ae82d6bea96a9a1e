"""Typed values read from GitHub's and GitLab's compare answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Host = Literal["github", "gitlab"]
Status = Literal["ahead", "behind", "identical", "diverged"]


@dataclass(frozen=True)
class Repository:
    """A repository on a git host, as its web pages name it."""

    host: Host
    web: str  # e.g. https://github.com
    path: str  # e.g. cyber-dojo/creator, or group/subgroup/project on GitLab

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    def compare_url(self, base: str, head: str) -> str:
        middle = "/-/compare/" if self.host == "gitlab" else "/compare/"
        return f"{self.web}/{self.path}{middle}{base}...{head}"

    def commit_url(self, sha: str) -> str:
        middle = "/-/commit/" if self.host == "gitlab" else "/commit/"
        return f"{self.web}/{self.path}{middle}{sha}"


@dataclass(frozen=True)
class GitCommit:
    sha: str
    title: str  # the message's first line
    author: str
    url: str
    merge: bool  # more than one parent

    @property
    def short(self) -> str:
        return self.sha[:7]

    @classmethod
    def from_github(cls, data: dict[str, Any]) -> GitCommit:
        commit = data.get("commit") or {}
        author = (commit.get("author") or {}).get("name") or (data.get("author") or {}).get(
            "login", ""
        )
        return cls(
            sha=str(data["sha"]),
            title=_title(commit.get("message")),
            author=str(author or ""),
            url=str(data.get("html_url") or ""),
            merge=len(data.get("parents") or []) > 1,
        )

    @classmethod
    def from_gitlab(cls, data: dict[str, Any]) -> GitCommit:
        return cls(
            sha=str(data["id"]),
            title=_title(data.get("title") or data.get("message")),
            author=str(data.get("author_name") or ""),
            url=str(data.get("web_url") or ""),
            merge=len(data.get("parent_ids") or []) > 1,
        )


@dataclass(frozen=True)
class Comparison:
    """What lies between `base` and `head`. `status` says how head relates to base: `ahead`
    (head contains base), `behind` (base contains head), `identical` or `diverged`.
    `commits` are those in head and not in base, newest first; the host may list fewer than
    `total` (GitHub lists the newest 250)."""

    repository: Repository
    base: str
    head: str
    status: Status
    ahead_by: int
    behind_by: int
    commits: tuple[GitCommit, ...]
    total: int

    @property
    def url(self) -> str:
        return self.repository.compare_url(self.base, self.head)

    @property
    def contains_base(self) -> bool:
        """Head's history includes base: a build of head has base's change in it."""
        return self.status in ("ahead", "identical")

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "ahead_by": self.ahead_by,
            "behind_by": self.behind_by,
            "total": self.total,
            "commits": [vars(c) for c in self.commits],
        }

    @classmethod
    def from_json(cls, repository: Repository, base: str, head: str, data: Any) -> Comparison:
        return cls(
            repository,
            base,
            head,
            data["status"],
            int(data["ahead_by"]),
            int(data["behind_by"]),
            tuple(GitCommit(**c) for c in data["commits"]),
            int(data["total"]),
        )


def _title(message: Any) -> str:
    lines = str(message or "").strip().splitlines()
    return lines[0].strip() if lines else ""

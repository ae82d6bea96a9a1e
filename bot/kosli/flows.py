"""The flows an artifact belongs to (today's Kosli): the build flow and promotions, each with
its commit as git tells it and Kosli's link to what ran before."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.kosli.parsing import get, optional, time_of


@dataclass(frozen=True)
class CommitInfo:
    """`git_commit_info`: the commit's message and author, as Kosli read them from git."""

    sha: str
    message: str
    author: str
    branch: str
    timestamp: datetime | None
    url: str

    @property
    def title(self) -> str:
        return self.message.strip().split("\n", 1)[0].strip()

    @property
    def author_name(self) -> str:
        """'Jon Jagger <jon@kosli.com>' -> 'Jon Jagger': the address is noise in a channel."""
        return self.author.split("<", 1)[0].strip() or self.author

    @classmethod
    def from_json(cls, data: Any) -> CommitInfo:
        return cls(
            sha=get(data, "sha1", str, ""),
            message=get(data, "message", str, ""),
            author=get(data, "author", str, ""),
            branch=get(data, "branch", str, ""),
            timestamp=time_of(data, "timestamp"),
            url=get(data, "url", str, ""),
        )


@dataclass(frozen=True)
class DeploymentDiff:
    """Kosli's link from an artifact to the one of its flow that ran here before it."""

    diff_url: str
    previous_commit: str
    previous_fingerprint: str

    @classmethod
    def from_json(cls, data: Any) -> DeploymentDiff:
        return cls(
            diff_url=get(data, "diff_url", str, ""),
            previous_commit=get(data, "previous_git_commit", str, ""),
            previous_fingerprint=get(data, "previous_fingerprint", str, ""),
        )


@dataclass(frozen=True)
class ArtifactFlow:
    """One flow an artifact belongs to: the flow that built it, or one that promoted it."""

    name: str
    trail: str
    git_commit: str
    commit_url: str
    commit: CommitInfo | None
    diff: DeploymentDiff | None

    @classmethod
    def from_json(cls, data: Any) -> ArtifactFlow:
        return cls(
            name=get(data, "flow_name", str),
            trail=get(data, "trail_name", str, ""),
            git_commit=get(data, "git_commit", str, ""),
            commit_url=get(data, "commit_url", str, ""),
            commit=optional(CommitInfo.from_json, data.get("git_commit_info")),
            diff=optional(DeploymentDiff.from_json, data.get("deployment_diff")),
        )

"""The git host (GitHub or GitLab): the commits between two builds, read from its API."""

from bot.githost.client import GitHost
from bot.githost.errors import (
    GitHostAnswerTooLarge,
    GitHostError,
    GitHostNotFound,
    GitHostRateLimited,
    GitHostUnavailable,
)
from bot.githost.models import Comparison, GitCommit, Repository

__all__ = [
    "Comparison",
    "GitCommit",
    "GitHost",
    "GitHostError",
    "GitHostNotFound",
    "GitHostRateLimited",
    "GitHostAnswerTooLarge",
    "GitHostUnavailable",
    "Repository",
]

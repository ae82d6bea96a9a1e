"""Named failures of the git host; each message is fit to show in Slack."""

from __future__ import annotations


class GitHostError(Exception):
    """The git host could not answer this question."""


class GitHostNotFound(GitHostError):
    """No such repository or commit, or a private repository the bot may not read."""


class GitHostRateLimited(GitHostError):
    """The host's rate limit is spent; asking again before `retry_at` (epoch s) is useless."""

    def __init__(self, message: str, retry_at: float) -> None:
        super().__init__(message)
        self.retry_at = retry_at


class GitHostUnavailable(GitHostError):
    """The host did not answer, or answered with an error of its own (5xx, not JSON)."""


class GitHostAnswerTooLarge(GitHostUnavailable):
    """The host's answer was bigger than the bot reads (GIT_MAX_ANSWER_MB): cut off unread."""

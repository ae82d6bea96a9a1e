"""Async client for the git hosts' compare APIs: GitHub (or GitHub Enterprise) and GitLab.

Which repository to ask about comes from a commit URL Kosli recorded (github.com or the
Enterprise host; gitlab.com or the self-managed host); the question goes to that host's API
as configured here (github.com's or gitlab.com's own API for their repositories when an
Enterprise or self-managed host is configured, without its token), so a token never goes to a
host named by data.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlparse

import httpx

from bot.githost.errors import (
    GitHostAnswerTooLarge,
    GitHostError,
    GitHostNotFound,
    GitHostRateLimited,
    GitHostUnavailable,
)
from bot.githost.models import Comparison, GitCommit, Repository, Status

SHA = re.compile(r"[0-9a-f]{4,40}")
# owner/repo (GitHub) or group/…/project (GitLab) before /commit/, /-/commit/, /compare/ …
_PATH = re.compile(r"^/(?P<path>[^?#]+?)(?:/-)?/(?:commit|commits|compare|tree)/")
DEFAULT_GITHUB_API = "https://api.github.com"
DEFAULT_GITLAB = "https://gitlab.com"


def _segment(value: str) -> str:
    escaped = quote(value, safe="")
    return escaped.replace(".", "%2E") if set(value) <= {"."} else escaped


class GitHost:
    """One connection pool for both hosts; rate limits are remembered per host, so a spent
    limit costs no request until it resets."""

    def __init__(
        self,
        github_api_url: str = DEFAULT_GITHUB_API,
        github_token: str | None = None,
        gitlab_url: str = DEFAULT_GITLAB,
        gitlab_token: str | None = None,
        *,
        timeout: float = 10.0,
        github_com_api: str = DEFAULT_GITHUB_API,
        gitlab_com_url: str = DEFAULT_GITLAB,
        max_answer_bytes: int = 10 * 2**20,
    ) -> None:
        self._max_answer_bytes = max_answer_bytes
        self.github_api = github_api_url.rstrip("/")
        self.gitlab = gitlab_url.rstrip("/")
        self._github_web = _github_web(self.github_api)
        # With an Enterprise host configured, github.com's repositories are asked of github.com.
        self._github_com_api = (
            github_com_api.rstrip("/") if _is_enterprise(self.github_api) else self.github_api
        )
        # Likewise gitlab.com's projects are asked of gitlab.com with a self-managed GitLab.
        self._gitlab_com = (
            gitlab_com_url.rstrip("/") if self.gitlab != DEFAULT_GITLAB else self.gitlab
        )
        self._tokens = {"github": github_token, "gitlab": gitlab_token}
        self._blocked_until: dict[str, float] = {}
        self._http = httpx.AsyncClient(
            headers={"User-Agent": "kosli-incident-bot/0.1"},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    def repository(self, url: str | None) -> Repository | None:
        """The repository a commit (or compare) URL points into, on a host configured here."""
        parsed = urlparse(url or "")
        match = _PATH.match(parsed.path)
        if not match or parsed.scheme not in ("http", "https"):
            return None
        web = f"{parsed.scheme}://{parsed.netloc}"
        path = match["path"].strip("/")
        if web in ("https://github.com", self._github_web) and path.count("/") == 1:
            return Repository("github", web, path)
        if web in ("https://gitlab.com", self.gitlab):
            return Repository("gitlab", web, path)
        return None

    async def compare(self, repo: Repository, base: str, head: str) -> Comparison:
        _check_sha(base)
        _check_sha(head)
        if repo.host == "github":
            data = await self._get(repo, f"{self._github_repo(repo)}/compare/{base}...{head}")
            return _github_comparison(repo, base, head, data)
        forward = await self._gitlab_compare(repo, base, head)
        commits = tuple(reversed(forward))
        backward = await self._gitlab_compare(repo, head, base) if base != head else []
        return Comparison(
            repo, base, head, _status(len(forward), len(backward)),
            len(forward), len(backward), commits, len(forward),
        )  # fmt: skip

    async def commit(self, repo: Repository, sha: str) -> GitCommit:
        _check_sha(sha)
        if repo.host == "github":
            data = await self._get(repo, f"{self._github_repo(repo)}/commits/{sha}")
            return _parse(GitCommit.from_github, data)
        data = await self._get(repo, f"{self._gitlab_project(repo)}/repository/commits/{sha}")
        return _parse(GitCommit.from_gitlab, data)

    def _github_repo(self, repo: Repository) -> str:
        owner, name = repo.path.split("/")
        api = self.github_api if repo.web == self._github_web else self._github_com_api
        return f"{api}/repos/{_segment(owner)}/{_segment(name)}"

    def _gitlab_project(self, repo: Repository) -> str:
        api = self.gitlab if repo.web == self.gitlab else self._gitlab_com
        return f"{api}/api/v4/projects/{quote(repo.path, safe='')}"

    async def _gitlab_compare(self, repo: Repository, base: str, head: str) -> list[GitCommit]:
        data = await self._get(
            repo,
            f"{self._gitlab_project(repo)}/repository/compare",
            {"from": base, "to": head, "straight": "false"},
        )
        if not isinstance(data, dict) or not isinstance(data.get("commits"), list):
            raise GitHostUnavailable("GitLab's compare answer has no commits list")
        return [_parse(GitCommit.from_gitlab, c) for c in data["commits"]]

    async def _get(self, repo: Repository, url: str, params: dict[str, str] | None = None) -> Any:
        host = repo.host
        if self._blocked_until.get(repo.web, 0.0) > time.time():
            raise GitHostRateLimited(
                f"{_name(host)}'s rate limit is spent", self._blocked_until[repo.web]
            )
        try:
            response, body = await self._read(host, url, params)
        except httpx.TimeoutException:
            raise GitHostUnavailable(f"{_name(host)} did not answer in time") from None
        except httpx.HTTPError:
            raise GitHostUnavailable(f"{_name(host)} could not be reached") from None
        self._note_limit(repo.web, response)
        status = response.status_code
        if status in (403, 429) and (
            response.headers.get("Retry-After") or _remaining(response) == 0
        ):
            raise GitHostRateLimited(
                f"{_name(host)}'s rate limit is spent", self._blocked_until.get(repo.web, 0.0)
            )
        if status == 404:
            raise GitHostNotFound(
                f"{_name(host)} has no such commit in {repo.path} (or the repository is private)"
            )
        if status in (401, 403):
            raise GitHostError(f"{_name(host)} refused the bot's token for {repo.path}")
        if status >= 300:
            raise GitHostUnavailable(f"{_name(host)} answered HTTP {status}")
        try:
            return json.loads(body)
        except ValueError:
            raise GitHostUnavailable(f"{_name(host)} answered with something not JSON") from None

    async def _read(
        self, host: str, url: str, params: dict[str, str] | None
    ) -> tuple[httpx.Response, bytes]:
        """The answer and its body, read as a stream no further than the byte limit (after
        decompression): a 200 MB compare is refused, not held."""
        headers = self._headers(host, url)
        async with self._http.stream("GET", url, params=params, headers=headers) as response:
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > self._max_answer_bytes:
                    raise GitHostAnswerTooLarge(
                        f"{_name(host)}'s answer was larger than "
                        f"{self._max_answer_bytes // 2**20} MB, more than the bot reads"
                    )
        return response, bytes(body)

    def _headers(self, host: str, url: str) -> dict[str, str]:
        configured = self.github_api if host == "github" else self.gitlab
        # The token goes only to the API it was configured for.
        token = self._tokens[host] if url.startswith(configured + "/") else None
        if host == "github":
            headers = {
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
            }
            return {**headers, "Authorization": f"Bearer {token}"} if token else headers
        return {"PRIVATE-TOKEN": token} if token else {}

    def _note_limit(self, web: str, response: httpx.Response) -> None:
        """Remember when a spent limit resets (X-RateLimit-Reset / RateLimit-Reset, epoch s)
        or how long Retry-After asks to wait."""
        now = time.time()
        retry_after = _number(response.headers.get("Retry-After"))
        reset = _number(
            response.headers.get("X-RateLimit-Reset") or response.headers.get("RateLimit-Reset")
        )
        if retry_after is not None and response.status_code in (403, 429):
            self._blocked_until[web] = now + retry_after
        elif _remaining(response) == 0:
            self._blocked_until[web] = reset if reset and reset > now else now + 60.0


def _github_comparison(repo: Repository, base: str, head: str, data: Any) -> Comparison:
    if not isinstance(data, dict) or data.get("status") not in (
        "ahead", "behind", "identical", "diverged"
    ):  # fmt: skip
        raise GitHostUnavailable("GitHub's compare answer has no status")
    try:
        # Listed oldest first; without paging GitHub lists the newest 250 of `total_commits`.
        commits = tuple(reversed([GitCommit.from_github(c) for c in data.get("commits") or []]))
        return Comparison(
            repo,
            base,
            head,
            data["status"],
            int(data.get("ahead_by", 0)),
            int(data.get("behind_by", 0)),
            commits,
            int(data.get("total_commits", len(commits))),
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        raise GitHostUnavailable("GitHub's compare answer could not be read") from None


def _parse(parse: Callable[[Any], GitCommit], data: Any) -> GitCommit:
    try:
        return parse(data)
    except (KeyError, TypeError, AttributeError):
        raise GitHostUnavailable("the git host's commit could not be read") from None


def _status(ahead: int, behind: int) -> Status:
    if ahead == 0 and behind == 0:
        return "identical"
    if behind == 0:
        return "ahead"
    return "behind" if ahead == 0 else "diverged"


def _check_sha(sha: str) -> None:
    if not SHA.fullmatch(sha):
        raise GitHostError(f"`{sha[:50]}` is not a commit sha")


def _is_enterprise(api: str) -> bool:
    """GitHub Enterprise Server answers at HOST/api/v3, Enterprise Cloud at api.NAME.ghe.com;
    any other API URL stands in for github.com's (a proxy, or a fake in tests)."""
    parsed = urlparse(api)
    return parsed.path.rstrip("/").endswith("/api/v3") or parsed.netloc.endswith(".ghe.com")


def _github_web(api: str) -> str:
    """Where GitHub's web pages live for this API: github.com, or the Enterprise host."""
    parsed = urlparse(api)
    if parsed.netloc == "api.github.com":
        return "https://github.com"
    if parsed.netloc.startswith("api.") and parsed.netloc.endswith(".ghe.com"):
        return f"{parsed.scheme}://{parsed.netloc.removeprefix('api.')}"
    return f"{parsed.scheme}://{parsed.netloc}"


def _remaining(response: httpx.Response) -> int | None:
    value = response.headers.get("X-RateLimit-Remaining") or response.headers.get(
        "RateLimit-Remaining"
    )
    number = _number(value)
    return None if number is None else int(number)


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _name(host: str) -> str:
    return "GitHub" if host == "github" else "GitLab"

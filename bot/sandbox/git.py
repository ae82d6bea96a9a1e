"""The sandbox's git history, served in GitHub's API shapes under /github and GitLab's under
/gitlab: the commits behind every build the dataset knows, so the commits window and
`where COMMIT` work with no accounts.

creator 31dee35 ran in aws-prod until b7a5908 took over at #176/#177. Between them lie five
commits; one of them cached group ids in memory, which is what broke prod.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from hashlib import sha1
from typing import Any
from urllib.parse import parse_qsl, unquote

from bot.sandbox.base import ApiError
from bot.sandbox.dataset import Dataset

WEB = "https://github.com"
GITLAB_WEB = "https://gitlab.com"
# github.com/OWNER/REPO/commit/SHA or gitlab.com/GROUP/…/PROJECT/-/commit/SHA
_REPO = re.compile(r"^(?P<repo>https://(?:github|gitlab)\.com/.+?)(?:/-)?/commit/[0-9a-f]+$")


@dataclass(frozen=True)
class SandboxCommit:
    sha: str
    parents: tuple[str, ...]
    message: str
    author: str
    login: str
    date: str  # ISO 8601, UTC


FILLERS = (  # what other services' histories say between two of their builds
    ("Bump base image to the latest security patch", "Ana Lopez", "alopez"),
    ("Update gem dependencies", "Sam Okoro", "sokoro"),
)
# The seed's incident: five commits between creator 31dee35 and b7a5908, one a merge.
CREATOR_BROKEN = "b7a590836cf140e17da3f01eadd5eca17d9efc65"
CREATOR_STORY = (
    ("eb92e965612fecde7ee16f49190d08d1c786e5cd", 0, "Add /healthz readiness probe",
     "Priya Raman", "priyaraman", "2022-09-05T09:14:37Z"),
    ("e8cdc074ce052da15a2e3e39fb43c0f6e5a84b8d", 0,
     "Cache group ids in memory to speed up joins\n\nKeep a process-wide dict of group ids; "
     "it is never invalidated.", "Tomasz Nowak", "tnowak", "2022-09-05T16:41:02Z"),
    ("076c9daabb05b61179b0dd038d988a295ca6b018", 2,
     "Merge pull request #214 from cyber-dojo/cache-group-ids", "Priya Raman", "priyaraman",
     "2022-09-06T08:03:55Z"),
    ("9217db6ae5acb4f10287188faefc874e791f62b8", 0, "Log the request id on every access log line",
     "Tomasz Nowak", "tnowak", "2022-09-06T10:27:40Z"),
)  # fmt: skip


def _history(repo: str, builds: list[str]) -> list[SandboxCommit]:
    """A straight line through a repository's builds, oldest first, with a couple of commits
    between each; creator's last step is the incident's story."""
    commits: list[SandboxCommit] = []
    for number, build in enumerate(builds):
        parent = (commits[-1].sha,) if commits else ()
        if repo.endswith("cyber-dojo/creator") and build == CREATOR_BROKEN:
            between = list(CREATOR_STORY)
        elif number:
            between = [
                (sha1(f"{repo}/{build}/{i}".encode()).hexdigest(), 0, message, author, login,
                 "2022-09-01T12:00:00Z")
                for i, (message, author, login) in enumerate(FILLERS)
            ]  # fmt: skip
        else:
            between = []
        for sha, merge_from, message, author, login, date in between:
            parents = parent + ((commits[-merge_from].sha,) if merge_from else ())
            commits.append(SandboxCommit(sha, parents, message, author, login, date))
            parent = (sha,)
        title = (
            "Tidy rubocop warnings in creator.rb"
            if build == CREATOR_BROKEN
            else f"Release build {number + 1} of {repo.rsplit('/', 1)[-1]}"
        )
        commits.append(
            SandboxCommit(build, parent, title, "Priya Raman", "priyaraman", "2022-09-06T11:55:19Z")
        )
    return commits


def histories(dataset: Dataset) -> dict[str, list[SandboxCommit]]:
    """Every repository's history, from the builds Kosli knows of (oldest first)."""
    builds: dict[str, list[tuple[float, str]]] = {}
    for record in dataset.artifacts:
        match = _REPO.match(record.commit_url or "")
        if match and record.git_commit:
            builds.setdefault(match["repo"], []).append(
                (record.created_at or 0.0, record.git_commit)
            )
    return {
        repo: _history(repo, list(dict.fromkeys(sha for _, sha in sorted(made))))
        for repo, made in builds.items()
    }


def github_answer(path: str, repos: dict[str, list[SandboxCommit]]) -> Any:
    """GET /github/repos/OWNER/REPO/compare/BASE...HEAD or /github/repos/OWNER/REPO/commits/SHA."""
    parts = path.strip("/").split("/")
    if len(parts) != 6 or parts[:2] != ["github", "repos"]:
        raise ApiError(404, "Not Found")
    repo, what, ref = f"{parts[2]}/{parts[3]}", parts[4], parts[5]
    commits = repos.get(f"{WEB}/{repo}")
    if commits is None:
        raise ApiError(404, "Not Found")
    if what == "commits":
        return _github_commit(repo, _find(commits, ref))
    if what != "compare" or "..." not in ref:
        raise ApiError(404, "Not Found")
    base_ref, head_ref = ref.split("...", 1)
    base, head = _find(commits, base_ref), _find(commits, head_ref)
    ahead, behind = _between(commits, base, head), _between(commits, head, base)
    if not ahead and not behind:
        status = "identical"
    elif not behind:
        status = "ahead"
    else:
        status = "behind" if not ahead else "diverged"
    return {
        "html_url": f"{WEB}/{repo}/compare/{base_ref}...{head_ref}",
        "base_commit": _github_commit(repo, base),
        "status": status,
        "ahead_by": len(ahead),
        "behind_by": len(behind),
        "total_commits": len(ahead),
        "commits": [_github_commit(repo, c) for c in ahead],
        "files": [],
    }


def gitlab_answer(path: str, query: str, repos: dict[str, list[SandboxCommit]]) -> Any:
    """GET /gitlab/api/v4/projects/PATH/repository/compare?from=&to= or …/commits/SHA."""
    parts = path.strip("/").split("/")
    if len(parts) < 7 or parts[:4] != ["gitlab", "api", "v4", "projects"]:
        raise ApiError(404, "404 Project Not Found")
    project = unquote(parts[4])
    commits = repos.get(f"{GITLAB_WEB}/{project}")
    if commits is None or parts[5] != "repository":
        raise ApiError(404, "404 Project Not Found")
    if parts[6] == "commits" and len(parts) == 8:
        return _gitlab_commit(project, _find(commits, parts[7]))
    if parts[6] != "compare":
        raise ApiError(404, "404 Not Found")
    params = dict(parse_qsl(query))
    base, head = _find(commits, params.get("from", "")), _find(commits, params.get("to", ""))
    listed = _between(commits, base, head)
    return {
        "commit": _gitlab_commit(project, listed[-1]) if listed else None,
        "commits": [_gitlab_commit(project, c) for c in listed],
        "diffs": [],
        "compare_timeout": False,
        "compare_same_ref": base.sha == head.sha,
        "web_url": f"{GITLAB_WEB}/{project}/-/compare/{base.sha}...{head.sha}",
    }


def _between(
    commits: list[SandboxCommit], base: SandboxCommit, head: SandboxCommit
) -> list[SandboxCommit]:
    """Commits in head's history and not in base's, oldest first (as both hosts list them)."""
    wanted = _ancestry(commits, head.sha) - _ancestry(commits, base.sha)
    return [c for c in commits if c.sha in wanted]


def _find(commits: list[SandboxCommit], ref: str) -> SandboxCommit:
    found = [c for c in commits if len(ref) >= 4 and c.sha.startswith(ref)]
    if len(found) != 1:
        raise ApiError(404, "Not Found")
    return found[0]


def _ancestry(commits: list[SandboxCommit], sha: str) -> set[str]:
    by_sha = {c.sha: c for c in commits}
    seen: set[str] = set()
    todo = [sha]
    while todo:
        current = todo.pop()
        if current in seen or current not in by_sha:
            continue
        seen.add(current)
        todo += by_sha[current].parents
    return seen


def _gitlab_commit(project: str, commit: SandboxCommit) -> dict[str, Any]:
    return {
        "id": commit.sha,
        "short_id": commit.sha[:8],
        "title": commit.message.splitlines()[0],
        "message": commit.message,
        "author_name": commit.author,
        "authored_date": commit.date,
        "parent_ids": list(commit.parents),
        "web_url": f"{GITLAB_WEB}/{project}/-/commit/{commit.sha}",
    }


def _github_commit(repo: str, commit: SandboxCommit) -> dict[str, Any]:
    person = {"name": commit.author, "email": f"{commit.login}@users.noreply.github.com",
              "date": commit.date}  # fmt: skip
    return {
        "sha": commit.sha,
        "commit": {"author": person, "committer": person, "message": commit.message},
        "html_url": f"{WEB}/{repo}/commit/{commit.sha}",
        "author": {"login": commit.login},
        "parents": [{"sha": p, "html_url": f"{WEB}/{repo}/commit/{p}"} for p in commit.parents],
    }

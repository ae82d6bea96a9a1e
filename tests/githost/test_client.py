"""The git host client against a fake GitHub and GitLab over HTTP, answering recorded bodies."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from bot.domain.commits_window import CommitsWindow
from bot.githost import (
    Comparison,
    GitHost,
    GitHostAnswerTooLarge,
    GitHostError,
    GitHostNotFound,
    GitHostRateLimited,
    GitHostUnavailable,
    Repository,
)
from bot.render.commits import window_mrkdwn
from tests.fakes.githost import FakeGitHost, Reply, recorded, recorded_headers

OLD = "31dee357844ab2f58a40d16f945dc5e35dcd6bc0"
NEW = "b7a590836cf140e17da3f01eadd5eca17d9efc65"
CREATOR = Repository("github", "https://github.com", "cyber-dojo/creator")

GL_FROM = "be760adf95e67c48d88a70f4e4a87e9b0e14a86e"
GL_TO = "dd4ca0825aa308826d54967d16aba73586de07c3"


@pytest.fixture
def fake() -> Iterator[FakeGitHost]:
    server = FakeGitHost().start()
    yield server
    server.stop()


def ask(fake: FakeGitHost, call: str, *args: Any, **settings: Any) -> Any:
    async def run() -> Any:
        host = GitHost(github_api_url=fake.url, gitlab_url=fake.url, **settings)
        try:
            return await getattr(host, call)(*args)
        finally:
            await host.aclose()

    return asyncio.run(run())


def github_compare(fake: FakeGitHost, name: str, base: str = OLD, head: str = NEW) -> None:
    path = f"/repos/cyber-dojo/creator/compare/{base}...{head}"
    fake.route(path, Reply(200, recorded(name), recorded_headers(name)))


def test_repositories_are_read_from_commit_urls_on_configured_hosts() -> None:
    host = GitHost(
        github_api_url="https://ghe.example.com/api/v3", gitlab_url="https://git.acme.io"
    )
    assert host.repository(f"https://github.com/cyber-dojo/creator/commit/{NEW}") == CREATOR
    assert host.repository(f"https://ghe.example.com/acme/web/commit/{NEW}") == Repository(
        "github", "https://ghe.example.com", "acme/web"
    )
    gitlab = f"https://git.acme.io/acme/platform/payments/-/commit/{NEW}"
    assert host.repository(gitlab) == Repository(
        "gitlab", "https://git.acme.io", "acme/platform/payments"
    )
    for unknown in (
        f"https://evil.example/cyber-dojo/creator/commit/{NEW}",  # our token never goes there
        f"ftp://github.com/cyber-dojo/creator/commit/{NEW}",
        "https://github.com/cyber-dojo",
        "",
        None,
    ):
        assert host.repository(unknown) is None


def commit_of_each(host: GitHost, public: FakeGitHost, urls: list[str], sha: str) -> None:
    """Ask `host` for commit `sha` of the repository of each commit URL, in order; then close
    the host and stop the public fake."""

    async def run() -> None:
        try:
            for url in urls:
                repository = host.repository(url)
                assert repository is not None
                await host.commit(repository, sha)
        finally:
            await host.aclose()

    try:
        asyncio.run(run())
    finally:
        public.stop()


def test_each_github_host_is_asked_about_its_own_repositories(fake: FakeGitHost) -> None:
    """With GitHub Enterprise configured, a github.com repository is asked of github.com's API
    (without the Enterprise token), and an Enterprise one of the Enterprise API."""
    public = FakeGitHost().start()  # github.com's API
    ghe_web = fake.url  # the Enterprise host's web pages; its API at /api/v3
    fake.route(
        f"/api/v3/repos/acme/web/commits/{NEW}",
        Reply(200, recorded("github-compare-ahead.json")["commits"][0]),
    )
    public.route(
        f"/repos/cyber-dojo/creator/commits/{NEW}",
        Reply(200, recorded("github-compare-ahead.json")["commits"][0]),
    )

    host = GitHost(
        github_api_url=f"{ghe_web}/api/v3", github_token="ghe-token", github_com_api=public.url
    )
    commit_of_each(
        host,
        public,
        [f"{ghe_web}/acme/web/commit/{NEW}", f"https://github.com/cyber-dojo/creator/commit/{NEW}"],
        NEW,
    )
    assert [path for path, _, _ in fake.requests] == [f"/api/v3/repos/acme/web/commits/{NEW}"]
    assert fake.requests[0][2]["Authorization"] == "Bearer ghe-token"
    assert [path for path, _, _ in public.requests] == [f"/repos/cyber-dojo/creator/commits/{NEW}"]
    assert "Authorization" not in public.requests[0][2]


def test_each_gitlab_host_is_asked_about_its_own_projects(fake: FakeGitHost) -> None:
    """With a self-managed GitLab configured, a gitlab.com project is asked of gitlab.com's API
    (without the self-managed host's token), and a self-managed one of that host."""
    public = FakeGitHost().start()  # gitlab.com
    commit = recorded("gitlab-compare.json")["commits"][0]
    fake.route(f"/api/v4/projects/acme%2Fpayments/repository/commits/{GL_TO}", Reply(200, commit))
    public.route(f"/api/v4/projects/acme%2Fledger/repository/commits/{GL_TO}", Reply(200, commit))

    host = GitHost(gitlab_url=fake.url, gitlab_token="glpat-own", gitlab_com_url=public.url)
    commit_of_each(
        host,
        public,
        [
            f"{fake.url}/acme/payments/-/commit/{GL_TO}",
            f"https://gitlab.com/acme/ledger/-/commit/{GL_TO}",
        ],
        GL_TO,
    )
    assert [path for path, _, _ in fake.requests] == [
        f"/api/v4/projects/acme%2Fpayments/repository/commits/{GL_TO}"
    ]
    assert fake.requests[0][2]["PRIVATE-TOKEN"] == "glpat-own"
    assert [path for path, _, _ in public.requests] == [
        f"/api/v4/projects/acme%2Fledger/repository/commits/{GL_TO}"
    ]
    assert "private-token" not in {name.lower() for name in public.requests[0][2]}


def test_a_github_compare_lists_the_commits_newest_first(fake: FakeGitHost) -> None:
    github_compare(fake, "github-compare-ahead.json")
    found: Comparison = ask(fake, "compare", CREATOR, OLD, NEW)
    assert (found.status, found.ahead_by, found.behind_by, found.total) == ("ahead", 5, 0, 5)
    assert found.contains_base
    assert [c.short for c in found.commits] == [
        "b7a5908", "9217db6", "076c9da", "e8cdc07", "eb92e96",
    ]  # fmt: skip
    merge = found.commits[2]
    assert merge.merge and merge.title == "Merge pull request #214 from cyber-dojo/cache-group-ids"
    culprit = found.commits[3]
    assert (culprit.title, culprit.author) == (
        "Cache group ids in memory to speed up joins",
        "Tomasz Nowak",
    )
    assert culprit.url == f"https://github.com/cyber-dojo/creator/commit/{culprit.sha}"
    assert found.url == f"https://github.com/cyber-dojo/creator/compare/{OLD}...{NEW}"
    (path, query, headers) = fake.requests[0]
    assert query == {}  # unpaged: GitHub lists the newest 250, which is all we show
    assert headers["Accept"] == "application/vnd.github+json"
    assert "Authorization" not in headers  # public repositories need no token


def test_more_than_250_commits_are_counted_from_total_commits(fake: FakeGitHost) -> None:
    data = recorded("github-compare-nopaging.json")
    base, head = data["base_commit"]["sha"], data["commits"][-1]["sha"]
    github_compare(fake, "github-compare-nopaging.json", base, head)
    found = ask(fake, "compare", CREATOR, base, head, github_token="ghp_secret")
    assert (len(found.commits), found.total) == (250, 262)
    assert found.commits[0].sha == head  # the newest first
    headers = {name.lower(): value for name, value in fake.requests[0][2].items()}
    assert headers["authorization"] == "Bearer ghp_secret"


@pytest.mark.parametrize(
    ("name", "status", "ahead", "behind", "contains"),
    [
        ("github-compare-diverged.json", "diverged", 2, 3, False),
        ("github-compare-identical.json", "identical", 0, 0, True),
    ],
)
def test_diverged_and_identical(
    fake: FakeGitHost, name: str, status: str, ahead: int, behind: int, contains: bool
) -> None:
    github_compare(fake, name)
    found = ask(fake, "compare", CREATOR, OLD, NEW)
    assert (found.status, found.ahead_by, found.behind_by) == (status, ahead, behind)
    assert found.contains_base is contains
    assert len(found.commits) == ahead


def test_a_private_or_unknown_repository_is_not_found(fake: FakeGitHost) -> None:
    with pytest.raises(GitHostNotFound, match="private"):
        ask(fake, "compare", CREATOR, OLD, NEW)


def test_a_spent_rate_limit_is_remembered_and_costs_no_more_requests(fake: FakeGitHost) -> None:
    fake.route(
        f"/repos/cyber-dojo/creator/compare/{OLD}...{NEW}",
        Reply(
            403, recorded("github-rate-limited.json"), recorded_headers("github-rate-limited.json")
        ),
    )

    async def twice() -> list[str]:
        host = GitHost(github_api_url=fake.url)
        errors = []
        try:
            for _ in range(2):
                with pytest.raises(GitHostRateLimited) as raised:
                    await host.compare(CREATOR, OLD, NEW)
                errors.append(str(raised.value))
        finally:
            await host.aclose()
        return errors

    assert asyncio.run(twice()) == ["GitHub's rate limit is spent"] * 2
    assert len(fake.requests) == 1


def test_a_secondary_rate_limit_with_retry_after(fake: FakeGitHost) -> None:
    fake.route(
        f"/repos/cyber-dojo/creator/compare/{OLD}...{NEW}",
        Reply(429, {"message": "You have exceeded a secondary rate limit"}, {"Retry-After": "60"}),
    )
    with pytest.raises(GitHostRateLimited) as raised:
        ask(fake, "compare", CREATOR, OLD, NEW)
    assert raised.value.retry_at > 0


def test_a_gitlab_compare_asks_both_ways_for_ahead_and_behind(fake: FakeGitHost) -> None:
    project = "/api/v4/projects/acme%2Fpayments/repository/compare"
    fake.route(
        f"{project}?from={GL_FROM}&to={GL_TO}&straight=false",
        Reply(200, recorded("gitlab-compare.json")),
    )
    nothing_back = {**recorded("gitlab-compare.json"), "commits": [], "diffs": []}
    fake.route(f"{project}?from={GL_TO}&to={GL_FROM}&straight=false", Reply(200, nothing_back))
    repo = Repository("gitlab", fake.url, "acme/payments")
    found = ask(fake, "compare", repo, GL_FROM, GL_TO, gitlab_token="glpat-secret")
    assert (found.status, found.ahead_by, found.behind_by, found.total) == ("ahead", 3, 0, 3)
    assert [c.title for c in found.commits] == [
        "Merge branch 'refund-rounding' into 'main'",
        "Round refund amounts half-even",
        "Retry card authorisation once on gateway timeout",
    ]
    assert found.commits[0].merge and not found.commits[1].merge
    assert found.commits[1].author == "Lars Eriksen"
    assert found.url == f"{fake.url}/acme/payments/-/compare/{GL_FROM}...{GL_TO}"
    assert {r[2]["PRIVATE-TOKEN"] for r in fake.requests} == {"glpat-secret"}


def test_a_gitlab_404_is_not_found(fake: FakeGitHost) -> None:
    fake.route(
        "/api/v4/projects/acme%2Fpayments/repository/compare",
        Reply(404, recorded("gitlab-compare-404.json")),
    )
    repo = Repository("gitlab", fake.url, "acme/payments")
    with pytest.raises(GitHostNotFound):
        ask(fake, "compare", repo, GL_FROM, GL_TO)


@pytest.mark.parametrize("sha", ["../../orgs/x", "HEAD", "", "a" * 41, "b7a5908%2F.."])
def test_anything_but_a_sha_is_refused_before_asking(fake: FakeGitHost, sha: str) -> None:
    with pytest.raises(GitHostError, match="is not a commit sha"):
        ask(fake, "compare", CREATOR, OLD, sha)
    assert fake.requests == []


@pytest.mark.parametrize(
    ("reply", "words"),
    [
        (Reply(200, "<html>gateway</html>"), "not JSON"),
        (Reply(502, {"message": "Bad gateway"}), "HTTP 502"),
        (Reply(200, {"status": "sideways"}), "no status"),
        (Reply(200, {"status": "ahead", "commits": [{"no": "sha"}]}), "could not be read"),
    ],
)
def test_nonsense_answers_are_unavailable(fake: FakeGitHost, reply: Reply, words: str) -> None:
    fake.route(f"/repos/cyber-dojo/creator/compare/{OLD}...{NEW}", reply)
    with pytest.raises(GitHostUnavailable, match=words):
        ask(fake, "compare", CREATOR, OLD, NEW)


def test_a_host_that_is_down_is_unavailable() -> None:
    async def run() -> None:
        host = GitHost(github_api_url="http://127.0.0.1:9", timeout=2)
        try:
            await host.compare(CREATOR, OLD, NEW)
        finally:
            await host.aclose()

    with pytest.raises(GitHostUnavailable, match="could not be reached"):
        asyncio.run(run())


def test_a_comparison_survives_the_cache_round_trip(fake: FakeGitHost) -> None:
    github_compare(fake, "github-compare-ahead.json")
    found = ask(fake, "compare", CREATOR, OLD, NEW)
    assert Comparison.from_json(CREATOR, OLD, NEW, found.to_json()) == found


def test_a_gitlab_429_is_a_spent_rate_limit(fake: FakeGitHost) -> None:
    fake.route(
        "/api/v4/projects/acme%2Fpayments/repository/compare",
        Reply(429, "Retry later", {"RateLimit-Remaining": "0", "Retry-After": "30"}),
    )
    repo = Repository("gitlab", fake.url, "acme/payments")
    with pytest.raises(GitHostRateLimited, match="GitLab's rate limit is spent"):
        ask(fake, "compare", repo, GL_FROM, GL_TO)


def test_a_long_window_shows_ten_commits_and_counts_the_rest(fake: FakeGitHost) -> None:
    data = recorded("github-compare-nopaging.json")
    base, head = data["base_commit"]["sha"], data["commits"][-1]["sha"]
    github_compare(fake, "github-compare-nopaging.json", base, head)
    found = ask(fake, "compare", CREATOR, base, head)
    text = window_mrkdwn(CommitsWindow(base, head, found))
    lines = text.splitlines()
    assert lines[0] == f"*262 commits* from `{base[:7]}` to `{head[:7]}`:"
    assert len([line for line in lines if line.startswith("• ")]) == 10
    assert lines[-1] == (
        f"…and 252 more: <https://github.com/cyber-dojo/creator/compare/{base}...{head}|compare>"
    )


def test_an_answer_beyond_the_byte_limit_is_refused_by_name(fake: FakeGitHost) -> None:
    """A compare of 3 MB against a 1 MB limit: a named error, told in the commits window."""
    huge = recorded("github-compare-ahead.json")
    huge["files"] = [{"patch": "+" * 1000} for _ in range(3000)]
    fake.route(f"/repos/cyber-dojo/creator/compare/{OLD}...{NEW}", Reply(200, huge))
    with pytest.raises(GitHostAnswerTooLarge) as refused:
        ask(fake, "compare", CREATOR, OLD, NEW, max_answer_bytes=2**20)
    assert str(refused.value) == "GitHub's answer was larger than 1 MB, more than the bot reads"
    assert isinstance(refused.value, GitHostUnavailable)  # what callers already tell people

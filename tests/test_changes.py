from datetime import UTC, datetime

from bot.domain.changes import changes_between, commit_sha, compare_url, service_of
from bot.kosli.models import DiffArtifact, SnapshotDiff

CREATOR_OLD = (
    "https://github.com/cyber-dojo/creator/commit/31dee357844ab2f58a40d16f945dc5e35dcd6bc0"
)
CREATOR_NEW = (
    "https://github.com/cyber-dojo/creator/commit/b7a590836cf140e17da3f01eadd5eca17d9efc65"
)
ECR = "274425519734.dkr.ecr.eu-central-1.amazonaws.com"


def artifact(name: str, flow: str, commit_url: str = "", started: int = 0) -> DiffArtifact:
    return DiffArtifact(
        name=name,
        fingerprint=name.encode().hex().ljust(64, "0")[:64],
        flow=flow,
        commit_url=commit_url,
        started_at=datetime.fromtimestamp(started, UTC) if started else None,
        instances=1,
        instances_before=1,
        instances_after=1,
    )


def diff(before: list[DiffArtifact], after: list[DiffArtifact], a="aws-prod#175", b="aws-prod#177"):
    return SnapshotDiff(a, b, tuple(before), tuple(after), ())


def test_new_version_of_a_service_is_one_replacement_with_compare_link() -> None:
    old = artifact(f"{ECR}/creator:31dee35", "creator", CREATOR_OLD)
    new = artifact(f"{ECR}/creator:b7a5908", "creator", CREATOR_NEW)
    changes = changes_between(diff([old], [new]))
    assert [(r.old, r.new) for r in changes.replaced] == [(old, new)]
    assert changes.added == () and changes.removed == ()
    assert changes.replaced[0].compare_url == (
        "https://github.com/cyber-dojo/creator/compare/"
        "31dee357844ab2f58a40d16f945dc5e35dcd6bc0...b7a590836cf140e17da3f01eadd5eca17d9efc65"
    )


def test_unrelated_artifacts_stay_started_and_stopped() -> None:
    stopped = artifact(f"{ECR}/creator:31dee35", "creator", CREATOR_OLD)
    started = artifact("docker.io/xmrig/xmrig:latest", "")
    changes = changes_between(diff([stopped], [started]))
    assert changes.replaced == ()
    assert changes.removed == (stopped,) and changes.added == (started,)
    assert changes.is_timeline


def test_artifacts_without_flow_pair_by_image_name() -> None:
    old = artifact("registry.local/team/nginx:1.25", "", started=10)
    new = artifact("registry.local/team/nginx:1.27", "", started=20)
    assert len(changes_between(diff([old], [new])).replaced) == 1


def test_cross_environment_diff_is_not_a_timeline() -> None:
    changes = changes_between(diff([], [], "aws-beta#189", "aws-prod#169"))
    assert changes.is_empty and not changes.is_timeline
    assert not changes_between(diff([], [], "aws-prod#177", "aws-prod#176")).is_timeline


def test_commit_links() -> None:
    assert commit_sha(CREATOR_NEW) == "b7a590836cf140e17da3f01eadd5eca17d9efc65"
    assert commit_sha("not a url") == ""
    gitlab_old = "https://gitlab.com/group/app/-/commit/1111111aaaa"
    gitlab_new = "https://gitlab.com/group/app/-/commit/2222222bbbb"
    assert compare_url(gitlab_old, gitlab_new) == (
        "https://gitlab.com/group/app/-/compare/1111111aaaa...2222222bbbb"
    )
    other_repo = "https://github.com/cyber-dojo/web/commit/6b1b6bc45af830836838db8644d1388726d8f381"
    assert compare_url(CREATOR_OLD, other_repo) is None
    assert compare_url(CREATOR_OLD, "") is None


def test_service_names() -> None:
    assert service_of(f"{ECR}/creator:31dee35", "") == "creator"
    assert service_of("nginx@sha256:abc", "") == "nginx"
    assert service_of("anything", "web") == "web"

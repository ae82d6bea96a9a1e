"""What a message points at: Kosli's page links (their shapes as Kosli's docs print them), commit
links, bare shas and fingerprints; junk never raises and costs bounded work."""

from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain.links import (
    MAX_FOUND,
    MAX_TEXT,
    CommitLink,
    KosliArtifact,
    KosliSnapshot,
    KosliTrail,
    Sha,
    find,
    is_sha,
    parse_link,
)

KOSLI = frozenset({"app.kosli.com"})
FINGERPRINT = "d4d2a0676d83f2a1b8c2e4b4f0a1c9e0aa54e4f6d5b6b2f6c0b7a2d3e4f5a6b7"
CREATOR = "b7a590836cf140e17da3f01eadd5eca17d9efc65"


def test_kosli_snapshot_artifact_and_trail_links_as_kosli_docs_print_them() -> None:
    # kosli-dev/docs: client_reference/kosli_get_snapshot.md (html_url), kosli_attest_*.md
    snapshot = "https://app.kosli.com/cyber-dojo/environments/aws-prod/snapshots/5253"
    artifact = (
        f"https://app.kosli.com/cyber-dojo/flows/runner-ci/artifacts/{FINGERPRINT}"
        "?artifact_id=d4d2a067-63c8-4403-a6f5-554e6fef"
    )
    named = "108cccf9bccf9af5d455db66c250480b53cbecc7"  # a trail named by its commit
    trail = (
        f"https://app.kosli.com/cyber-dojo/flows/differ-ci/trails/{named}"
        "?attestation_id=50b8cff6-1888-4c76-b31a"
    )
    assert parse_link(snapshot, KOSLI) == KosliSnapshot(
        snapshot, "app.kosli.com", "cyber-dojo", "aws-prod", 5253
    )
    assert parse_link(artifact, KOSLI) == KosliArtifact(
        artifact, "app.kosli.com", "cyber-dojo", "runner-ci", FINGERPRINT
    )
    assert parse_link(trail, KOSLI) == KosliTrail(
        trail, "app.kosli.com", "cyber-dojo", "differ-ci", named
    )


def test_other_kosli_pages_and_other_hosts_are_not_links_to_read() -> None:
    for url in (
        "https://app.kosli.com/cyber-dojo/flows/production-promotion",
        "https://app.kosli.com/api/v2/snapshots/cyber-dojo/aws-prod/5250",
        "https://app.kosli.com/settings/profile",
        "https://app.kosli.com/cyber-dojo/environments/aws-prod/snapshots/latest",
        "https://evil.example/cyber-dojo/environments/aws-prod/snapshots/5253",
        "ftp://app.kosli.com/cyber-dojo/environments/aws-prod/snapshots/5253",
        "https://[::1/cyber-dojo",
        "https://app.kosli.com:99999/x",
    ):
        assert parse_link(url, KOSLI) is None, url


def test_commit_links_of_github_and_gitlab() -> None:
    github = f"https://github.com/cyber-dojo/creator/commit/{CREATOR}"
    gitlab = f"https://gitlab.com/cyber-dojo/group/creator/-/commit/{CREATOR[:8]}"
    assert parse_link(github, KOSLI) == CommitLink(github, "github", "cyber-dojo/creator", CREATOR)
    assert parse_link(gitlab, KOSLI) == CommitLink(
        gitlab, "gitlab", "cyber-dojo/group/creator", CREATOR[:8]
    )
    for url in (
        f"https://github.com/cyber-dojo/creator/blob/{CREATOR}/README.md",
        f"https://github.com/a/b/c/commit/{CREATOR}",  # no such GitHub path
        "https://github.com/cyber-dojo/creator/commit/not-a-sha",
        f"https://bitbucket.org/cyber-dojo/creator/commits/{CREATOR}",
    ):
        assert parse_link(url, KOSLI) is None, url


def test_a_message_in_slacks_markup_names_each_thing_once_in_order() -> None:
    snapshot = "https://app.kosli.com/cyber-dojo/environments/aws-prod/snapshots/5253"
    text = (
        f"<@U0ONCALL> in <#C0123ABCD|incident> is it <{snapshot}|this>? or <{snapshot}>, "
        f"<https://github.com/cyber-dojo/creator/commit/{CREATOR}|b7a5908>; "
        f"also b7a5908 and {FINGERPRINT}. Not 1234567, decade, defaced or C0123ABCD."
    )
    assert find(text, KOSLI) == (
        KosliSnapshot(snapshot, "app.kosli.com", "cyber-dojo", "aws-prod", 5253),
        CommitLink("", "github", "cyber-dojo/creator", CREATOR),
        Sha("b7a5908"),
        Sha(FINGERPRINT),
    )


def test_what_looks_like_a_sha() -> None:
    assert is_sha("b7a5908") and is_sha(CREATOR) and is_sha(FINGERPRINT)
    assert is_sha("1" * 40)  # a full sha may be all digits
    for word in ("1234567", "deadbeef", "B7A5908", "b7a59", CREATOR + "0", "g7a5908"):
        assert not is_sha(word), word


def test_a_message_full_of_shas_asks_about_the_first_few() -> None:
    text = " ".join(f"{i:07x}a" for i in range(1000, 3000))
    found = find(text, KOSLI)
    assert len(found) == MAX_FOUND
    assert found[0] == Sha("00003e8a")


# Pieces of links and shas, shuffled into junk.
pieces = [*"<>|:/.#@-_ \n`'\"?=&%[]0123456789abcdefABCDEF", "https://", "app.kosli.com/"]
pieces += ["github.com/", "/commit/", "/environments/", "/snapshots/", "/flows/", "/artifacts/"]
junk = st.lists(st.sampled_from(pieces), max_size=200).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.one_of(junk, st.text(max_size=400)))
def test_junk_never_raises_and_finds_what_it_returns_in_the_text(text: str) -> None:
    for found in find(text, KOSLI):
        if isinstance(found, Sha):
            assert found.value in text and is_sha(found.value)
        else:
            assert found.url in text


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(["<", "https://", "a1", "<https://app.kosli.com/", "|", "a" * 39 + "1 "]))
def test_forty_kilobytes_of_junk_are_read_in_bounded_time(piece: str) -> None:
    text = piece * (MAX_TEXT // len(piece) + 1_000)  # beyond what is read
    started = time.perf_counter()
    assert len(find(text, KOSLI)) <= MAX_FOUND
    assert time.perf_counter() - started < 1.0  # a quadratic scan would take minutes

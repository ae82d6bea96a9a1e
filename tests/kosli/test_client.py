"""The Kosli client against the sandbox's real HTTP API."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import pytest
from freezegun import freeze_time

from bot.commands.dispatch import kosli_fault
from bot.kosli import (
    KosliAnswerTooLarge,
    KosliBadRequest,
    KosliBadResponse,
    KosliClient,
    KosliError,
    KosliNotFound,
    KosliUnauthorized,
    KosliUnavailable,
    parse_snappish,
)
from bot.kosli.attestations import Assertion, AttestationStatus
from bot.kosli.client import _retry_after_seconds
from tests.conftest import SANDBOX_TOKEN

T = TypeVar("T")


def call(kosli, use: Callable[[KosliClient], Awaitable[T]], token: str = SANDBOX_TOKEN):
    """Run one client call in a fresh event loop; return its result and the sleeps it took."""
    slept: list[float] = []

    async def record_sleep(seconds: float) -> None:
        slept.append(seconds)

    async def run() -> T:
        client = KosliClient(kosli.base_url, "cyber-dojo", token, timeout=5, sleep=record_sleep)
        try:
            return await use(client)
        finally:
            await client.aclose()

    return asyncio.run(run()), slept


@dataclass
class Canned:
    """What a canned server needs to stand in for the sandbox in `call`."""

    base_url: str
    paths: list[str] = field(default_factory=list)  # path with query, in arrival order


class Quiet(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass  # keep test output quiet


@contextmanager
def served(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """`handler` answering on 127.0.0.1 in a thread of its own; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextmanager
def canned_server(
    status: int, body: Any, headers: dict[str, str] | None = None
) -> Iterator[Canned]:
    """A tiny HTTP server on 127.0.0.1 answering every GET with `status` and `body` as JSON
    (and `headers`)."""
    payload = json.dumps(body).encode()
    canned = Canned("")

    class Handler(Quiet):
        def do_GET(self) -> None:
            canned.paths.append(self.path)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

    with served(Handler) as canned.base_url:
        yield canned


def test_snapshot_paths_are_escaped_like_the_cli(kosli) -> None:
    snapshot, _ = call(kosli, lambda c: c.snapshot(parse_snappish("aws-prod#176")))
    assert snapshot.index == 176 and snapshot.env == "aws-prod"
    call(kosli, lambda c: c.snapshot(parse_snappish("aws-prod~1")))
    call(kosli, lambda c: c.snapshot(parse_snappish("aws-prod")))
    paths = [path for _, path in kosli.requests]
    assert paths == [
        "/api/v2/snapshots/cyber-dojo/aws-prod/%23176",
        "/api/v2/snapshots/cyber-dojo/aws-prod/~1",
        "/api/v2/snapshots/cyber-dojo/aws-prod/-1",
    ]


def test_nth_from_latest_is_sent_in_documented_forms(kosli) -> None:
    latest, _ = call(kosli, lambda c: c.snapshot(parse_snappish("aws-prod#-1")))
    before, _ = call(kosli, lambda c: c.snapshot(parse_snappish("aws-prod#-2")))
    assert (latest.index, before.index) == (177, 176)
    diff, _ = call(
        kosli,
        lambda c: c.diff(parse_snappish("aws-prod#-2"), parse_snappish("aws-prod#-1")),
    )
    assert (diff.before, diff.after) == ("aws-prod#176", "aws-prod#177")
    assert [path for _, path in kosli.requests] == [
        "/api/v2/snapshots/cyber-dojo/aws-prod/-1",
        "/api/v2/snapshots/cyber-dojo/aws-prod/~1",
        "/api/v2/env-diff/cyber-dojo?snappish1=aws-prod~1&snappish2=aws-prod~0",
    ]


def test_latest_snapshot_lists_running_and_just_exited(kosli) -> None:
    snapshot, _ = call(kosli, lambda c: c.snapshot(parse_snappish("aws-prod#177")))
    exited = [a for a in snapshot.artifacts if not a.running]
    assert [a.name.rsplit("/", 1)[-1] for a in exited] == ["creator:31dee35"]
    assert exited[0].change == "exited"
    running = {a.name.rsplit("/", 1)[-1] for a in snapshot.running}
    assert "creator:b7a5908" in running and "creator:31dee35" not in running


def test_diff_uses_env_diff_endpoint(kosli) -> None:
    diff, _ = call(
        kosli,
        lambda c: c.diff(parse_snappish("aws-prod#176"), parse_snappish("aws-prod#177")),
    )
    assert (diff.before, diff.after) == ("aws-prod#176", "aws-prod#177")
    assert [a.fingerprint[:8] for a in diff.only_before] == ["5d1c9265"]
    assert diff.only_after == ()
    assert kosli.requests[-1][1].startswith("/api/v2/env-diff/cyber-dojo?snappish1=aws-prod")


def test_snapshot_log_newest_first(kosli) -> None:
    rows, _ = call(kosli, lambda c: c.snapshots("aws-prod"))
    assert [r.index for r in rows] == list(range(177, 162, -1))
    assert rows[0].ended_at is None and rows[1].ended_at is not None


def test_artifacts_and_search(kosli) -> None:
    found, _ = call(kosli, lambda c: c.artifacts_by_fingerprint("web", "480735698cb9"))
    assert found[0].build_url == "https://github.com/cyber-dojo/web/actions/runs/2998616599"
    by_commit, _ = call(kosli, lambda c: c.artifacts_by_commit("creator", "b7a5908"))
    assert by_commit[0].fingerprint.startswith("860ad172")
    searched, _ = call(kosli, lambda c: c.search("b7a5908"))
    assert "aws-prod#177" in searched[0].running_in


def test_trail_by_flow_and_name(kosli) -> None:
    commit = "b7a590836cf140e17da3f01eadd5eca17d9efc65"
    trail, _ = call(kosli, lambda c: c.trail("creator", commit))
    assert trail.build_url == "https://github.com/cyber-dojo/creator/actions/runs/3000042785"
    assert (trail.name, trail.flow, trail.compliant) == (commit, "creator", True)
    with pytest.raises(KosliNotFound):
        call(kosli, lambda c: c.trail("creator", "no-such-trail"))
    assert kosli.requests[-1][1] == "/api/v2/trails/cyber-dojo/creator/no-such-trail"


def test_artifact_lookups_accept_one_bare_object(kosli) -> None:
    # Lists are covered above; here Kosli answers one artifact without the list around it.
    bare = json.dumps(
        {"filename": "creator:b7a5908", "flow_name": "creator", "fingerprint": "860ad172" * 8}
    )
    kosli.fail_next(200, body=bare)
    by_fingerprint, _ = call(kosli, lambda c: c.artifacts_by_fingerprint("creator", "860ad172"))
    kosli.fail_next(200, body=bare)
    by_commit, _ = call(kosli, lambda c: c.artifacts_by_commit("creator", "b7a5908"))
    for found in (by_fingerprint, by_commit):
        assert [(a.name, a.flow, a.fingerprint) for a in found] == [
            ("creator:b7a5908", "creator", "860ad172" * 8)
        ]
    assert [path for _, path in kosli.requests] == [
        "/api/v2/artifacts/cyber-dojo/creator/fingerprint/860ad172",
        "/api/v2/artifacts/cyber-dojo/creator/commit_sha/b7a5908",
    ]


def test_errors_map_to_meaningful_exceptions(kosli) -> None:
    with pytest.raises(KosliNotFound):
        call(kosli, lambda c: c.environment("nowhere"))
    with pytest.raises(KosliUnauthorized):
        call(kosli, lambda c: c.environments(), token="wrong-token")
    kosli.fail_next(200, body="{not json")
    with pytest.raises(KosliBadResponse):
        call(kosli, lambda c: c.environments())
    kosli.fail_next(200, body='[{"type": "ECS"}]')
    with pytest.raises(KosliBadResponse, match="'name' is missing"):
        call(kosli, lambda c: c.environments())


FASTAPI_DETAIL = [
    {"loc": ["query", "environment_name"], "msg": "field required", "type": "missing"},
    {"loc": ["path", "fingerprint", 0], "msg": "too short", "type": "string_too_short"},
]


RAISED: dict[int, type[KosliError]] = {
    400: KosliBadRequest,
    404: KosliNotFound,
    422: KosliBadRequest,
}


@pytest.mark.parametrize(
    ("status", "body", "words"),
    [
        (404, '{"message": "Environment x does not exist"}', "Environment x does not exist"),
        (400, '{"errors": "Invalid snapshot expression"}', "Invalid snapshot expression"),
        (400, '{"errors": ["first problem", "second problem"]}', "first problem; second problem"),
        (
            400,
            '{"errors": {"name": "is required", "type": ["is unknown", "is not K8S"]}}',
            "name: is required; type: is unknown; type: is not K8S",
        ),
        (404, '"Environment not found"', "Environment not found"),
        (404, "Environment not found\n", "Environment not found"),
        (404, "<html><body><h1>404 Not Found</h1></body></html>", "HTTP 404"),
        (404, "x" * 400, "HTTP 404"),
        (404, "\x00\x01\x02binary", "HTTP 404"),
        (422, '{"detail": "fingerprint is not valid"}', "fingerprint is not valid"),
        (
            422,
            json.dumps({"detail": FASTAPI_DETAIL}),
            "field required (query.environment_name); too short (path.fingerprint.0)",
        ),
        (400, "{}", "HTTP 400"),
        (400, "[" * 100_000 + "]" * 100_000, "HTTP 400"),  # deeper than orjson reads
        (409, '{"message": "Conflict here"}', "Kosli answered HTTP 409: Conflict here"),
    ],
)
def test_error_bodies_in_the_readers_words(kosli, status: int, body: str, words: str) -> None:
    kosli.fail_next(status, body=body)
    with pytest.raises(KosliError) as error:
        call(kosli, lambda c: c.environment("aws-prod"))
    assert type(error.value) is RAISED.get(status, KosliError)
    assert str(error.value) == words


def test_hostile_error_bodies_stay_on_one_short_line(kosli) -> None:
    forged = "no such env\n2026-01-01 INFO forged line\r\n\u001b[31mred\u2028\u202eend"
    kosli.fail_next(404, body=json.dumps({"message": forged}))
    with pytest.raises(KosliNotFound) as error:
        call(kosli, lambda c: c.environment("aws-prod"))
    assert str(error.value) == "no such env 2026-01-01 INFO forged line [31mred end"
    kosli.fail_next(400, body=json.dumps({"errors": ["a" * 1000]}))
    with pytest.raises(KosliBadRequest) as error:
        call(kosli, lambda c: c.environment("aws-prod"))
    assert len(str(error.value)) == 300 and str(error.value).endswith("a…")


ASSERT_ANSWER = {
    "compliant": False,
    "scope": "environment",
    "policy_evaluations": [{"policy_name": "prod", "status": "NON-COMPLIANT"}],
    "flows": [
        {
            "flow": "creator-ci",
            "trail": "b7a5908",
            "compliance_status": {
                "status": "INCOMPLETE",
                "attestations_statuses": [
                    {
                        "attestation_name": "pull-request",
                        "attestation_type": "pull_request",
                        "attestation_id": "763af9cc",
                        "status": "COMPLETE",
                        "is_compliant": True,
                        "unexpected": False,
                    },
                    {"attestation_name": "snyk", "attestation_type": "snyk", "status": "MISSING"},
                ],
            },
        },
        {"flow_name": "production-promotion", "trail_name": "promotion-one-43"},
        {
            "flow_name": "security",
            "trail_name": "weekly",
            "compliance_status": {
                "attestations_statuses": [
                    {"attestation_name": "pentest", "is_compliant": False, "unexpected": True}
                ]
            },
        },
    ],
    "html_url": "https://app.kosli.com/cyber-dojo/fingerprint/860ad172",
}


def test_asserts_reads_every_flows_attestations() -> None:
    with canned_server(200, ASSERT_ANSWER) as server:
        assertion, _ = call(server, lambda c: c.asserts("860ad172", environment="aws-prod"))
        call(server, lambda c: c.asserts("860ad172"))
    assert server.paths == [
        "/api/v2/asserts/cyber-dojo/fingerprint/860ad172?environment_name=aws-prod",
        "/api/v2/asserts/cyber-dojo/fingerprint/860ad172",
    ]
    assert assertion == Assertion(
        compliant=False,
        html_url="https://app.kosli.com/cyber-dojo/fingerprint/860ad172",
        attestations=(
            AttestationStatus(
                "pull-request", "pull_request", "COMPLETE", True, False, "creator-ci", "b7a5908"
            ),
            AttestationStatus("snyk", "snyk", "MISSING", None, False, "creator-ci", "b7a5908"),
            AttestationStatus("pentest", "", "", False, True, "security", "weekly"),
        ),
    )


def test_asserts_unknown_fingerprint_is_not_found() -> None:
    with (
        canned_server(404, {"message": "Artifact 860ad172 not found"}) as server,
        pytest.raises(KosliNotFound, match="Artifact 860ad172 not found"),
    ):
        call(server, lambda c: c.asserts("860ad172"))
    assert server.paths == ["/api/v2/asserts/cyber-dojo/fingerprint/860ad172"]


def _one_attestation(attestation: Any) -> dict[str, Any]:
    return {"flows": [{"compliance_status": {"attestations_statuses": [attestation]}}]}


@pytest.mark.parametrize(
    "answer",
    [
        [],
        {"compliant": "yes"},
        {"flows": {"creator-ci": {}}},
        {"flows": [{"flow": "x", "compliance_status": []}]},
        _one_attestation({"status": "MISSING"}),  # no name
        _one_attestation({"attestation_name": 7}),
        _one_attestation({"attestation_name": "snyk", "is_compliant": "no"}),
        _one_attestation("snyk"),
    ],
)
def test_assertion_with_wrong_types_is_a_bad_response(answer: Any) -> None:
    with pytest.raises(KosliBadResponse):
        Assertion.from_json(answer)


def test_retries_honour_retry_after_then_succeed(kosli) -> None:
    kosli.fail_next(429, headers={"Retry-After": "7"})
    kosli.fail_next(502)
    envs, slept = call(kosli, lambda c: c.environments())
    assert {e.name for e in envs} >= {"aws-beta", "aws-prod"}
    assert slept == [7.0, 1.0]  # Retry-After, then the second step of the backoff


def test_gives_up_after_three_attempts(kosli) -> None:
    kosli.fail_next(500, times=3)
    with pytest.raises(KosliUnavailable, match="HTTP 500"):
        call(kosli, lambda c: c.environments())
    assert len(kosli.requests) == 3


def test_a_kosli_that_cannot_be_reached_is_retried_then_unavailable() -> None:
    with socket.socket() as closed:  # a port nobody listens on once it is closed
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    nowhere = Canned(f"http://127.0.0.1:{port}")
    with pytest.raises(KosliUnavailable, match="could not be reached"):
        call(nowhere, lambda c: c.environments())


def test_a_kosli_slower_than_the_timeout_is_unavailable_at_once(kosli) -> None:
    kosli.latency = 0.5

    async def impatient() -> None:
        client = KosliClient(kosli.base_url, "cyber-dojo", SANDBOX_TOKEN, timeout=0.1)
        try:
            await client.environments()
        finally:
            await client.aclose()

    with pytest.raises(KosliUnavailable, match="did not answer in time"):
        asyncio.run(impatient())
    assert len(kosli.requests) == 1  # not retried: someone is waiting


@freeze_time("2022-09-06 14:56:28")
def test_retry_after_may_be_a_date() -> None:
    assert _retry_after_seconds("Tue, 06 Sep 2022 14:56:58 GMT") == 30.0
    assert _retry_after_seconds("2.5") == 2.5
    assert _retry_after_seconds("-5") == 0.0
    assert _retry_after_seconds("soon") is None


@pytest.mark.parametrize("flow", ["..", ".", "a/../b", "%2e%2e", "x%2Fy"])
def test_path_segments_can_never_leave_their_place(kosli, flow: str) -> None:
    with pytest.raises(KosliNotFound):
        call(kosli, lambda c: c.artifacts_by_fingerprint(flow, "5d1c926530"))
    path = kosli.requests[-1][1]
    assert path.startswith("/api/v2/artifacts/cyber-dojo/")
    assert path.endswith("/fingerprint/5d1c926530")
    assert path.count("/") == 7, path  # no segment was added or eaten


ENVIRONMENTS = Path(__file__).parents[1] / "data" / "cyber-dojo-environments.json"


def test_reads_logical_environments_from_kosli_published_list() -> None:
    """`kosli list environments --output=json` of cyber-dojo, as printed in Kosli's docs."""
    answer = json.loads(ENVIRONMENTS.read_text())
    answer[4].pop("included_environments")  # an old logical one may lack the field
    answer[5]["included_environments"] = ["aws-beta", "", 7, "aws-beta"]  # junk and repeats
    answer[0]["included_environments"] = "aws-prod"  # not a list: read as none
    with canned_server(200, answer) as server:
        envs, _ = call(server, lambda c: c.environments())
    logical = {e.name: e.included for e in envs if e.logical}
    assert logical == {"production": (), "staging": ("aws-beta",)}
    assert [e.included for e in envs if not e.logical] == [()] * 4
    with canned_server(200, json.loads(ENVIRONMENTS.read_text())[4]) as server:
        production, _ = call(server, lambda c: c.environment("production"))
    assert production.logical and production.last_reported_at is None
    assert production.included == ("aws-prod", "aws-prod-terraform-drift-detection")


@contextmanager
def endless_answer(declare_length: bool) -> Iterator[Canned]:
    """A Kosli answering 200 with a JSON list that goes on for 8 MB, in 64 kB writes, with
    or without saying its length first."""
    piece = b'{"name": "' + b"x" * 65_000 + b'"},'
    canned = Canned("")

    class Handler(Quiet):
        protocol_version = "HTTP/1.0"  # without a length, the end of the body is the close

        def do_GET(self) -> None:
            canned.paths.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            if declare_length:
                self.send_header("Content-Length", str(len(piece) * 128 + 2))
            self.end_headers()
            try:
                self.wfile.write(b"[")
                for _ in range(128):
                    self.wfile.write(piece)
                self.wfile.write(b"{}]")
            except OSError:
                pass  # the client stopped reading: as it should

    with served(Handler) as canned.base_url:
        yield canned


@pytest.mark.parametrize("declare_length", [True, False])
def test_an_answer_beyond_the_byte_limit_is_refused_by_name(declare_length: bool) -> None:
    async def run(base_url: str) -> None:
        client = KosliClient(base_url, "cyber-dojo", "t", timeout=5, max_answer_bytes=2**20)
        try:
            await client.environments()
        finally:
            await client.aclose()

    with endless_answer(declare_length) as server, pytest.raises(KosliAnswerTooLarge) as refused:
        asyncio.run(run(server.base_url))
    assert str(refused.value) == "Kosli's answer was larger than 1 MB, more than the bot reads"
    assert len(server.paths) == 1  # not retried: the same answer would come again
    fault = kosli_fault(refused.value, "cyber-dojo")
    assert fault.startswith("Kosli's answer was larger than 1 MB") and "\n" not in fault
    assert "KOSLI_MAX_ANSWER_MB" in fault


@contextmanager
def trickling_answer() -> Iterator[Canned]:
    """A Kosli that answers at once, then sends its body a byte every 50 ms, for 3 s."""
    body = b"[" + b" " * 58 + b"]"
    canned = Canned("")

    class Handler(Quiet):
        def do_GET(self) -> None:
            canned.paths.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                for byte in body:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(0.05)
            except OSError:
                pass  # the client gave up: as it should

    with served(Handler) as canned.base_url:
        yield canned


def test_an_answer_trickling_in_past_the_timeout_is_unavailable() -> None:
    """The timeout is a deadline for the whole answer, not a wait between two reads."""

    async def impatient(base_url: str) -> None:
        client = KosliClient(base_url, "cyber-dojo", "t", timeout=0.5)
        try:
            await client.environments()
        finally:
            await client.aclose()

    with trickling_answer() as server, pytest.raises(KosliUnavailable, match="in time"):
        asyncio.run(impatient(server.base_url))
    assert len(server.paths) == 1

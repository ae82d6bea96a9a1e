"""The Kosli sandbox, exercised over real HTTP on 127.0.0.1."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest

from bot.sandbox import (
    CEST,
    TUTORIAL_NOW,
    KosliSandbox,
    RunningArtifact,
    cest,
    cyber_dojo,
)

ORG = "cyber-dojo"
AUTH = {"Authorization": "Bearer sandbox-token"}

CREATOR_31DEE35 = "5d1c926530213dadd5c9fcbf59c8822da56e32a04b0f9c774d7cdde3cf6ba66d"
CREATOR_B7A5908 = "860ad172ace5aee03e6a1e3492a88b3315ecac2a899d4f159f43ca7314290d5a"
WEB_6B1B6BC = "d4ab88ce200e88a07eda3c33fb18d7051a586e6b8e900fcea1063a13c4506446"
WEB_C3ADA4D = "480735698cb9e468bb16c4265fedb7507640d236b3ab53cf2e3ec09d3bd72063"
PROD_IMAGE = "274425519734.dkr.ecr.eu-central-1.amazonaws.com"
BETA_IMAGE = "244531986313.dkr.ecr.eu-central-1.amazonaws.com"

# The seed tutorial's `kosli env log aws-prod` FROM column, newest first.
SEED_FROM = [
    (177, "Tue, 06 Sep 2022 16:53:28 CEST"),
    (176, "Tue, 06 Sep 2022 16:52:28 CEST"),
    (175, "Tue, 06 Sep 2022 16:43:28 CEST"),
    (174, "Tue, 06 Sep 2022 16:42:28 CEST"),
    (173, "Tue, 06 Sep 2022 15:53:28 CEST"),
    (172, "Tue, 06 Sep 2022 15:52:28 CEST"),
    (171, "Tue, 06 Sep 2022 15:28:27 CEST"),
    (170, "Tue, 06 Sep 2022 15:27:28 CEST"),
    (169, "Mon, 05 Sep 2022 08:00:28 CEST"),
    (168, "Mon, 05 Sep 2022 07:59:28 CEST"),
    (167, "Sun, 04 Sep 2022 03:11:28 CEST"),
    (166, "Sun, 04 Sep 2022 03:10:28 CEST"),
    (165, "Fri, 02 Sep 2022 19:28:28 CEST"),
    (164, "Fri, 02 Sep 2022 19:27:28 CEST"),
    (163, "Fri, 02 Sep 2022 05:37:28 CEST"),
]


class Clock:
    """An explicit clock for the sandbox; tests move it by assignment."""

    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def shown(ts: float) -> str:
    return datetime.fromtimestamp(ts, CEST).strftime("%a, %d %b %Y %H:%M:%S CEST")


@pytest.fixture
def clock() -> Clock:
    return Clock(TUTORIAL_NOW)


@pytest.fixture
def sandbox(clock: Clock) -> Iterator[KosliSandbox]:
    with KosliSandbox(now=clock) as sb:
        yield sb


@pytest.fixture
def client(sandbox: KosliSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.base_url, headers=AUTH, timeout=5) as c:
        yield c


def snapshot(client: httpx.Client, env: str, snap_id: str) -> dict:
    response = client.get(f"/api/v2/snapshots/{ORG}/{env}/{snap_id}")
    assert response.status_code == 200, response.text
    return response.json()


def by_fingerprint(artifacts: list[dict], fingerprint: str) -> dict:
    return next(a for a in artifacts if a["fingerprint"] == fingerprint)


# -- plumbing -------------------------------------------------------------------------------------


def test_start_binds_loopback_and_records_requests(
    sandbox: KosliSandbox, client: httpx.Client
) -> None:
    assert sandbox.base_url.startswith("http://127.0.0.1:")
    client.get(f"/api/v2/snapshots/{ORG}/aws-prod", params={"page": 2, "per_page": 5})
    assert sandbox.requests[-1] == ("GET", f"/api/v2/snapshots/{ORG}/aws-prod?page=2&per_page=5")


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "x"}])
def test_a_missing_or_wrong_token_is_401_with_a_message(
    sandbox: KosliSandbox, headers: dict[str, str]
) -> None:
    response = httpx.get(f"{sandbox.base_url}/api/v2/environments/{ORG}", headers=headers)
    assert response.status_code == 401
    assert response.json()["message"]


def test_token_none_accepts_requests_without_authorization() -> None:
    with KosliSandbox(token=None) as sb:
        response = httpx.get(f"{sb.base_url}/api/v2/environments/{ORG}")
    assert response.status_code == 200


def test_unknown_org_and_unknown_path_answer_json_messages(client: httpx.Client) -> None:
    response = client.get("/api/v2/environments/acme")
    assert response.status_code == 403
    assert "acme" in response.json()["message"]
    response = client.get("/api/v2/nothing/here")
    assert response.status_code == 404
    assert response.json()["message"]


# -- environments ---------------------------------------------------------------------------------


def test_environment_list_is_a_plain_array(client: httpx.Client) -> None:
    envs = client.get(f"/api/v2/environments/{ORG}").json()
    assert [e["name"] for e in envs] == ["aws-beta", "aws-prod"]
    prod = envs[1]
    assert prod["type"] == "ECS"
    assert prod["state"] is True
    assert prod["last_reported_at"] == pytest.approx(cest("2022-09-06 16:53:28.093"))
    assert set(prod) >= {"description", "last_modified_at", "tags", "policies"}
    assert envs[0]["state"] is False  # beta#190 runs a rogue artifact


def test_environment_list_with_paging_is_an_object(client: httpx.Client) -> None:
    first = client.get(f"/api/v2/environments/{ORG}", params={"page": 1, "per_page": 1}).json()
    assert first["total_count"] == 2
    assert first["total_pages"] == 2
    assert [e["name"] for e in first["environments"]] == ["aws-beta"]
    second = client.get(f"/api/v2/environments/{ORG}", params={"page": 2, "per_page": 1}).json()
    assert [e["name"] for e in second["environments"]] == ["aws-prod"]


def test_one_environment_and_an_unknown_one(client: httpx.Client) -> None:
    assert client.get(f"/api/v2/environments/{ORG}/aws-prod").json()["name"] == "aws-prod"
    response = client.get(f"/api/v2/environments/{ORG}/aws-nope")
    assert response.status_code == 404
    assert "aws-nope" in response.json()["message"]


# -- snapshot list --------------------------------------------------------------------------------


def test_snapshot_list_reproduces_the_seed_env_log(client: httpx.Client) -> None:
    rows = client.get(f"/api/v2/snapshots/{ORG}/aws-prod", params={"page": 1}).json()
    assert [(r["index"], shown(r["from"])) for r in rows] == SEED_FROM
    assert rows[0]["to"] == 0
    assert all(r["to"] == older["from"] for older, r in zip(rows, rows[1:], strict=False))
    durations = {r["index"]: r["duration"] for r in rows}
    for index in (176, 174, 170, 166, 164):  # "59 seconds"
        assert 59 <= durations[index] < 60
    for index in (172, 168):  # "about a minute"
        assert 60 < durations[index] < 90
    assert 3 * 60 <= durations[177] < 4 * 60  # "3 minutes" at the tutorial's moment
    assert 9 * 60 <= durations[175] < 10 * 60
    assert 49 * 60 <= durations[173] < 50 * 60
    assert 13.5 * 3600 <= durations[163] < 14.5 * 3600  # "14 hours"
    assert all(r["compliant"] for r in rows)


def test_snapshot_list_paging_and_reverse(client: httpx.Client) -> None:
    url = f"/api/v2/snapshots/{ORG}/aws-prod"
    page2 = client.get(url, params={"page": 2, "per_page": 10}).json()
    assert [r["index"] for r in page2] == [167, 166, 165, 164, 163]
    assert client.get(url, params={"page": 3, "per_page": 10}).json() == []
    oldest = client.get(url, params={"per_page": 3, "reverse": "true"}).json()
    assert [r["index"] for r in oldest] == [163, 164, 165]


# -- one snapshot ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("snap_id", "index"),
    [
        ("-1", 177),
        ("%23176", 176),
        ("%23163", 163),
        ("%23-1", 177),
        ("%23-3", 175),
        ("~0", 177),
        ("~2", 175),
        ("@%7B2022-09-06T14:45:00%7D", 175),  # 16:45 CEST
        ("@%7B2022-09-06T14:43:28%7D", 174),  # #175 began at 16:43:28.127, just after
        ("@%7B1.hours.ago%7D", 173),  # the clock is 16:57 CEST: 15:57
        ("@%7B2.hours.ago%7D", 169),  # 14:57
        ("@%7B1.day.ago%7D", 169),  # Mon 16:57
        ("@%7B2.days.ago%7D", 167),  # Sun 16:57
    ],
)
def test_snapshot_id_forms(client: httpx.Client, snap_id: str, index: int) -> None:
    assert snapshot(client, "aws-prod", snap_id)["index"] == index


@pytest.mark.parametrize(
    "snap_id", ["%23abc", "%230", "~x", "@%7Bnot-a-date%7D", "@%7B1.fortnight.ago%7D", "176"]
)
def test_malformed_snapshot_ids_are_400(client: httpx.Client, snap_id: str) -> None:
    response = client.get(f"/api/v2/snapshots/{ORG}/aws-prod/{snap_id}")
    assert response.status_code == 400
    assert response.json()["message"]


@pytest.mark.parametrize(
    "snap_id",
    ["%23162", "%23178", "~15", "%23-16", "@%7B2022-09-01T00:00:00%7D", "@%7B1.weeks.ago%7D"],
)
def test_missing_snapshots_are_404(client: httpx.Client, snap_id: str) -> None:
    response = client.get(f"/api/v2/snapshots/{ORG}/aws-prod/{snap_id}")
    assert response.status_code == 404
    assert response.json()["message"]


def test_relative_times_follow_the_clock(client: httpx.Client, clock: Clock) -> None:
    clock.t = cest("2022-09-06 18:53:00")
    assert snapshot(client, "aws-prod", "@%7B2.hours.ago%7D")["index"] == 176  # 16:53 CEST


def test_snapshot_shape_and_the_incident_annotations(client: httpx.Client) -> None:
    s177 = snapshot(client, "aws-prod", "%23177")
    assert s177["type"] == "ECS"
    assert s177["compliant"] is True
    assert s177["timestamp"] == pytest.approx(cest("2022-09-06 16:53:28.093"))
    exited = by_fingerprint(s177["artifacts"], CREATOR_31DEE35)
    assert exited["name"] == f"{PROD_IMAGE}/creator:31dee35"
    assert exited["annotation"] == {"type": "exited", "was": 1, "now": 0}
    assert exited["creationTimestamp"] == [cest("2022-09-06 16:41:44")]
    assert exited["commit_url"] == (
        "https://github.com/cyber-dojo/creator/commit/31dee357844ab2f58a40d16f945dc5e35dcd6bc0"
    )
    running = [a for a in s177["artifacts"] if a["annotation"]["now"] > 0]
    assert len(running) == 10
    assert all(a["annotation"]["type"] == "unchanged" for a in running)
    assert all(a["pods"] is None and a["reasons_for_incompliance"] == [] for a in running)

    s176 = snapshot(client, "aws-prod", "%23176")
    started = by_fingerprint(s176["artifacts"], CREATOR_B7A5908)
    assert started["annotation"] == {"type": "started", "was": 0, "now": 1}
    assert started["flow_name"] == "creator"
    assert started["git_commit"] == "b7a590836cf140e17da3f01eadd5eca17d9efc65"
    assert started["creationTimestamp"] == [cest("2022-09-06 16:52:03")]
    both = by_fingerprint(s176["artifacts"], CREATOR_31DEE35)["annotation"]
    assert both["type"] == "unchanged"

    s169 = snapshot(client, "aws-prod", "%23169")
    web = by_fingerprint(s169["artifacts"], WEB_6B1B6BC)
    assert web["annotation"]["now"] == 1
    assert web["creationTimestamp"] == [cest("2022-09-02 05:32:00")]


def test_beta_latest_has_a_rogue_and_a_non_compliant_artifact(client: httpx.Client) -> None:
    s190 = snapshot(client, "aws-beta", "-1")
    assert s190["index"] == 190
    assert s190["compliant"] is False
    rogue = next(a for a in s190["artifacts"] if a["name"] == "docker.io/xmrig/xmrig:latest")
    assert rogue["flow_name"] == ""
    assert not rogue["git_commit"]
    assert rogue["commit_url"] is None
    assert rogue["compliant"] is False
    assert rogue["annotation"]["type"] == "started"
    flagged = [a for a in s190["artifacts"] if a["reasons_for_incompliance"]]
    assert [a["flow_name"] for a in flagged] == ["saver"]
    assert flagged[0]["compliant"] is False
    assert snapshot(client, "aws-beta", "%23188")["compliant"] is True


# -- env-diff ------------------------------------------------------------------------------------


def diff(client: httpx.Client, one: str, two: str) -> httpx.Response:
    return client.get(f"/api/v2/env-diff/{ORG}", params={"snappish1": one, "snappish2": two})


def test_diff_176_177_shows_creator_31dee35_gone(client: httpx.Client) -> None:
    answer = diff(client, "aws-prod#176", "aws-prod#177").json()
    assert answer["snappish1"]["snapshot_id"] == "aws-prod#176"
    assert answer["snappish2"]["snapshot_id"] == "aws-prod#177"
    [gone] = answer["snappish1"]["artifacts"]
    assert gone["fingerprint"] == CREATOR_31DEE35
    assert gone["name"] == f"{PROD_IMAGE}/creator:31dee35"
    assert gone["flow"] == "creator"
    assert gone["most_recent_timestamp"] == cest("2022-09-06 16:41:44")
    assert (gone["s1_instance_count"], gone["s2_instance_count"]) == (1, 0)
    assert answer["snappish2"]["artifacts"] == []  # the exited entry is not "running in #177"
    assert answer["changed"]["artifacts"] == []
    assert len(answer["not-changed"]["artifacts"]) == 10


def test_diff_accepts_tilde_and_bare_env(client: httpx.Client) -> None:
    answer = diff(client, "aws-prod~1", "aws-prod").json()
    assert answer["snappish1"]["snapshot_id"] == "aws-prod#176"
    assert answer["snappish2"]["snapshot_id"] == "aws-prod#177"
    earlier = diff(client, "aws-prod#175", "aws-prod#176").json()
    assert [a["fingerprint"] for a in earlier["snappish2"]["artifacts"]] == [CREATOR_B7A5908]


def test_diff_beta_189_against_prod_169_differs_only_in_web(client: httpx.Client) -> None:
    answer = diff(client, "aws-beta#189", "aws-prod#169").json()
    [beta_only] = answer["snappish1"]["artifacts"]
    [prod_only] = answer["snappish2"]["artifacts"]
    assert beta_only["name"] == f"{BETA_IMAGE}/web:c3ada4d"
    assert beta_only["fingerprint"] == WEB_C3ADA4D
    assert beta_only["most_recent_timestamp"] == cest("2022-09-06 10:28:40")
    assert prod_only["name"] == f"{PROD_IMAGE}/web:6b1b6bc"
    assert prod_only["fingerprint"] == WEB_6B1B6BC
    assert answer["changed"]["artifacts"] == []
    assert len(answer["not-changed"]["artifacts"]) == 9


@pytest.mark.parametrize(
    ("one", "two", "status"),
    [
        ("aws-nope", "aws-prod", 404),
        ("aws-prod#999", "aws-prod", 404),
        ("aws-prod#abc", "aws-prod", 400),
        ("aws-prod#1~2", "aws-prod", 400),
        ("#176", "aws-prod", 400),
        ("", "aws-prod", 400),
    ],
)
def test_diff_errors(client: httpx.Client, one: str, two: str, status: int) -> None:
    response = diff(client, one, two)
    assert response.status_code == status
    assert response.json()["message"]


# -- artifacts and search -------------------------------------------------------------------------


def test_artifact_by_fingerprint_prefix_tells_the_seed_history(client: httpx.Client) -> None:
    response = client.get(f"/api/v2/artifacts/{ORG}/web/fingerprint/4807356")
    [art] = response.json()
    assert art["filename"] == "cyberdojo/web:c3ada4d"
    assert art["fingerprint"] == WEB_C3ADA4D
    assert art["git_commit"] == "c3ada4dbd6bb9a66c27f24cec4b5a4c25cf9ce2b"
    assert art["build_url"] == "https://github.com/cyber-dojo/web/actions/runs/2998616599"
    assert art["html_url"] == f"https://app.kosli.com/cyber-dojo/flows/web/artifacts/{WEB_C3ADA4D}"
    assert art["state"] == "COMPLIANT"
    assert art["created_at"] == cest("2022-09-06 10:26:29")
    assert [(h["event"], shown(h["timestamp"])) for h in art["history"]] == [
        ("Artifact created", "Tue, 06 Sep 2022 10:26:29 CEST"),
        ("Deployment #50 to aws-beta environment", "Tue, 06 Sep 2022 10:27:42 CEST"),
        ("Started running in aws-beta#188 environment", "Tue, 06 Sep 2022 10:29:22 CEST"),
    ]
    assert art["running"] == [{"environment_name": "aws-beta", "snapshot_index": 190}]
    assert art["exited"] == []


def test_artifact_by_commit_prefix_knows_where_it_stopped(client: httpx.Client) -> None:
    [art] = client.get(f"/api/v2/artifacts/{ORG}/creator/commit_sha/31dee35").json()
    assert art["fingerprint"] == CREATOR_31DEE35
    assert art["running"] == []
    assert art["exited"] == [{"environment_name": "aws-prod", "snapshot_index": 177}]
    events = [h["event"] for h in art["history"]]
    assert events[0] == "Artifact created"
    assert events[-2:] == [
        "Started running in aws-prod#174 environment",
        "No longer running in aws-prod#177 environment",
    ]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("web/fingerprint/0000000", 404),
        ("nope/fingerprint/4807356", 404),
        ("creator/fingerprint/4807356", 404),  # web's fingerprint is not in creator's flow
        ("web/fingerprint/480", 400),
        ("web/commit_sha/not-hex", 400),
    ],
)
def test_artifact_errors(client: httpx.Client, path: str, status: int) -> None:
    response = client.get(f"/api/v2/artifacts/{ORG}/{path}")
    assert response.status_code == status
    assert response.json()["message"]


def test_every_artifact_in_a_snapshot_is_searchable(client: httpx.Client) -> None:
    fingerprints = {
        a["fingerprint"]
        for env, ids in (("aws-prod", range(163, 178)), ("aws-beta", range(180, 191)))
        for i in ids
        for a in snapshot(client, env, f"%23{i}")["artifacts"]
    }
    assert len(fingerprints) > 20
    for fingerprint in fingerprints:
        found = client.get(f"/api/v2/search/{ORG}/sha/{fingerprint}").json()
        assert found["resolved_to"]["full_match"] == fingerprint


def test_search_by_commit_finds_where_b7a5908_runs(client: httpx.Client) -> None:
    found = client.get(f"/api/v2/search/{ORG}/sha/b7a5908").json()
    assert found["resolved_to"]["type"] == "commit"
    assert found["resolved_to"]["full_match"] == "b7a590836cf140e17da3f01eadd5eca17d9efc65"
    assert found["resolved_to"]["commits"]["count"] == 1
    [art] = found["artifacts"]
    assert art["fingerprint"] == CREATOR_B7A5908
    assert art["has_provenance"] is True
    assert art["running_in"] == ["aws-prod#177"]
    assert art["exited_from"] == []
    assert art["compliance_state"] == "COMPLIANT"


def test_search_by_fingerprint_and_for_the_rogue(client: httpx.Client) -> None:
    found = client.get(f"/api/v2/search/{ORG}/sha/5D1C9265").json()
    assert found["resolved_to"]["type"] == "fingerprint"
    assert found["resolved_to"]["fingerprints"]["matches"] == [CREATOR_31DEE35]
    assert found["artifacts"][0]["exited_from"] == ["aws-prod#177"]

    s190 = snapshot(client, "aws-beta", "%23190")
    rogue = next(a for a in s190["artifacts"] if not a["flow_name"])
    [art] = client.get(f"/api/v2/search/{ORG}/sha/{rogue['fingerprint']}").json()["artifacts"]
    assert art["has_provenance"] is False
    assert art["flow"] == ""
    assert art["running_in"] == ["aws-beta#190"]
    assert [h["event"] for h in art["history"]] == ["Started running in aws-beta#190 environment"]


def test_search_misses_are_404(client: httpx.Client) -> None:
    response = client.get(f"/api/v2/search/{ORG}/sha/deadbeef00")
    assert response.status_code == 404
    assert response.json()["message"]


# -- fault injection ------------------------------------------------------------------------------


def test_fail_next_applies_once_then_clears(sandbox: KosliSandbox, client: httpx.Client) -> None:
    url = f"/api/v2/environments/{ORG}"
    sandbox.fail_next(500)
    first = client.get(url)
    assert first.status_code == 500
    assert first.json()["message"]
    assert client.get(url).status_code == 200


def test_fail_next_with_headers_body_and_times(sandbox: KosliSandbox, client: httpx.Client) -> None:
    url = f"/api/v2/environments/{ORG}"
    sandbox.fail_next(429, headers={"Retry-After": "1"}, times=2)
    sandbox.fail_next(200, body="not json")
    for _ in range(2):
        response = client.get(url)
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "1"
    garbled = client.get(url)
    assert garbled.status_code == 200
    assert garbled.text == "not json"
    assert client.get(url).json()[0]["name"] == "aws-beta"


def test_gate_holds_answers_until_released(sandbox: KosliSandbox) -> None:
    url = f"{sandbox.base_url}/api/v2/environments/{ORG}"
    sandbox.gate = threading.Event()
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(url, headers=AUTH, timeout=0.2)  # Kosli is "slow"

    answers: list[int] = []
    waiting = threading.Thread(
        target=lambda: answers.append(httpx.get(url, headers=AUTH).status_code)
    )
    waiting.start()
    sandbox.gate.set()
    waiting.join(timeout=5)
    assert answers == [200]


# -- adding snapshots and the clock ---------------------------------------------------------------


def test_add_snapshot_computes_annotations(sandbox: KosliSandbox, client: httpx.Client) -> None:
    # Roll creator back to 31dee35 and scale runner up, one minute after #177.
    s177 = snapshot(client, "aws-prod", "%23177")
    running = [a for a in s177["artifacts"] if a["annotation"]["now"] > 0]
    artifacts = []
    for a in running:
        if a["fingerprint"] == CREATOR_B7A5908:
            continue
        instances = 3 if a["flow_name"] == "runner" else a["annotation"]["now"]
        artifacts.append(
            RunningArtifact(
                name=a["name"],
                fingerprint=a["fingerprint"],
                flow_name=a["flow_name"],
                git_commit=a["git_commit"],
                commit_url=a["commit_url"],
                compliant=True,
                instances=instances,
                started_at=a["creationTimestamp"][0],
            )
        )
    exited = by_fingerprint(s177["artifacts"], CREATOR_31DEE35)
    artifacts.append(
        RunningArtifact(
            name=exited["name"],
            fingerprint=CREATOR_31DEE35,
            flow_name="creator",
            git_commit=exited["git_commit"],
            commit_url=exited["commit_url"],
            compliant=True,
            instances=1,
            started_at=cest("2022-09-06 16:54:01"),
        )
    )
    at = cest("2022-09-06 16:54:28.5")
    assert sandbox.add_snapshot("aws-prod", at, artifacts) == 178

    s178 = snapshot(client, "aws-prod", "-1")
    assert s178["index"] == 178
    kinds = {a["fingerprint"]: a["annotation"] for a in s178["artifacts"]}
    assert kinds[CREATOR_31DEE35] == {"type": "started", "was": 0, "now": 1}
    assert kinds[CREATOR_B7A5908] == {"type": "exited", "was": 1, "now": 0}
    runner = next(a for a in s178["artifacts"] if a["flow_name"] == "runner")
    assert runner["annotation"] == {"type": "changed", "was": 2, "now": 3}
    assert len(runner["creationTimestamp"]) == 3

    rows = client.get(f"/api/v2/snapshots/{ORG}/aws-prod", params={"per_page": 2}).json()
    assert [r["to"] for r in rows] == [0, at]  # #177 is closed by #178
    scaled = diff(client, "aws-prod#177", "aws-prod#178").json()["changed"]["artifacts"]
    assert [(a["s1_instance_count"], a["s2_instance_count"]) for a in scaled] == [(2, 3)]


def test_add_snapshot_of_a_new_artifact_makes_it_searchable(
    sandbox: KosliSandbox, client: httpx.Client
) -> None:
    miner = RunningArtifact(
        name="docker.io/evil/miner:1",
        fingerprint="ab" * 32,
        flow_name="",
        git_commit=None,
        commit_url=None,
        compliant=False,
        instances=1,
        started_at=cest("2022-09-06 16:55:00"),
    )
    index = sandbox.add_snapshot("aws-prod", cest("2022-09-06 16:55:30"), [miner])
    assert index == 178
    [art] = client.get(f"/api/v2/search/{ORG}/sha/abababab").json()["artifacts"]
    assert art["running_in"] == ["aws-prod#178"]
    assert client.get(f"/api/v2/environments/{ORG}/aws-prod").json()["state"] is False


def test_the_clock_hides_future_snapshots(client: httpx.Client, clock: Clock) -> None:
    clock.t = cest("2022-09-06 16:45:00")
    rows = client.get(f"/api/v2/snapshots/{ORG}/aws-prod").json()
    assert [r["index"] for r in rows] == list(range(175, 162, -1))
    assert rows[0]["to"] == 0
    assert rows[0]["duration"] == pytest.approx(clock.t - cest("2022-09-06 16:43:28.127"))
    assert snapshot(client, "aws-prod", "-1")["index"] == 175
    assert client.get(f"/api/v2/snapshots/{ORG}/aws-prod/%23176").status_code == 404
    env = client.get(f"/api/v2/environments/{ORG}/aws-prod").json()
    assert env["last_reported_at"] == pytest.approx(cest("2022-09-06 16:43:28.127"))
    assert client.get(f"/api/v2/search/{ORG}/sha/b7a5908").status_code == 404  # not built yet
    assert snapshot(client, "aws-beta", "-1")["index"] == 189

    clock.t = cest("2022-09-06 16:53:00")  # replaying forward reveals #176
    assert snapshot(client, "aws-prod", "-1")["index"] == 176


def test_cyber_dojo_returns_independent_copies() -> None:
    first, second = cyber_dojo(), cyber_dojo()
    first.environments[0].snapshots.clear()
    first.artifacts.clear()
    assert second.environments[0].snapshots[-1].index == 190
    assert second.artifacts

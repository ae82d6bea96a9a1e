"""The sandbox as a server on 127.0.0.1: its tokens, its orgs, and the faults tests inject."""

from __future__ import annotations

import threading

import httpx
import pytest

from bot.sandbox import ACME_NOW, TUTORIAL_NOW, KosliSandbox, cyber_dojo
from tests.sandbox import acme_api
from tests.sandbox.cyber_dojo_api import AUTH, ORG

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


# -- datasets -------------------------------------------------------------------------------------


def test_the_sandbox_picks_its_dataset_by_org() -> None:
    with KosliSandbox(now=lambda: TUTORIAL_NOW, token=None) as sb:
        envs = httpx.get(f"{sb.base_url}/api/v2/environments/cyber-dojo").json()
    assert [e["name"] for e in envs] == ["aws-beta", "aws-prod"]
    with KosliSandbox(org=acme_api.ORG, now=lambda: ACME_NOW, token=None) as sb:
        envs = httpx.get(f"{sb.base_url}/api/v2/environments/{acme_api.ORG}").json()
        assert httpx.get(f"{sb.base_url}/api/v2/environments/cyber-dojo").status_code == 403
    assert [e["name"] for e in envs] == ["prod", "staging", "eu-prod", "eu-staging", "production"]


def test_cyber_dojo_returns_independent_copies() -> None:
    first, second = cyber_dojo(), cyber_dojo()
    first.environments[0].snapshots.clear()
    first.artifacts.clear()
    assert second.environments[0].snapshots[-1].index == 190
    assert second.artifacts


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

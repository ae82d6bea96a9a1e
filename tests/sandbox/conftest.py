"""The sandbox served on 127.0.0.1: cyber-dojo on a clock each test moves, acme at its moment."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from bot.sandbox import ACME_NOW, TUTORIAL_NOW, KosliSandbox
from tests.sandbox import acme_api
from tests.sandbox.acme_api import Json
from tests.sandbox.cyber_dojo_api import AUTH, Clock


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


@pytest.fixture(scope="module")
def acme_client() -> Iterator[httpx.Client]:
    with (
        KosliSandbox(org=acme_api.ORG, now=lambda: ACME_NOW) as sb,
        httpx.Client(base_url=sb.base_url, headers=AUTH, timeout=5) as c,
    ):
        yield c


@pytest.fixture(scope="module")
def prod(acme_client: httpx.Client) -> dict[int, Json]:
    """Every prod snapshot of acme's story, by index."""
    return {
        i: acme_api.get(acme_client, f"/api/v2/snapshots/{acme_api.ORG}/prod/%23{i}")
        for i in acme_api.STORY
    }

"""Asking the sandbox's cyber-dojo organisation (the seed tutorial, 2022 shapes) over HTTP."""

from __future__ import annotations

from datetime import datetime

import httpx

from bot.sandbox import CEST

ORG = "cyber-dojo"
AUTH = {"Authorization": "Bearer sandbox-token"}

CREATOR_31DEE35 = "5d1c926530213dadd5c9fcbf59c8822da56e32a04b0f9c774d7cdde3cf6ba66d"
CREATOR_B7A5908 = "860ad172ace5aee03e6a1e3492a88b3315ecac2a899d4f159f43ca7314290d5a"
WEB_6B1B6BC = "d4ab88ce200e88a07eda3c33fb18d7051a586e6b8e900fcea1063a13c4506446"
WEB_C3ADA4D = "480735698cb9e468bb16c4265fedb7507640d236b3ab53cf2e3ec09d3bd72063"
PROD_IMAGE = "274425519734.dkr.ecr.eu-central-1.amazonaws.com"
BETA_IMAGE = "244531986313.dkr.ecr.eu-central-1.amazonaws.com"


class Clock:
    """An explicit clock for the sandbox; tests move it by assignment."""

    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def shown(ts: float) -> str:
    return datetime.fromtimestamp(ts, CEST).strftime("%a, %d %b %Y %H:%M:%S CEST")


def snapshot(client: httpx.Client, env: str, snap_id: str) -> dict:
    response = client.get(f"/api/v2/snapshots/{ORG}/{env}/{snap_id}")
    assert response.status_code == 200, response.text
    return response.json()


def by_fingerprint(artifacts: list[dict], fingerprint: str) -> dict:
    return next(a for a in artifacts if a["fingerprint"] == fingerprint)


def diff(client: httpx.Client, one: str, two: str) -> httpx.Response:
    return client.get(f"/api/v2/env-diff/{ORG}", params={"snappish1": one, "snappish2": two})

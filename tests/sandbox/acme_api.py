"""Asking the sandbox's acme organisation (today's Kosli shapes) over HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

ORG = "acme"
SAMPLE = Path(__file__).parents[1] / "data" / "aws-prod-snapshot-4357.json"
STORY = range(4350, 4364)
LSP_A97 = "a97ed054e38d484a0015cd658f1d593c03ea2a61"
LSP_95A = "95ab455dd7301b20c744f50b1cd015e4396aedce"
LSP_95A_FP = "1eea61094353db37c7ef3e9582e63f3427c5e01fe76b8210db985144d10088cf"
ECR = "390844186740.dkr.ecr.eu-west-1.amazonaws.com"
WORDS = {
    "started-compliant",
    "started-non-compliant",
    "exited",
    "unchanged",
    "changed",  # today: the same build's instances replaced, or its compliance changed
    "updated-provenance",
}

Json = Any


def get(client: httpx.Client, path: str, **params: str) -> Json:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def named(snapshot: Json, tag: str) -> Json:
    """The one artifact whose name contains `tag` (e.g. 'web:9b0e6d3')."""
    [found] = [a for a in snapshot["artifacts"] if tag in a["name"]]
    return found


def changes(snapshot: Json) -> dict[str, str]:
    """Short image name ('web:9b0e6d3') -> annotation type, for what changed."""
    return {
        a["name"].split("/")[-1].split("@")[0]: a["annotation"]["type"]
        for a in snapshot["artifacts"]
        if a["annotation"]["type"] != "unchanged"
    }


def failing_rules(artifact: Json, policy: str) -> list[Json]:
    [decision] = [d for d in artifact["policy_decisions"] if d["policy_name"] == policy]
    return [
        r for r in decision["rule_evaluations"] if not r["ignored"] and r["satisfied"] is not True
    ]

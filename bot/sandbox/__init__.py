"""An offline fake of Kosli's HTTP API: the cyber-dojo incident from the seed tutorial (2022
shapes) and the acme organisation (today's shapes)."""

from .acme import ACME_NOW, acme
from .api import Api, ApiError
from .cyber_dojo import CEST, TUTORIAL_NOW, cest, cyber_dojo
from .dataset import (
    Annotation,
    ArtifactRecord,
    Attestation,
    CommitInfo,
    Dataset,
    Environment,
    FlowTrail,
    HistoryEvent,
    Policy,
    RunningArtifact,
    Snapshot,
    SnapshotEntry,
)
from .policies import policy_decision
from .server import KosliSandbox

__all__ = [
    "ACME_NOW",
    "CEST",
    "TUTORIAL_NOW",
    "Annotation",
    "Api",
    "ApiError",
    "ArtifactRecord",
    "Attestation",
    "CommitInfo",
    "Dataset",
    "Environment",
    "FlowTrail",
    "HistoryEvent",
    "KosliSandbox",
    "Policy",
    "RunningArtifact",
    "Snapshot",
    "SnapshotEntry",
    "acme",
    "cest",
    "cyber_dojo",
    "policy_decision",
]

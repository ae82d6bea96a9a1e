"""An offline fake of Kosli's HTTP API with the cyber-dojo incident from the seed tutorial."""

from .api import Api, ApiError
from .cyber_dojo import CEST, TUTORIAL_NOW, cest, cyber_dojo
from .dataset import (
    Annotation,
    ArtifactRecord,
    Dataset,
    Environment,
    HistoryEvent,
    RunningArtifact,
    Snapshot,
    SnapshotEntry,
)
from .server import KosliSandbox

__all__ = [
    "CEST",
    "TUTORIAL_NOW",
    "Annotation",
    "Api",
    "ApiError",
    "ArtifactRecord",
    "Dataset",
    "Environment",
    "HistoryEvent",
    "KosliSandbox",
    "RunningArtifact",
    "Snapshot",
    "SnapshotEntry",
    "cest",
    "cyber_dojo",
]

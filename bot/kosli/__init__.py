"""Kosli's HTTP API: the client, its typed models and its errors. Nothing Slack-specific."""

from bot.kosli.client import KosliClient
from bot.kosli.errors import (
    KosliAnswerTooLarge,
    KosliBadRequest,
    KosliBadResponse,
    KosliError,
    KosliForbidden,
    KosliNotFound,
    KosliUnauthorized,
    KosliUnavailable,
)
from bot.kosli.snappish import Snappish, SnappishError, parse_snappish

__all__ = [
    "KosliBadRequest",
    "KosliAnswerTooLarge",
    "KosliBadResponse",
    "KosliClient",
    "KosliError",
    "KosliNotFound",
    "KosliForbidden",
    "KosliUnauthorized",
    "KosliUnavailable",
    "Snappish",
    "SnappishError",
    "parse_snappish",
]

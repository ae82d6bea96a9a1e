"""What a command's handler may use: Kosli queries, the channel's subscriptions, incident
threads, and the transport its answer goes out through."""

from __future__ import annotations

from dataclasses import dataclass

from bot.commands.incidents import IncidentThreads
from bot.commands.queries import Queries
from bot.commands.subscriptions import Subscriptions
from bot.transport import Transport


@dataclass(frozen=True)
class Services:
    queries: Queries
    subscriptions: Subscriptions
    incidents: IncidentThreads
    transport: Transport
    command_name: str = "/kosli"
    admins: frozenset[str] = frozenset()  # who may stop or silence alerts; empty: everyone

"""What the people running the bot watch: Prometheus series, served at GET /metrics."""

from __future__ import annotations

from prometheus_client import Counter

ALERTS_AS_TEXT = Counter(
    "kosli_bot_alerts_as_text_total",
    "Alerts Slack refused as they were, posted as a plain-text gist instead",
    ["reason"],
)
ALERTS_PARKED = Counter(
    "kosli_bot_alerts_parked_total",
    "Alerts Slack refused even as plain text: set aside so later alerts flow",
    ["reason"],
)

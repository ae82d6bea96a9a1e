"""What the people running the bot watch: Prometheus series, served at GET /metrics.

With several web workers, PROMETHEUS_MULTIPROC_DIR must be set before this module is imported
(`kosli-bot serve` does), so each process writes its series where the scrape reads them all."""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

LATENCY = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

COMMANDS_ANSWERED = Counter(
    "kosli_bot_commands_total",
    "Commands answered, by command and outcome (ok, refused, not_found, kosli, database, error)",
    ["command", "outcome"],
)
ANSWER_SECONDS = Histogram(
    "kosli_bot_answer_seconds", "Time to answer a command, by command", ["command"],
    buckets=LATENCY,
)  # fmt: skip
ACK_SECONDS = Histogram(
    "kosli_bot_ack_seconds", "Time to answer a request from Slack (the ack)", buckets=LATENCY
)
KOSLI_REQUESTS = Counter(
    "kosli_bot_kosli_requests_total",
    "Requests to Kosli by endpoint and HTTP status (0: no answer)",
    ["endpoint", "status"],
)
KOSLI_SECONDS = Histogram(
    "kosli_bot_kosli_request_seconds", "Kosli request latency by endpoint", ["endpoint"],
    buckets=LATENCY,
)  # fmt: skip
POLL_SECONDS = Histogram(
    "kosli_bot_poll_cycle_seconds", "Duration of one watcher cycle", buckets=LATENCY
)
# Read from the shared database by every worker: with several, the scrape shows the largest.
WATCHED = Gauge("kosli_bot_environments_watched", "Environments watched", multiprocess_mode="max")
IN_OUTAGE = Gauge(
    "kosli_bot_environments_in_outage",
    "Watched environments Kosli fails for",
    multiprocess_mode="max",
)
OUTBOX_PENDING = Gauge(
    "kosli_bot_outbox_pending", "Alerts in the outbox not yet sent", multiprocess_mode="max"
)
OUTBOX_OLDEST = Gauge(
    "kosli_bot_outbox_oldest_seconds",
    "Age of the oldest unsent alert (0 when none)",
    multiprocess_mode="max",
)
ALERTS_POSTED = Counter("kosli_bot_alerts_posted_total", "Alerts posted, by kind", ["kind"])
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
SLACK_ERRORS = Counter(
    "kosli_bot_slack_errors_total",
    "Slack Web API errors by Slack's error word (ratelimited: 429s beyond the retries)",
    ["error"],
)
WEBHOOKS = Counter(
    "kosli_bot_webhooks_total",
    "Kosli Actions webhooks by outcome (polled, seen, unwatched, or why refused)",
    ["outcome"],
)


def exposition() -> tuple[bytes, str]:
    """The scrape: this process's series, or every worker's when PROMETHEUS_MULTIPROC_DIR says
    several share the work (`kosli-bot serve` sets it for WEB_CONCURRENCY > 1)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # unannotated
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST

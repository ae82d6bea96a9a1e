"""GET /metrics: the Prometheus scrape, behind a bearer token when one is set."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from testkit.story import MINER, report_with


def test_metrics_are_served_for_prometheus(start_bot, kosli) -> None:
    bot = start_bot(run_watcher="true", kosli_poll_seconds="0.05")
    assert bot.ask("envs")["text"] == "2 environments in cyber-dojo"
    assert bot.ask("watch aws-prod", "watch")["text"].startswith("Watching aws-prod")
    report_with(kosli, MINER)
    bot.slack.wait_for("/api/chat.postMessage")  # the alert went out
    scraped = httpx.get(f"{bot.url}/metrics")
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(scraped.text)
        for s in family.samples
    }

    def value(name: str, **labels: str) -> float:
        return samples.get((name, tuple(sorted(labels.items()))), 0.0)

    assert value("kosli_bot_commands_total", command="envs", outcome="ok") >= 1
    assert value("kosli_bot_answer_seconds_count", command="envs") >= 1
    assert value("kosli_bot_ack_seconds_count") >= 2
    assert value("kosli_bot_kosli_requests_total", endpoint="environments", status="200") >= 1
    assert value("kosli_bot_kosli_request_seconds_count", endpoint="snapshots") >= 1
    assert value("kosli_bot_poll_cycle_seconds_count") >= 1
    assert value("kosli_bot_alerts_posted_total", kind="change") >= 1
    for family in (
        "kosli_bot_environments_watched", "kosli_bot_environments_in_outage",
        "kosli_bot_outbox_pending", "kosli_bot_outbox_oldest_seconds",
        "kosli_bot_alerts_parked_total", "kosli_bot_alerts_as_text_total",
        "kosli_bot_slack_errors_total", "kosli_bot_webhooks_total",
    ):  # fmt: skip
        assert f"# TYPE {family}" in scraped.text
    assert value("kosli_bot_environments_watched") == 1


def test_metrics_can_want_a_token(start_bot) -> None:
    bot = start_bot(metrics_token="scrape-me")
    assert httpx.get(f"{bot.url}/metrics").status_code == 401
    wrong = httpx.get(f"{bot.url}/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    right = httpx.get(f"{bot.url}/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert right.status_code == 200 and "kosli_bot_commands_total" in right.text

"""The ways in: the Starlette app, its door for Slack's requests, the probes, /metrics and
Kosli's webhook."""

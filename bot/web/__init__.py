"""The ways in: the Starlette app, its door for Slack's requests, the probes, /metrics, Kosli's
webhook, and Socket Mode's door. Bolt's listeners live below, in bot.slack."""

"""Bolt's listeners, one module per kind of Slack input, and the Bolt app that routes to them."""

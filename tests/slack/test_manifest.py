"""app_manifest.yml must agree with what the code registers and serves."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.commands.catalog import COMMANDS
from bot.config import Settings
from testkit.signing import sign, signed_json, slash_command_body
from tests.conftest import Bot

MANIFEST = yaml.safe_load((Path(__file__).parents[2] / "app_manifest.yml").read_text())
DEFAULT_COMMAND = Settings.__dataclass_fields__["slack_command"].default


def test_manifest_shape() -> None:
    assert MANIFEST["display_information"]["name"]
    assert MANIFEST["features"]["bot_user"]["display_name"]
    assert "commands" in MANIFEST["oauth_config"]["scopes"]["bot"]
    assert MANIFEST["settings"]["interactivity"]["is_enabled"] is True
    assert MANIFEST["settings"]["interactivity"]["request_url"].endswith("/slack/events")


def test_manifest_command_is_the_one_the_code_registers_and_its_hint_lists_them() -> None:
    (command,) = MANIFEST["features"]["slash_commands"]
    assert command["command"] == DEFAULT_COMMAND
    assert command["url"].endswith("/slack/events")
    assert len(command["usage_hint"]) <= 1000
    for name in (c.name for c in COMMANDS.commands):
        assert name in command["usage_hint"], f"usage_hint does not mention {name}"


def test_the_manifest_command_is_answered_and_others_are_not(bot: Bot) -> None:
    (command,) = MANIFEST["features"]["slash_commands"]
    body = slash_command_body("help", bot.slack.response_url(), command["command"])
    assert bot.post(body, sign(body)).status_code == 200
    other = slash_command_body("help", bot.slack.response_url(), "/not-ours")
    assert bot.post(other, sign(other)).status_code == 404


def test_manifest_events_and_scopes_match_what_the_app_handles(bot: Bot) -> None:
    settings = MANIFEST["settings"]
    assert settings["event_subscriptions"]["bot_events"] == ["app_mention"]
    assert settings["event_subscriptions"]["request_url"].endswith("/slack/events")
    scopes = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    # posting, the mention event, the timeline file, and reading back after a crash
    assert {"chat:write", "app_mentions:read", "files:write", "channels:history"} <= scopes
    for event_type, status in (("app_mention", 200), ("reaction_added", 404)):
        body, headers = signed_json(
            {
                "type": "event_callback",
                "team_id": "T1",
                "api_app_id": "A0KOSLIBOT",
                "event_id": f"Ev-{event_type}",
                "event_time": 1,
                "event": {
                    "type": event_type,
                    "user": "U0ONCALL",
                    "text": "<@UKOSLIBOT> help",
                    "ts": "1.000100",
                    "channel": "C0INCIDENT",
                },
            }
        )
        assert bot.post(body, headers).status_code == status

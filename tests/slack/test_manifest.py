"""app_manifest.yml must agree with what the code registers and serves."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.commands.catalog import COMMANDS
from bot.config import Settings
from bot.slack.links import SHORTCUT
from testkit.signing import sign, signed_action, signed_json, slash_command_body
from tests.conftest import Bot

MANIFEST_TEXT = (Path(__file__).parents[2] / "app_manifest.yml").read_text()
MANIFEST = yaml.safe_load(MANIFEST_TEXT)
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


EVENTS = ["app_mention", "app_home_opened", "link_shared", "app_uninstalled", "tokens_revoked"]
# Listened to in OAuth mode only (tests/web/test_oauth.py): with one workspace's token in
# the environment there is no installation to remove.
INSTALL_EVENTS = {"app_uninstalled", "tokens_revoked"}


def test_manifest_events_and_scopes_match_what_the_app_handles(bot: Bot) -> None:
    settings = MANIFEST["settings"]
    assert settings["event_subscriptions"]["bot_events"] == EVENTS
    assert settings["event_subscriptions"]["request_url"].endswith("/slack/events")
    scopes = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    # posting, the mention event, the timeline file, reading back after a crash, unfurls
    assert {
        "chat:write",
        "app_mentions:read",
        "files:write",
        "channels:history",
        "links:read",
        "links:write",
    } <= scopes
    handled = [(e, 200) for e in EVENTS if e not in INSTALL_EVENTS]
    for event_type, status in [*handled, ("reaction_added", 404)]:
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


def test_every_scope_says_why_it_is_asked_for() -> None:
    """Each scope line (or the group it starts) sits under a comment saying why."""
    lines = MANIFEST_TEXT.split("scopes:", 1)[1].split("settings:", 1)[0].splitlines()
    for number, line in enumerate(lines):
        if line.strip().startswith("- "):
            above = [text.strip() for text in lines[:number] if text.strip()]
            assert above and (above[-1].startswith("#") or above[-1].startswith("- ")), line
    groups = [line for line in lines if line.strip().startswith("#")]
    assert len(groups) >= 6


def test_home_tab_shortcut_unfurls_and_oauth_redirect() -> None:
    features = MANIFEST["features"]
    assert features["app_home"]["home_tab_enabled"] is True
    (where,) = features["shortcuts"]
    assert (where["type"], where["callback_id"]) == ("message", SHORTCUT)
    assert where["name"] == "Where is this running?" and len(where["description"]) <= 80
    assert features["unfurl_domains"] == ["app.kosli.com", "github.com", "gitlab.com"]
    (redirect,) = MANIFEST["oauth_config"]["redirect_urls"]
    assert redirect == "https://kosli-bot.example.com/slack/oauth_redirect"


def test_the_manifest_shortcut_is_acked_and_others_are_not(bot: Bot) -> None:
    (where,) = MANIFEST["features"]["shortcuts"]
    for callback_id, status in ((where["callback_id"], 200), ("not_ours", 404)):
        body, headers = signed_action(
            {
                "type": "message_action",
                "callback_id": callback_id,
                "team": {"id": "T1"},
                "user": {"id": "U0ONCALL"},
                "channel": {"id": "C0INCIDENT"},
                "message": {"type": "message", "text": "nothing here", "ts": "1.000100"},
                "trigger_id": "1.2.3",
            }
        )
        assert bot.post(body, headers).status_code == status

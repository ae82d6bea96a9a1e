import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.config import (
    DEFAULT_DATABASE_URL,
    ConfigError,
    KosliAccount,
    Settings,
    SlackCredentials,
    SlackOAuth,
    default_mode,
)

ROOT = Path(__file__).resolve().parent.parent
GOOD = {
    "SLACK_BOT_TOKEN": "xoxb-secret-bot-token",
    "SLACK_SIGNING_SECRET": "very-secret-signing",
    "KOSLI_API_TOKEN": "kosli-secret-token",
    "KOSLI_ORG": "cyber-dojo",
}


def test_defaults() -> None:
    settings = Settings.from_env(GOOD)
    assert settings.slack_command == "/kosli"
    assert settings.kosli_host == "https://app.kosli.com"
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.database_url.startswith("sqlite:///")
    assert settings.port == 3000
    assert settings.log_format == "text"
    assert settings.slack == SlackCredentials("xoxb-secret-bot-token", "very-secret-signing")
    assert settings.kosli == KosliAccount("cyber-dojo", "kosli-secret-token")


def test_overrides() -> None:
    settings = Settings.from_env(
        {
            **GOOD,
            "SLACK_COMMAND": "/kbot",
            "SLACK_API_URL": "http://127.0.0.1:9/api",
            "KOSLI_HOST": "https://app.us.kosli.com/",
            "SLACK_APP_TOKEN": "xapp-1-abc",
            "PORT": "8080",
            "DATABASE_URL": "postgresql://localhost/test",
            "LOG_FORMAT": " JSON ",
        }
    )
    assert settings.slack_command == "/kbot"
    assert settings.slack_api_url == "http://127.0.0.1:9/api/"
    assert settings.kosli_host == "https://app.us.kosli.com"
    assert settings.slack is not None and settings.slack.app_token == "xapp-1-abc"
    assert settings.port == 8080
    assert settings.database_url == "postgresql://localhost/test"
    assert settings.log_format == "json"


def test_every_problem_is_one_line_naming_its_variable_without_secrets() -> None:
    env = {
        "SLACK_BOT_TOKEN": "xoxp-user-token-secret",
        "SLACK_SIGNING_SECRET": "",
        "KOSLI_API_TOKEN": "kosli-secret-token",
        "PORT": "eighty",
        "KOSLI_HOST": "app.kosli.com",
        "SLACK_COMMAND": "kosli",
        "SLACK_APP_TOKEN": "xoxb-wrong-kind",
        "KOSLI_POLL_SECONDS": "abc",
        "LOG_FORMAT": "yaml",
    }
    with pytest.raises(ConfigError) as error:
        Settings.from_env(env)
    assert str(error.value).splitlines() == [
        "kosli-bot: SLACK_BOT_TOKEN must start with 'xoxb-'",
        "kosli-bot: SLACK_SIGNING_SECRET is not set",
        "kosli-bot: SLACK_APP_TOKEN must start with 'xapp-' (an app-level token)",
        "kosli-bot: KOSLI_ORG is not set",
        "kosli-bot: SLACK_COMMAND must look like '/kosli' or '/kbot', got 'kosli'",
        "kosli-bot: KOSLI_HOST must be an http(s) URL, got 'app.kosli.com'",
        "kosli-bot: KOSLI_POLL_SECONDS must be a number of seconds, got 'abc'",
        "kosli-bot: PORT must be a whole number, got 'eighty'",
        "kosli-bot: LOG_FORMAT must be text or json, got 'yaml'",
    ]
    assert "secret" not in str(error.value).lower().replace("signing_secret", "")


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("KOSLI_POLL_SECONDS", "0", "must be greater than 0, got '0'"),
        ("KOSLI_POLL_SECONDS", "nan", "must be greater than 0, got 'nan'"),
        ("KOSLI_TIMEOUT", "soon", "must be a number of seconds, got 'soon'"),
        ("WATCH_LEASE_SECONDS", "-1", "must be greater than 0, got '-1'"),
        ("DATABASE_WAIT_SECONDS", "30s", "must be a number of seconds, got '30s'"),
        ("PORT", "80.5", "must be a whole number, got '80.5'"),
        ("PORT", "70000", "must be between 1 and 65535, got '70000'"),
        ("RUN_WATCHER", "maybe", "must be true or false, got 'maybe'"),
        ("GITHUB_API_URL", "ftp://x", "must be an http(s) URL, got 'ftp://x'"),
    ],
)
def test_a_bad_value_is_one_line(name: str, value: str, problem: str) -> None:
    with pytest.raises(ConfigError) as error:
        Settings.from_env({**GOOD, name: value})
    assert str(error.value) == f"kosli-bot: {name} {problem}"


def test_numbers_in_seconds_may_be_fractions() -> None:
    settings = Settings.from_env({**GOOD, "KOSLI_POLL_SECONDS": "0.05", "KOSLI_TIMEOUT": "2"})
    assert (settings.poll_seconds, settings.kosli_timeout) == (0.05, 2.0)


def test_the_worker_needs_slack_and_kosli_too() -> None:
    with pytest.raises(ConfigError) as error:
        Settings.from_env({"KOSLI_API_TOKEN": "kosli-secret-token"}, mode="worker")
    assert error.value.problems == [
        "SLACK_BOT_TOKEN is not set",
        "SLACK_SIGNING_SECRET is not set",
        "KOSLI_ORG is not set",
    ]


def test_the_shell_needs_no_slack_and_no_kosli() -> None:
    settings = Settings.from_env({}, mode="shell")
    assert (settings.slack, settings.kosli, settings.database_url) == (None, None, None)
    # Slack's credentials are not the shell's business, even malformed ones.
    assert Settings.from_env({"SLACK_BOT_TOKEN": "xoxp-wrong"}, mode="shell").slack is None


def test_the_shell_on_real_kosli_and_its_other_settings() -> None:
    settings = Settings.from_env(
        {
            "KOSLI_API_TOKEN": "kosli-secret-token",
            "KOSLI_ORG": "acme",
            "KOSLI_POLL_SECONDS": "5",
            "DATABASE_URL": "sqlite:///shell.db",
            "SLACK_COMMAND": "/kbot",
        },
        mode="shell",
    )
    assert settings.kosli == KosliAccount("acme", "kosli-secret-token")
    assert (settings.poll_seconds, settings.database_url) == (5.0, "sqlite:///shell.db")
    assert settings.slack_command == "/kbot"


def test_the_shell_with_a_kosli_token_but_no_org_says_so() -> None:
    with pytest.raises(ConfigError) as error:
        Settings.from_env({"KOSLI_API_TOKEN": "kosli-secret-token"}, mode="shell")
    assert error.value.problems == [
        "KOSLI_ORG is not set, but KOSLI_API_TOKEN is: the shell talks to real Kosli with both "
        "(unset KOSLI_API_TOKEN for the offline sandbox)"
    ]
    # An org alone is no account: the shell stays on the sandbox.
    assert Settings.from_env({"KOSLI_ORG": "acme"}, mode="shell").kosli is None


def test_what_a_part_needs_is_named_when_missing() -> None:
    shell = Settings.from_env({}, mode="shell")
    for needs, names in (
        (shell.needs_slack, "SLACK_BOT_TOKEN is not set\nkosli-bot: SLACK_SIGNING_SECRET"),
        (shell.needs_kosli, "KOSLI_API_TOKEN is not set\nkosli-bot: KOSLI_ORG is not set"),
        (shell.needs_database, "DATABASE_URL is not set"),
    ):
        with pytest.raises(ConfigError, match=names):
            needs()
    served = Settings.from_env(GOOD)
    assert served.needs_slack() is served.slack
    assert served.needs_kosli() is served.kosli
    assert served.needs_database() == DEFAULT_DATABASE_URL


def test_default_mode() -> None:
    assert default_mode(GOOD) == ("serve", [])
    assert default_mode({"SLACK_BOT_TOKEN": "xoxb-1"}) == ("shell", ["SLACK_SIGNING_SECRET"])
    assert default_mode({}) == ("shell", ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"])


def test_settings_never_print_secrets() -> None:
    shown = repr(Settings.from_env(GOOD)) + str(Settings.from_env(GOOD))
    for secret in GOOD.values():
        if secret != "cyber-dojo":
            assert secret not in shown


def test_allowed_team_ids() -> None:
    assert Settings.from_env(GOOD).allowed_team_ids == frozenset()
    listed = Settings.from_env({**GOOD, "ALLOWED_TEAM_IDS": "T0123ABC, E9ORG ,"})
    assert listed.allowed_team_ids == frozenset({"T0123ABC", "E9ORG"})
    with pytest.raises(ConfigError, match="ALLOWED_TEAM_IDS must be Slack team ids"):
        Settings.from_env({**GOOD, "ALLOWED_TEAM_IDS": "T1,<script>"})


def test_admin_user_ids() -> None:
    assert Settings.from_env(GOOD).admin_user_ids == frozenset()
    named = Settings.from_env({**GOOD, "ADMIN_USER_IDS": "U0123ABC,W9GRID"})
    assert named.admin_user_ids == frozenset({"U0123ABC", "W9GRID"})
    with pytest.raises(ConfigError, match="ADMIN_USER_IDS must be Slack user ids"):
        Settings.from_env({**GOOD, "ADMIN_USER_IDS": "alice"})


def test_git_host_settings_and_their_tokens_stay_secret() -> None:
    default = Settings.from_env(GOOD)
    assert (default.github_api_url, default.gitlab_url) == (
        "https://api.github.com",
        "https://gitlab.com",
    )
    assert (default.github_token, default.gitlab_token) == (None, None)
    enterprise = Settings.from_env(
        {
            **GOOD,
            "GITHUB_API_URL": "https://ghe.example.com/api/v3/",
            "GITHUB_TOKEN": "ghp_never_shown",
            "GITLAB_URL": "https://git.acme.io",
            "GITLAB_TOKEN": "glpat-never-shown",
        }
    )
    assert enterprise.github_api_url == "https://ghe.example.com/api/v3"
    assert enterprise.github_token == "ghp_never_shown"
    shown = repr(enterprise) + str(enterprise)
    assert "never" not in shown
    with pytest.raises(ConfigError, match="GITLAB_URL must be an http"):
        Settings.from_env({**GOOD, "GITLAB_URL": "gitlab.com"})


def test_the_webhook_secret_must_be_a_real_lock() -> None:
    assert Settings.from_env(GOOD).kosli_webhook_secret is None
    good = Settings.from_env({**GOOD, "KOSLI_WEBHOOK_SECRET": "a1B2-c3D4_e5F6g7H8"})
    assert good.kosli_webhook_secret == "a1B2-c3D4_e5F6g7H8"
    assert "a1B2" not in repr(good)
    for weak in ("short", "has spaces in it 1234", "slash/es-are-paths-0123"):
        with pytest.raises(ConfigError, match="KOSLI_WEBHOOK_SECRET must be at least 16"):
            Settings.from_env({**GOOD, "KOSLI_WEBHOOK_SECRET": weak})


def test_web_concurrency() -> None:
    assert Settings.from_env(GOOD).web_concurrency == 1
    assert Settings.from_env({**GOOD, "WEB_CONCURRENCY": "4"}).web_concurrency == 4
    with pytest.raises(ConfigError, match="WEB_CONCURRENCY must be between 1 and 32, got '64'"):
        Settings.from_env({**GOOD, "WEB_CONCURRENCY": "64"})
    with pytest.raises(ConfigError, match="WEB_CONCURRENCY above 1 needs HTTP mode"):
        Settings.from_env({**GOOD, "WEB_CONCURRENCY": "2", "SLACK_APP_TOKEN": "xapp-1-abc"})


# ---- at the command line: one line per bad setting, exit 2, no traceback, no secret ----------


def start(mode: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", mode, *(["-c", "help"] if mode == "shell" else [])],
        cwd=ROOT,
        env={"PATH": os.environ.get("PATH", ""), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("mode", ["serve", "worker", "shell"])
def test_a_bad_value_at_start_is_one_line_naming_it(mode: str) -> None:
    result = start(mode, **GOOD, KOSLI_POLL_SECONDS="abc")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == "kosli-bot: KOSLI_POLL_SECONDS must be a number of seconds, got 'abc'\n"


@pytest.mark.parametrize("mode", ["serve", "worker"])
def test_serve_and_worker_name_the_slack_settings_they_miss(mode: str) -> None:
    result = start(mode, KOSLI_API_TOKEN="kosli-secret-token", KOSLI_ORG="cyber-dojo")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.splitlines() == [
        "kosli-bot: SLACK_BOT_TOKEN is not set",
        "kosli-bot: SLACK_SIGNING_SECRET is not set",
    ]


def test_a_bad_log_format_stops_serve_and_never_shows_a_secret() -> None:
    result = start("serve", **GOOD, LOG_FORMAT="xml", SLACK_APP_TOKEN="xoxb-secret-app")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "kosli-bot: SLACK_APP_TOKEN must start with 'xapp-' (an app-level token)",
        "kosli-bot: LOG_FORMAT must be text or json, got 'xml'",
    ]
    for secret in (*GOOD.values(), "xoxb-secret-app"):
        assert secret == "cyber-dojo" or secret not in result.stderr


def test_the_shell_with_slack_tokens_but_a_bad_setting_of_its_own() -> None:
    result = start("shell", **{**GOOD, "KOSLI_API_TOKEN": "", "KOSLI_HOST": "kosli"})
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == "kosli-bot: KOSLI_HOST must be an http(s) URL, got 'kosli'\n"


KEY = "Xb1Cbv8wAkgW0qkBvJ2Y2J4o8lTb0mWmX3F7f2cQk1s="  # a Fernet key made for this test
OAUTH = {
    "SLACK_CLIENT_ID": "1111.2222",
    "SLACK_CLIENT_SECRET": "very-secret-client",
    "SLACK_SIGNING_SECRET": "very-secret-signing",
    "BOT_ENCRYPTION_KEY": KEY,
}


def test_oauth_mode_needs_no_bot_token_and_no_kosli_account() -> None:
    for mode in ("serve", "worker"):
        settings = Settings.from_env(OAUTH, mode=mode)  # type: ignore[arg-type]
        assert (settings.slack, settings.kosli) == (None, None)
        assert settings.oauth == SlackOAuth(
            "1111.2222", "very-secret-client", "very-secret-signing", KEY
        )
    assert default_mode(OAUTH) == ("serve", [])
    assert default_mode({**OAUTH, "SLACK_SIGNING_SECRET": ""}) == (
        "shell",
        ["SLACK_SIGNING_SECRET"],
    )


def test_oauth_mode_reads_a_redirect_uri_and_a_list_of_keys() -> None:
    keys = f"{Fernet.generate_key().decode()}, {KEY}"
    settings = Settings.from_env(
        {
            **OAUTH,
            "BOT_ENCRYPTION_KEY": keys,
            "SLACK_REDIRECT_URI": "https://bot.example/slack/oauth_redirect",
        }
    )
    assert settings.needs_oauth().redirect_uri == "https://bot.example/slack/oauth_redirect"
    assert settings.needs_oauth().encryption_key == keys


def test_oauth_mode_needs_a_signing_secret_and_a_good_encryption_key() -> None:
    with pytest.raises(ConfigError) as error:
        Settings.from_env({**OAUTH, "SLACK_SIGNING_SECRET": "", "BOT_ENCRYPTION_KEY": ""})
    assert [line.split(" (")[0] for line in str(error.value).splitlines()] == [
        "kosli-bot: SLACK_SIGNING_SECRET is not set",
        "kosli-bot: BOT_ENCRYPTION_KEY is not set",
    ]
    wrong = "not-a-fernet-key-but-a-secret"
    with pytest.raises(ConfigError) as error:
        Settings.from_env({**OAUTH, "BOT_ENCRYPTION_KEY": f"{KEY},{wrong}"})
    assert str(error.value) == (
        "kosli-bot: BOT_ENCRYPTION_KEY key 2 is not a Fernet key (32 url-safe base64-encoded bytes)"
    )
    assert wrong not in str(error.value)


def test_oauth_mode_is_served_over_http() -> None:
    with pytest.raises(ConfigError, match="SLACK_APP_TOKEN is for single-workspace mode"):
        Settings.from_env({**OAUTH, "SLACK_APP_TOKEN": "xapp-1-abc"})
    with pytest.raises(ConfigError, match="SLACK_REDIRECT_URI must be an http"):
        Settings.from_env({**OAUTH, "SLACK_REDIRECT_URI": "bot.example/redirect"})


def test_oauth_settings_never_print_secrets() -> None:
    settings = Settings.from_env(OAUTH)
    shown = repr(settings) + str(settings) + repr(settings.oauth)
    for secret in ("very-secret-client", "very-secret-signing", KEY):
        assert secret not in shown
    assert "oauth=True" in shown


def test_one_oauth_credential_alone_is_single_workspace_mode() -> None:
    settings = Settings.from_env({**GOOD, "SLACK_CLIENT_ID": "1111.2222"})
    assert settings.oauth is None and settings.slack is not None

import pytest

from bot.config import ConfigError, Settings

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
    assert settings.slack_app_token is None


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
        }
    )
    assert settings.slack_command == "/kbot"
    assert settings.slack_api_url == "http://127.0.0.1:9/api/"
    assert settings.kosli_host == "https://app.us.kosli.com"
    assert settings.slack_app_token == "xapp-1-abc"
    assert settings.port == 8080


def test_every_problem_in_one_message_without_secrets() -> None:
    env = {
        "SLACK_BOT_TOKEN": "xoxp-user-token-secret",
        "SLACK_SIGNING_SECRET": "",
        "KOSLI_API_TOKEN": "kosli-secret-token",
        "PORT": "eighty",
        "KOSLI_HOST": "app.kosli.com",
        "SLACK_COMMAND": "kosli",
        "SLACK_APP_TOKEN": "xoxb-wrong-kind",
    }
    with pytest.raises(ConfigError) as error:
        Settings.from_env(env)
    message = str(error.value)
    for expected in (
        "SLACK_BOT_TOKEN must start with 'xoxb-'",
        "SLACK_SIGNING_SECRET is not set",
        "KOSLI_ORG is not set",
        "PORT must be a number",
        "KOSLI_HOST must be an http(s) URL",
        "SLACK_COMMAND must look like",
        "SLACK_APP_TOKEN must start with 'xapp-'",
    ):
        assert expected in message
    assert "secret" not in message.lower().replace("signing_secret", "")


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
    with pytest.raises(ConfigError, match="WEB_CONCURRENCY must be 32 or fewer"):
        Settings.from_env({**GOOD, "WEB_CONCURRENCY": "64"})
    with pytest.raises(ConfigError, match="WEB_CONCURRENCY above 1 needs HTTP mode"):
        Settings.from_env({**GOOD, "WEB_CONCURRENCY": "2", "SLACK_APP_TOKEN": "xapp-1-abc"})

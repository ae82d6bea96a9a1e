"""The seed's moment and the bot's settings against the sandbox Kosli and the fake Slack."""

from __future__ import annotations

from cryptography.fernet import Fernet

from bot.config import Settings
from bot.sandbox import KosliSandbox
from testkit.fakes.slack import FakeSlack
from testkit.signing import SIGNING_SECRET

SANDBOX_TOKEN = "sandbox-kosli-token"
# Three minutes after aws-prod#177 began, as in the seed's `kosli env log aws-prod`.
SEED_NOW = 1662476188.0


def bot_env(
    kosli: KosliSandbox, slack: FakeSlack, database_url: str, **overrides: object
) -> dict[str, str]:
    """The bot's environment variables against the sandbox Kosli and the fake Slack."""
    env = {
        "DATABASE_URL": database_url,
        "RUN_WATCHER": "false",
        "SLACK_BOT_TOKEN": "xoxb-test-bot-token",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "KOSLI_API_TOKEN": SANDBOX_TOKEN,
        "KOSLI_ORG": "cyber-dojo",
        "KOSLI_HOST": kosli.base_url,
        # The story's git history: never the internet.
        "GITHUB_API_URL": kosli.github_url,
        "GITLAB_URL": kosli.gitlab_url,
        "GITLAB_COM_URL": kosli.gitlab_url,
    }
    env.update({k.upper(): str(v) for k, v in overrides.items()})
    return env


def oauth_env(slack: FakeSlack, database_url: str, **overrides: str) -> dict[str, str]:
    """OAuth mode's environment variables: no bot token, no Kosli account; each workspace
    brings its own."""
    return {
        "DATABASE_URL": database_url,
        "SLACK_API_URL": slack.api_url,
        "SLACK_CLIENT_ID": "1111.2222",
        "SLACK_CLIENT_SECRET": "test-client-secret",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "BOT_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        **overrides,
    }


def settings_for(
    kosli: KosliSandbox, slack: FakeSlack, database_url: str, **overrides: object
) -> Settings:
    return Settings.from_env(bot_env(kosli, slack, database_url, **overrides))

"""One settings object for every entry point (`serve`, `worker`, `shell`), read from the
environment and validated once, at start. A bad value is one line naming the variable."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, TypeVar
from urllib.parse import urlparse

from bot.store.vault import VaultKeyInvalid, parse_keys

Mode = Literal["serve", "worker", "shell"]
LogFormat = Literal["text", "json"]
DEFAULT_DATABASE_URL = "sqlite:///kosli-bot.db"
# Without both, `kosli-bot` with no mode opens the shell instead of serving Slack.
SLACK_NEEDED = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
KOSLI_NEEDED = ("KOSLI_API_TOKEN", "KOSLI_ORG")
# With both, the app installs into many workspaces through Slack's OAuth (OAuth mode).
OAUTH_NEEDED = ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET")

T = TypeVar("T")


class ConfigError(Exception):
    """Every missing or malformed setting, one line each, never showing a secret."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(f"kosli-bot: {problem}" for problem in problems))


@dataclass(frozen=True)
class SlackCredentials:
    bot_token: str
    signing_secret: str
    app_token: str | None = None  # set: Socket Mode instead of a public URL


@dataclass(frozen=True)
class SlackOAuth:
    """OAuth mode: each workspace's bot token comes from its install, kept encrypted."""

    client_id: str
    client_secret: str
    signing_secret: str
    encryption_key: str  # BOT_ENCRYPTION_KEY: Fernet keys, newest first
    redirect_uri: str | None = None  # unset: Slack uses the app's one redirect URL

    def __repr__(self) -> str:
        return f"SlackOAuth(client_id={self.client_id!r}, redirect_uri={self.redirect_uri!r})"


@dataclass(frozen=True)
class KosliAccount:
    org: str
    api_token: str


@dataclass(frozen=True)
class Settings:
    # Both are always there for `serve` and `worker` in single-workspace mode; the shell does
    # without Slack, and without a Kosli account it talks to the offline sandbox. In OAuth mode
    # (`oauth` set) neither is: each workspace brings its bot token and its Kosli connection.
    slack: SlackCredentials | None
    kosli: KosliAccount | None
    oauth: SlackOAuth | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_command: str = "/kosli"
    kosli_host: str = "https://app.kosli.com"
    kosli_timeout: float = 15.0
    # None only in the shell when DATABASE_URL is unset: each session gets a scratch database.
    database_url: str | None = DEFAULT_DATABASE_URL
    database_wait_seconds: float = 30.0  # at start-up, before giving up on the database
    port: int = 3000
    web_concurrency: int = 1  # web worker processes (`serve`); each runs the watcher too
    poll_seconds: float = 60.0
    lease_seconds: float = 30.0  # how soon a dead process's polls and sends are taken over
    run_watcher: bool = True
    allowed_team_ids: frozenset[str] = frozenset()  # empty: the installed workspace only
    admin_user_ids: frozenset[str] = frozenset()  # empty: everyone may unwatch, mute, narrow, close
    # The git hosts that tell the commits between two builds; public repositories need no token.
    github_api_url: str = "https://api.github.com"
    github_token: str | None = None
    gitlab_url: str = "https://gitlab.com"
    gitlab_token: str | None = None
    # Where gitlab.com's own projects are asked when GITLAB_URL is a self-managed host.
    gitlab_com_url: str = "https://gitlab.com"
    kosli_webhook_secret: str | None = None  # POST /kosli/webhook/{secret}; off when unset
    metrics_token: str | None = None  # GET /metrics wants it as a bearer token when set
    # The most of one answer read; a bigger one fails with a named error, unread past this.
    kosli_max_answer_bytes: int = 50 * 2**20  # a snapshot of a big environment fits
    git_max_answer_bytes: int = 10 * 2**20  # a compare of 250 commits is a few MB
    log_format: LogFormat = "text"

    def __repr__(self) -> str:
        # Secrets stay out of logs and tracebacks even when the object is printed.
        org = self.kosli.org if self.kosli else None
        socket_mode = bool(self.slack and self.slack.app_token)
        return (
            f"Settings(kosli_org={org!r}, kosli_host={self.kosli_host!r}, "
            f"slack_command={self.slack_command!r}, slack_api_url={self.slack_api_url!r}, "
            f"socket_mode={socket_mode}, oauth={self.oauth is not None}, port={self.port})"
        )

    __str__ = __repr__

    def needs_slack(self) -> SlackCredentials:
        return _needed(self.slack, SLACK_NEEDED)

    def needs_oauth(self) -> SlackOAuth:
        return _needed(self.oauth, OAUTH_NEEDED)

    def needs_kosli(self) -> KosliAccount:
        return _needed(self.kosli, KOSLI_NEEDED)

    def needs_database(self) -> str:
        return _needed(self.database_url, ("DATABASE_URL",))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, mode: Mode = "serve") -> Settings:
        """`serve` and `worker` need Slack and Kosli (in OAuth mode, the app's OAuth settings
        and an encryption key instead); the shell reads no Slack credentials, and has a Kosli
        account only when KOSLI_API_TOKEN is set (else the sandbox stands in)."""
        env = os.environ if env is None else env
        problems: list[str] = []

        def text(name: str) -> str | None:
            return env.get(name, "").strip() or None

        def required(name: str, prefix: str = "") -> str:
            value = text(name) or ""
            if not value:
                problems.append(f"{name} is not set")
            elif prefix and not value.startswith(prefix):
                problems.append(f"{name} must start with '{prefix}'")
            return value

        def url(name: str, default: str) -> str:
            value = text(name) or default
            parsed = urlparse(value)
            if parsed.scheme not in ("http", "https") or not parsed.netloc:
                problems.append(f"{name} must be an http(s) URL, got {value!r}")
            return value

        def number(name: str, default: float, what: str = "a number") -> float:
            raw = text(name)
            if raw is None:
                return default
            try:
                value = float(raw)
            except ValueError:
                problems.append(f"{name} must be {what}, got {raw!r}")
                return default
            if not value > 0:  # also refuses nan
                problems.append(f"{name} must be greater than 0, got {raw!r}")
            return value

        def whole(name: str, default: int, most: int) -> int:
            raw = text(name)
            if raw is None:
                return default
            if not re.fullmatch(r"[0-9]+", raw):
                problems.append(f"{name} must be a whole number, got {raw!r}")
                return default
            value = int(raw)
            if not 0 < value <= most:
                problems.append(f"{name} must be between 1 and {most}, got {raw!r}")
            return value

        def encryption_key() -> str:
            value = text("BOT_ENCRYPTION_KEY") or ""
            if not value:
                problems.append(
                    "BOT_ENCRYPTION_KEY is not set (OAuth mode keeps every workspace's tokens "
                    "encrypted with it; see the README's install modes)"
                )
                return value
            try:
                parse_keys(value)
            except VaultKeyInvalid as error:
                problems.append(f"BOT_ENCRYPTION_KEY {error}")
            return value

        def ids(name: str, pattern: str, like: str) -> frozenset[str]:
            found = frozenset(i.strip() for i in env.get(name, "").split(",") if i.strip())
            if bad := sorted(i for i in found if not re.fullmatch(pattern, i)):
                problems.append(f"{name} must be {like}, got {bad}")
            return found

        slack: SlackCredentials | None = None
        oauth: SlackOAuth | None = None
        if mode != "shell" and is_oauth(env):
            oauth = SlackOAuth(
                client_id=required("SLACK_CLIENT_ID"),
                client_secret=required("SLACK_CLIENT_SECRET"),
                signing_secret=required("SLACK_SIGNING_SECRET"),
                encryption_key=encryption_key(),
                redirect_uri=url("SLACK_REDIRECT_URI", "") if text("SLACK_REDIRECT_URI") else None,
            )
            if text("SLACK_APP_TOKEN"):
                problems.append(
                    "SLACK_APP_TOKEN is for single-workspace mode: OAuth mode is served over "
                    "HTTP (unset SLACK_APP_TOKEN, or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET)"
                )
        elif mode != "shell":
            bot_token = required("SLACK_BOT_TOKEN", "xoxb-")
            signing_secret = required("SLACK_SIGNING_SECRET")
            app_token = text("SLACK_APP_TOKEN")
            if app_token and not app_token.startswith("xapp-"):
                problems.append("SLACK_APP_TOKEN must start with 'xapp-' (an app-level token)")
            slack = SlackCredentials(bot_token, signing_secret, app_token)

        kosli: KosliAccount | None = None
        if mode != "shell" and oauth is None:
            kosli = KosliAccount(org=required("KOSLI_ORG"), api_token=required("KOSLI_API_TOKEN"))
        elif shell_token := text("KOSLI_API_TOKEN"):
            if shell_org := text("KOSLI_ORG"):
                kosli = KosliAccount(org=shell_org, api_token=shell_token)
            else:
                problems.append(
                    "KOSLI_ORG is not set, but KOSLI_API_TOKEN is: the shell talks to real Kosli "
                    "with both (unset KOSLI_API_TOKEN for the offline sandbox)"
                )

        command = text("SLACK_COMMAND") or "/kosli"
        if not re.fullmatch(r"/[a-z0-9_-]{1,31}", command):
            problems.append(f"SLACK_COMMAND must look like '/kosli' or '/kbot', got {command!r}")
        slack_api_url = url("SLACK_API_URL", "https://slack.com/api/")
        kosli_host = url("KOSLI_HOST", "https://app.kosli.com")
        webhook_secret = text("KOSLI_WEBHOOK_SECRET")
        if webhook_secret is not None and (
            len(webhook_secret) < 16 or not re.fullmatch(r"[A-Za-z0-9_-]+", webhook_secret)
        ):
            problems.append(
                "KOSLI_WEBHOOK_SECRET must be at least 16 letters, digits, '-' or '_' "
                "(it is the webhook URL's only lock)"
            )
        github_api_url = url("GITHUB_API_URL", "https://api.github.com")
        gitlab_url = url("GITLAB_URL", "https://gitlab.com")
        gitlab_com_url = url("GITLAB_COM_URL", "https://gitlab.com")
        timeout = number("KOSLI_TIMEOUT", 15.0, "a number of seconds")
        poll_seconds = number("KOSLI_POLL_SECONDS", 60.0, "a number of seconds")
        lease_seconds = number("WATCH_LEASE_SECONDS", 30.0, "a number of seconds")
        database_wait = number("DATABASE_WAIT_SECONDS", 30.0, "a number of seconds")
        kosli_max_mb = number("KOSLI_MAX_ANSWER_MB", 50.0, "a number of megabytes")
        git_max_mb = number("GIT_MAX_ANSWER_MB", 10.0, "a number of megabytes")
        run_watcher = (text("RUN_WATCHER") or "true").lower()
        if run_watcher not in ("true", "false", "1", "0", "yes", "no"):
            problems.append(f"RUN_WATCHER must be true or false, got {run_watcher!r}")
        port = whole("PORT", 3000, 65535)
        workers = whole("WEB_CONCURRENCY", 1, 32)
        if workers > 1 and slack and slack.app_token:
            problems.append("WEB_CONCURRENCY above 1 needs HTTP mode: unset SLACK_APP_TOKEN")
        log_format = (text("LOG_FORMAT") or "text").lower()
        if log_format not in ("text", "json"):
            problems.append(f"LOG_FORMAT must be text or json, got {log_format!r}")
        teams = ids("ALLOWED_TEAM_IDS", r"[TE][A-Z0-9]{1,20}", "Slack team ids like T0123ABC")
        admins = ids("ADMIN_USER_IDS", r"[UW][A-Z0-9]{1,20}", "Slack user ids like U0123ABC")

        if problems:
            raise ConfigError(problems)
        return cls(
            slack=slack,
            kosli=kosli,
            oauth=oauth,
            slack_api_url=slack_api_url if slack_api_url.endswith("/") else slack_api_url + "/",
            slack_command=command,
            kosli_host=kosli_host.rstrip("/"),
            kosli_timeout=timeout,
            database_url=text("DATABASE_URL")
            or (None if mode == "shell" else DEFAULT_DATABASE_URL),
            database_wait_seconds=database_wait,
            port=port,
            web_concurrency=workers,
            poll_seconds=poll_seconds,
            lease_seconds=lease_seconds,
            run_watcher=run_watcher in ("true", "1", "yes"),
            allowed_team_ids=teams,
            admin_user_ids=admins,
            github_api_url=github_api_url.rstrip("/"),
            github_token=text("GITHUB_TOKEN"),
            gitlab_url=gitlab_url.rstrip("/"),
            gitlab_token=text("GITLAB_TOKEN"),
            gitlab_com_url=gitlab_com_url.rstrip("/"),
            kosli_webhook_secret=webhook_secret,
            metrics_token=text("METRICS_TOKEN"),
            kosli_max_answer_bytes=int(kosli_max_mb * 2**20),
            git_max_answer_bytes=int(git_max_mb * 2**20),
            log_format="json" if log_format == "json" else "text",
        )


def default_mode(env: Mapping[str, str] | None = None) -> tuple[Mode, list[str]]:
    """`kosli-bot` with no mode: serve when Slack's settings are there, else the shell (with
    the names of the missing ones, to say why)."""
    env = os.environ if env is None else env
    needed = (*OAUTH_NEEDED, "SLACK_SIGNING_SECRET") if is_oauth(env) else SLACK_NEEDED
    missing = [name for name in needed if not env.get(name, "").strip()]
    return ("shell" if missing else "serve"), missing


def is_oauth(env: Mapping[str, str]) -> bool:
    """OAuth mode: both of the app's OAuth credentials are set."""
    return all(env.get(name, "").strip() for name in OAUTH_NEEDED)


def _needed(value: T | None, names: tuple[str, ...]) -> T:
    # `from_env` refuses serve and worker without these; only settings made by hand lack them.
    if value is None:
        raise ConfigError([f"{name} is not set" for name in names])
    return value

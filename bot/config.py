"""One settings object, read from environment variables and validated at start."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlparse

DEFAULT_DATABASE_URL = "sqlite:///kosli-bot.db"


class ConfigError(Exception):
    """Every missing or malformed setting, in one message that never shows a secret."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"kosli-bot cannot start, fix these settings:\n{lines}")


@dataclass(frozen=True)
class Settings:
    slack_bot_token: str
    slack_signing_secret: str
    kosli_api_token: str
    kosli_org: str
    slack_app_token: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_command: str = "/kosli"
    kosli_host: str = "https://app.kosli.com"
    kosli_timeout: float = 15.0
    database_url: str = DEFAULT_DATABASE_URL
    database_wait_seconds: float = 30.0  # at start-up, before giving up on the database
    port: int = 3000
    web_concurrency: int = 1  # web worker processes (`serve`); each runs the watcher too
    poll_seconds: float = 60.0
    lease_seconds: float = 30.0  # how soon a dead process's polls and sends are taken over
    run_watcher: bool = True
    allowed_team_ids: frozenset[str] = frozenset()  # empty: the installed workspace only
    admin_user_ids: frozenset[str] = frozenset()  # empty: everyone may unwatch, mute, close
    # The git hosts that tell the commits between two builds; public repositories need no token.
    github_api_url: str = "https://api.github.com"
    github_token: str | None = None
    gitlab_url: str = "https://gitlab.com"
    gitlab_token: str | None = None
    kosli_webhook_secret: str | None = None  # POST /kosli/webhook/{secret}; off when unset
    metrics_token: str | None = None  # GET /metrics wants it as a bearer token when set

    def __repr__(self) -> str:
        # Secrets stay out of logs and tracebacks even when the object is printed.
        return (
            f"Settings(kosli_org={self.kosli_org!r}, kosli_host={self.kosli_host!r}, "
            f"slack_command={self.slack_command!r}, slack_api_url={self.slack_api_url!r}, "
            f"socket_mode={self.slack_app_token is not None}, port={self.port})"
        )

    __str__ = __repr__

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        problems: list[str] = []

        def required(name: str, prefix: str = "") -> str:
            value = env.get(name, "").strip()
            if not value:
                problems.append(f"{name} is not set")
            elif prefix and not value.startswith(prefix):
                problems.append(f"{name} must start with '{prefix}'")
            return value

        def url(name: str, default: str) -> str:
            value = env.get(name, "").strip() or default
            parsed = urlparse(value)
            if parsed.scheme not in ("http", "https") or not parsed.netloc:
                problems.append(f"{name} must be an http(s) URL, got {value!r}")
            return value

        def number(name: str, default: str, kind: type[int] | type[float]) -> float:
            raw = env.get(name, "").strip() or default
            try:
                value = kind(raw)
            except ValueError:
                problems.append(f"{name} must be a number, got {raw!r}")
                return kind(default)
            if value <= 0:
                problems.append(f"{name} must be greater than 0, got {raw!r}")
            return value

        bot_token = required("SLACK_BOT_TOKEN", "xoxb-")
        signing_secret = required("SLACK_SIGNING_SECRET")
        kosli_token = required("KOSLI_API_TOKEN")
        org = required("KOSLI_ORG")
        app_token = env.get("SLACK_APP_TOKEN", "").strip() or None
        if app_token and not app_token.startswith("xapp-"):
            problems.append("SLACK_APP_TOKEN must start with 'xapp-' (an app-level token)")
        command = env.get("SLACK_COMMAND", "").strip() or "/kosli"
        if not re.fullmatch(r"/[a-z0-9_-]{1,31}", command):
            problems.append(f"SLACK_COMMAND must look like '/kosli' or '/kbot', got {command!r}")
        slack_api_url = url("SLACK_API_URL", "https://slack.com/api/")
        kosli_host = url("KOSLI_HOST", "https://app.kosli.com")
        webhook_secret = env.get("KOSLI_WEBHOOK_SECRET", "").strip() or None
        if webhook_secret is not None and (
            len(webhook_secret) < 16 or not re.fullmatch(r"[A-Za-z0-9_-]+", webhook_secret)
        ):
            problems.append(
                "KOSLI_WEBHOOK_SECRET must be at least 16 letters, digits, '-' or '_' "
                "(it is the webhook URL's only lock)"
            )
        github_api_url = url("GITHUB_API_URL", "https://api.github.com")
        gitlab_url = url("GITLAB_URL", "https://gitlab.com")
        timeout = number("KOSLI_TIMEOUT", "15", float)
        poll_seconds = number("KOSLI_POLL_SECONDS", "60", float)
        lease_seconds = number("WATCH_LEASE_SECONDS", "30", float)
        run_watcher = env.get("RUN_WATCHER", "true").strip().lower()
        if run_watcher not in ("true", "false", "1", "0", "yes", "no"):
            problems.append(f"RUN_WATCHER must be true or false, got {run_watcher!r}")
        port = number("PORT", "3000", int)
        workers = number("WEB_CONCURRENCY", "1", int)
        if workers > 32:
            problems.append(f"WEB_CONCURRENCY must be 32 or fewer, got {workers:g}")
        if workers > 1 and app_token:
            problems.append("WEB_CONCURRENCY above 1 needs HTTP mode: unset SLACK_APP_TOKEN")
        database_url = env.get("DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL
        database_wait = number("DATABASE_WAIT_SECONDS", "30", float)
        teams = frozenset(
            t.strip() for t in env.get("ALLOWED_TEAM_IDS", "").split(",") if t.strip()
        )
        bad_teams = sorted(t for t in teams if not re.fullmatch(r"[TE][A-Z0-9]{1,20}", t))
        if bad_teams:
            problems.append(
                f"ALLOWED_TEAM_IDS must be Slack team ids like T0123ABC, got {bad_teams}"
            )

        admins = frozenset(u.strip() for u in env.get("ADMIN_USER_IDS", "").split(",") if u.strip())
        if bad_admins := sorted(u for u in admins if not re.fullmatch(r"[UW][A-Z0-9]{1,20}", u)):
            problems.append(
                f"ADMIN_USER_IDS must be Slack user ids like U0123ABC, got {bad_admins}"
            )

        if problems:
            raise ConfigError(problems)
        return cls(
            slack_bot_token=bot_token,
            slack_signing_secret=signing_secret,
            kosli_api_token=kosli_token,
            kosli_org=org,
            slack_app_token=app_token,
            slack_api_url=slack_api_url if slack_api_url.endswith("/") else slack_api_url + "/",
            slack_command=command,
            kosli_host=kosli_host.rstrip("/"),
            kosli_timeout=float(timeout),
            database_url=database_url,
            database_wait_seconds=float(database_wait),
            port=int(port),
            web_concurrency=int(workers),
            poll_seconds=float(poll_seconds),
            lease_seconds=float(lease_seconds),
            run_watcher=run_watcher in ("true", "1", "yes"),
            allowed_team_ids=teams,
            admin_user_ids=admins,
            github_api_url=github_api_url.rstrip("/"),
            github_token=env.get("GITHUB_TOKEN", "").strip() or None,
            gitlab_url=gitlab_url.rstrip("/"),
            gitlab_token=env.get("GITLAB_TOKEN", "").strip() or None,
            kosli_webhook_secret=webhook_secret,
            metrics_token=env.get("METRICS_TOKEN", "").strip() or None,
        )

"""The bot's command language: one parser for slash commands (and later @mentions and the shell)."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from bot.kosli.snappish import ACCEPTED_FORMS, Snappish, SnappishError, parse_snappish

_HEX = re.compile(r"[0-9a-fA-F]{5,64}")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/@-]*")


class CommandError(ValueError):
    """Input the bot cannot act on; the message tells the user what to type instead."""


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class ListEnvs:
    pass


@dataclass(frozen=True)
class ShowLog:
    env: str
    page: int = 1


@dataclass(frozen=True)
class ShowDiff:
    before: Snappish | None
    after: Snappish


@dataclass(frozen=True)
class FindArtifact:
    """`flow` set: Kosli's artifacts endpoint; unset: search by commit or fingerprint prefix."""

    sha: str
    flow: str = ""
    by_commit: bool = False


@dataclass(frozen=True)
class FindRunning:
    query: str

    @property
    def is_sha(self) -> bool:
        return bool(_HEX.fullmatch(self.query))


@dataclass(frozen=True)
class ExplainCompliance:
    """`why ENV [NAME]`: which policies and attestations the running artifacts fail."""

    snapshot: Snappish
    name: str = ""


@dataclass(frozen=True)
class Watch:
    envs: tuple[str, ...]
    risky_only: bool = False


@dataclass(frozen=True)
class Unwatch:
    env: str


@dataclass(frozen=True)
class ListWatching:
    pass


@dataclass(frozen=True)
class Mute:
    env: str
    duration: timedelta


@dataclass(frozen=True)
class Unmute:
    env: str


@dataclass(frozen=True)
class Window:
    """Where an incident's window begins: `back` from now, a UTC `since` time, or a snapshot."""

    back: timedelta | None = None
    since: datetime | None = None
    since_index: int | None = None


DEFAULT_BACK = timedelta(hours=4)
DEFAULT_WINDOW = Window(back=DEFAULT_BACK)


@dataclass(frozen=True)
class OpenIncident:
    envs: tuple[str, ...]
    window: Window = DEFAULT_WINDOW


@dataclass(frozen=True)
class CloseIncident:
    pass


Query = Help | ListEnvs | ShowLog | ShowDiff | FindArtifact | FindRunning | ExplainCompliance
Subscribing = Watch | Unwatch | ListWatching | Mute | Unmute
Incidents = OpenIncident | CloseIncident
Command = Query | Subscribing | Incidents

MAX_MUTE = timedelta(days=7)
_DURATION = re.compile(r"(\d{1,4})([mhd])")
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}

# name -> (arguments, what it does, example); `help` lists them in this order.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "diff": (
        "ENV | A B",
        "what started, stopped or was replaced between two snapshots",
        "diff aws-prod#176 aws-prod#177",
    ),
    "log": ("ENV [PAGE]", "the environment's snapshots, newest first", "log aws-prod"),
    "envs": ("", "environments with last report time and compliance", "envs"),
    "artifact": (
        "FLOW@FINGERPRINT | FLOW:COMMIT | SHA",
        "an artifact's commit, build, compliance and history",
        "artifact creator@5d1c9265",
    ),
    "where": ("COMMIT | FINGERPRINT | SERVICE", "where it is running now", "where creator"),
    "why": (
        "ENV [NAME]",
        "why it is non-compliant: each failing policy rule and attestation",
        "why aws-prod payments",
    ),
    "watch": (
        "ENV [ENV...] [--risky]",
        "post here when something changes (--risky: only non-compliant or rogue)",
        "watch aws-prod",
    ),
    "unwatch": ("ENV", "stop posting changes of ENV here", "unwatch aws-prod"),
    "watching": ("", "what this channel watches, with the last snapshot seen", "watching"),
    "mute": ("ENV DURATION", "hold alerts, summarised when the mute ends", "mute aws-prod 30m"),
    "unmute": ("ENV", "end a mute now", "unmute aws-prod"),
    "incident": (
        "ENV [ENV...] [2h | since 14:30 | since #170] | close",
        "open a thread of what changed in the window (UTC), change by change; close it",
        "incident aws-prod since #169",
    ),
    "help": ("", "this list", "help"),
}
_ALIASES = {"env log": "log", "env diff": "diff", "env list": "envs", "artifact get": "artifact"}


def parse_command(text: str, now: datetime | None = None) -> Command:
    """`now` (UTC) resolves "since 14:30" to the latest such moment; default: the clock."""
    words = text.split()
    if not words:
        return Help()
    name, args = words[0].lower(), words[1:]
    two_word = f"{name} {args[0].lower()}" if args else ""
    if two_word in _ALIASES:
        name, args = _ALIASES[two_word], args[1:]
    if name == "help":
        return Help()
    if name in ("envs", "environments"):
        _no_arguments(name, args)
        return ListEnvs()
    if name == "log":
        return _log(args)
    if name == "diff":
        return _diff(args)
    if name == "artifact":
        return _artifact(args)
    if name == "where":
        return _where(args)
    if name == "why":
        return _why(args)
    if name == "watch":
        return _watch(args)
    if name == "unwatch":
        return Unwatch(_env_name("unwatch", args[:1] if len(args) == 1 else []))
    if name == "watching":
        _no_arguments(name, args)
        return ListWatching()
    if name == "mute":
        return _mute(args)
    if name == "unmute":
        return Unmute(_env_name("unmute", args[:1] if len(args) == 1 else []))
    if name == "incident":
        return _incident(args, now or datetime.now(UTC))
    raise CommandError(_unknown(name))


def _usage(name: str) -> str:
    arguments, _, example = COMMANDS[name]
    return f"Usage: `{name} {arguments}`, for example `{example}`."


def _no_arguments(name: str, args: list[str]) -> None:
    if args:
        raise CommandError(f"`{name}` takes no arguments. {_usage(name)}")


def _unknown(name: str) -> str:
    close = difflib.get_close_matches(name, COMMANDS, n=1)
    hint = f" Did you mean `{close[0]}`?" if close else ""
    return f"I don't know the command `{name}`.{hint} Try `help` to see what I can do."


def _snappish(expression: str) -> Snappish:
    try:
        return parse_snappish(expression)
    except SnappishError as error:
        raise CommandError(f"{error}\nSnapshots can be written as {ACCEPTED_FORMS}.") from None


def _env_name(name: str, args: list[str]) -> str:
    snappish = _snappish(args[0]) if args else None
    if snappish is None or snappish.separator:
        raise CommandError(f"`{name}` needs an environment name. {_usage(name)}")
    return snappish.env


def _log(args: list[str]) -> ShowLog:
    env = _env_name("log", args)
    if len(args) > 2 or (len(args) == 2 and not re.fullmatch(r"[1-9]\d{0,4}", args[1])):
        raise CommandError(f"The page must be a number from 1. {_usage('log')}")
    return ShowLog(env, int(args[1]) if len(args) == 2 else 1)


def _diff(args: list[str]) -> ShowDiff:
    if len(args) not in (1, 2):
        raise CommandError(f"`diff` takes one or two snapshots. {_usage('diff')}")
    if len(args) == 2:
        return ShowDiff(_snappish(args[0]), _snappish(args[1]))
    after = _snappish(args[0])
    return ShowDiff(after.previous(), after)


def _artifact(args: list[str]) -> FindArtifact:
    if len(args) != 1:
        raise CommandError(f"`artifact` takes one artifact. {_usage('artifact')}")
    expression = args[0]
    for separator, by_commit in (("@", False), (":", True)):
        flow, found, sha = expression.partition(separator)
        if found:
            if not flow or not _HEX.fullmatch(sha):
                raise CommandError(
                    f"`{expression}` is not an artifact. Write `FLOW@FINGERPRINT` or "
                    f"`FLOW:COMMIT` with at least 5 hex characters. {_usage('artifact')}"
                )
            return FindArtifact(sha.lower(), flow, by_commit)
    if not _HEX.fullmatch(expression):
        raise CommandError(
            f"`{expression}` is not a commit or fingerprint (5 to 64 hex characters). "
            f"{_usage('artifact')}"
        )
    return FindArtifact(expression.lower())


def _where(args: list[str]) -> FindRunning:
    if len(args) != 1 or not _NAME.fullmatch(args[0]):
        raise CommandError(f"`where` takes one commit, fingerprint or service. {_usage('where')}")
    query = args[0]
    return FindRunning(query.lower() if _HEX.fullmatch(query) else query)


def _why(args: list[str]) -> ExplainCompliance:
    if len(args) not in (1, 2) or (len(args) == 2 and not _NAME.fullmatch(args[1])):
        raise CommandError(f"`why` takes an environment and maybe an artifact. {_usage('why')}")
    return ExplainCompliance(_snappish(args[0]), args[1] if len(args) == 2 else "")


def _watch(args: list[str]) -> Watch:
    risky_only = "--risky" in args
    names = [a for a in args if a != "--risky"]
    if not names:
        raise CommandError(f"`watch` needs at least one environment. {_usage('watch')}")
    envs = tuple(dict.fromkeys(_env_name("watch", [name]) for name in names))
    return Watch(envs, risky_only)


def _duration(text: str) -> timedelta | None:
    """`30m`, `2h`, `1d` as a timedelta; None when it is not one."""
    match = _DURATION.fullmatch(text.lower())
    return int(match[1]) * _UNITS[match[2]] if match else None


def _mute(args: list[str]) -> Mute:
    if len(args) != 2:
        raise CommandError(f"`mute` takes an environment and a duration. {_usage('mute')}")
    duration = _duration(args[1])
    if duration is None or not timedelta(0) < duration <= MAX_MUTE:
        raise CommandError(
            f"`{args[1]}` is not a duration I can mute for: use minutes, hours or days "
            f"up to 7 days, like `30m`, `2h` or `1d`. {_usage('mute')}"
        )
    return Mute(_env_name("mute", args[:1]), duration)


def _incident(args: list[str], now: datetime) -> Incidents:
    if [a.lower() for a in args] == ["close"]:
        return CloseIncident()
    window = DEFAULT_WINDOW
    lowered = [a.lower() for a in args]
    if "since" in lowered:
        at = lowered.index("since")
        window = _since(args[at + 1 :], now)
        args = args[:at]
    elif args and (back := _duration(args[-1])) is not None:
        args = args[:-1]
        window = Window(back=back)
    if not args:
        raise CommandError(f"`incident` needs an environment. {_usage('incident')}")
    envs = tuple(dict.fromkeys(_env_name("incident", [name]) for name in args))
    return OpenIncident(envs, window)


def _since(args: list[str], now: datetime) -> Window:
    value = args[0] if len(args) == 1 else ""
    if re.fullmatch(r"#[1-9]\d*", value):
        return Window(since_index=int(value[1:]))
    for layout in ("%H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"):
        try:
            moment = datetime.strptime(value, layout)
        except ValueError:
            continue
        if layout == "%H:%M":
            # The latest such time of day: "since 14:30" at 10:00 means yesterday's 14:30.
            today = datetime.combine(now.date(), time(moment.hour, moment.minute), UTC)
            return Window(since=today if today <= now else today - timedelta(days=1))
        return Window(since=moment.replace(tzinfo=UTC))
    raise CommandError(
        f"After `since` comes a UTC time like `14:30` or `2022-09-06T14:30`, or a snapshot "
        f"like `#170`. {_usage('incident')}"
    )

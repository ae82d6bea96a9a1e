"""The bot's command language: what each command asks for, and a pure parser per command.
The registry (bot/commands/) names them, adds usage to their errors, and dispatches."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from bot.kosli.snappish import ACCEPTED_FORMS, Snappish, SnappishError, parse_snappish


def may_administer(admins: frozenset[str], user: str) -> bool:
    """Who may narrow what a channel gets, close incidents or connect an org: the bot's
    admins (ADMIN_USER_IDS), or everyone when none are named."""
    return not admins or user in admins


_HEX = re.compile(r"[0-9a-fA-F]{5,64}")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/@-]{0,199}")


class CommandError(ValueError):
    """Input the bot cannot act on; the message tells the user what to type instead."""


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class ListEnvs:
    pass


@dataclass(frozen=True)
class Version:
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
class At:
    """An incident's start: a UTC moment, or the moment snapshot `index` was taken."""

    moment: datetime | None = None
    index: int | None = None


@dataclass(frozen=True)
class OpenIncident:
    envs: tuple[str, ...]
    window: Window = DEFAULT_WINDOW
    at: At | None = None  # None: when the command ran


@dataclass(frozen=True)
class FindSuspects:
    """`suspects ENV... [window] [at TIME]`: the changes before the start, ranked."""

    envs: tuple[str, ...]
    window: Window = DEFAULT_WINDOW
    at: At | None = None


@dataclass(frozen=True)
class MarkSuspect:
    """`mark cause|not-it ENV FINGERPRINT [NAME]`, inside an incident thread."""

    cause: bool
    env: str
    fingerprint: str
    name: str = ""


@dataclass(frozen=True)
class CloseIncident:
    pass


Incidents = OpenIncident | CloseIncident

MAX_MUTE = timedelta(days=7)
_DURATION = re.compile(r"(\d{1,4})([mhd])")
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}


def _no_arguments(name: str, args: list[str]) -> None:
    if args:
        raise CommandError(f"`{name}` takes no arguments.")


def parse_help(args: list[str], now: datetime) -> Help:
    return Help()  # `help anything` still helps


def parse_envs(args: list[str], now: datetime) -> ListEnvs:
    _no_arguments("envs", args)
    return ListEnvs()


def parse_version(args: list[str], now: datetime) -> Version:
    _no_arguments("version", args)
    return Version()


def parse_unwatch(args: list[str], now: datetime) -> Unwatch:
    return Unwatch(_env_name("unwatch", args[:1] if len(args) == 1 else []))


def parse_watching(args: list[str], now: datetime) -> ListWatching:
    _no_arguments("watching", args)
    return ListWatching()


def parse_unmute(args: list[str], now: datetime) -> Unmute:
    return Unmute(_env_name("unmute", args[:1] if len(args) == 1 else []))


def _snappish(expression: str) -> Snappish:
    try:
        return parse_snappish(expression)
    except SnappishError as error:
        raise CommandError(f"{error}\nSnapshots can be written as {ACCEPTED_FORMS}.") from None


def _env_name(name: str, args: list[str]) -> str:
    snappish = _snappish(args[0]) if args else None
    if snappish is None or snappish.separator:
        raise CommandError(f"`{name}` needs an environment name.")
    return snappish.env


def parse_log(args: list[str], now: datetime) -> ShowLog:
    env = _env_name("log", args)
    if len(args) > 2 or (len(args) == 2 and not re.fullmatch(r"[1-9]\d{0,4}", args[1])):
        raise CommandError("The page must be a number from 1.")
    return ShowLog(env, int(args[1]) if len(args) == 2 else 1)


def parse_diff(args: list[str], now: datetime) -> ShowDiff:
    if len(args) not in (1, 2):
        raise CommandError("`diff` takes one or two snapshots.")
    if len(args) == 2:
        return ShowDiff(_snappish(args[0]), _snappish(args[1]))
    after = _snappish(args[0])
    return ShowDiff(after.previous(), after)


def parse_artifact(args: list[str], now: datetime) -> FindArtifact:
    if len(args) != 1:
        raise CommandError("`artifact` takes one artifact.")
    expression = args[0]
    for separator, by_commit in (("@", False), (":", True)):
        flow, found, sha = expression.partition(separator)
        if found:
            if not flow or not _HEX.fullmatch(sha):
                raise CommandError(
                    f"`{expression}` is not an artifact. Write `FLOW@FINGERPRINT` or "
                    f"`FLOW:COMMIT` with at least 5 hex characters."
                )
            return FindArtifact(sha.lower(), flow, by_commit)
    if not _HEX.fullmatch(expression):
        raise CommandError(
            f"`{expression}` is not a commit or fingerprint (5 to 64 hex characters)."
        )
    return FindArtifact(expression.lower())


def parse_where(args: list[str], now: datetime) -> FindRunning:
    if len(args) != 1 or not _NAME.fullmatch(args[0]):
        raise CommandError("`where` takes one commit, fingerprint or service.")
    query = args[0]
    return FindRunning(query.lower() if _HEX.fullmatch(query) else query)


def parse_why(args: list[str], now: datetime) -> ExplainCompliance:
    if len(args) not in (1, 2) or (len(args) == 2 and not _NAME.fullmatch(args[1])):
        raise CommandError("`why` takes an environment and maybe an artifact.")
    return ExplainCompliance(_snappish(args[0]), args[1] if len(args) == 2 else "")


def parse_watch(args: list[str], now: datetime) -> Watch:
    risky_only = "--risky" in args
    names = [a for a in args if a != "--risky"]
    if not names:
        raise CommandError("`watch` needs at least one environment.")
    envs = tuple(dict.fromkeys(_env_name("watch", [name]) for name in names))
    return Watch(envs, risky_only)


def _duration(text: str) -> timedelta | None:
    """`30m`, `2h`, `1d` as a timedelta; None when it is not one."""
    match = _DURATION.fullmatch(text.lower())
    return int(match[1]) * _UNITS[match[2]] if match else None


def parse_mute(args: list[str], now: datetime) -> Mute:
    if len(args) != 2:
        raise CommandError("`mute` takes an environment and a duration.")
    duration = _duration(args[1])
    if duration is None or not timedelta(0) < duration <= MAX_MUTE:
        raise CommandError(
            f"`{args[1]}` is not a duration I can mute for: use minutes, hours or days "
            f"up to 7 days, like `30m`, `2h` or `1d`."
        )
    return Mute(_env_name("mute", args[:1]), duration)


def parse_incident(args: list[str], now: datetime) -> Incidents:
    if [a.lower() for a in args] == ["close"]:
        return CloseIncident()
    return OpenIncident(*_envs_window_at("incident", args, now))


def parse_suspects(args: list[str], now: datetime) -> FindSuspects:
    return FindSuspects(*_envs_window_at("suspects", args, now))


def _envs_window_at(
    name: str, args: list[str], now: datetime
) -> tuple[tuple[str, ...], Window, At | None]:
    """`ENV [ENV...] [2h | since TIME] [at TIME]`: the window before `at` (else before now)."""
    lowered = [a.lower() for a in args]
    at = None
    if "at" in lowered:
        where = lowered.index("at")
        at = _at(args[where + 1 :], now)
        args, lowered = args[:where], lowered[:where]
    window = DEFAULT_WINDOW
    if "since" in lowered:
        where = lowered.index("since")
        window = _since(args[where + 1 :], now)
        args = args[:where]
    elif args and (back := _duration(args[-1])) is not None:
        args = args[:-1]
        window = Window(back=back)
    if not args:
        raise CommandError(f"`{name}` needs an environment.")
    envs = tuple(dict.fromkeys(_env_name(name, [env]) for env in args))
    return envs, window, at


_TIME_FORMS = "a UTC time like `14:30` or `2022-09-06T14:30`, or a snapshot like `#170`"


def _time(args: list[str], now: datetime) -> datetime | int | None:
    """One time word: a moment (UTC), a snapshot index, or None when it is neither."""
    value = args[0] if len(args) == 1 else ""
    if re.fullmatch(r"#[1-9]\d*", value):
        return int(value[1:])
    for layout in ("%H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"):
        try:
            moment = datetime.strptime(value, layout)
        except ValueError:
            continue
        if layout == "%H:%M":
            # The latest such time of day: "since 14:30" at 10:00 means yesterday's 14:30.
            today = datetime.combine(now.date(), time(moment.hour, moment.minute), UTC)
            return today if today <= now else today - timedelta(days=1)
        return moment.replace(tzinfo=UTC)
    return None


def _since(args: list[str], now: datetime) -> Window:
    found = _time(args, now)
    if found is None:
        raise CommandError(f"After `since` comes {_TIME_FORMS}.")
    return Window(since_index=found) if isinstance(found, int) else Window(since=found)


def _at(args: list[str], now: datetime) -> At:
    found = _time(args, now)
    if found is None:
        raise CommandError(f"After `at` comes {_TIME_FORMS}.")
    return At(index=found) if isinstance(found, int) else At(moment=found)


def parse_mark(args: list[str], now: datetime) -> MarkSuspect:
    what = args[0].lower() if args else ""
    if what not in ("cause", "not-it") or len(args) not in (3, 4):
        raise CommandError("`mark` takes `cause` or `not-it`, an environment and a fingerprint.")
    if not re.fullmatch(r"[0-9a-fA-F]{5,64}", args[2]):
        raise CommandError(f"`{args[2]}` is not a fingerprint (5 to 64 hex characters).")
    name = args[3] if len(args) == 4 and _NAME.fullmatch(args[3]) else ""
    return MarkSuspect(what == "cause", _env_name("mark", args[1:2]), args[2].lower(), name)

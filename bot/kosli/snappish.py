"""Snapshot expressions ("snappish"), read the way Kosli's CLI and server read them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

ACCEPTED_FORMS = (
    "`ENV` (latest), `ENV#N` (snapshot N), `ENV#-N` (N-th from latest), "
    "`ENV~N` (N behind latest), `ENV@{2022-09-06T14:52:28}` (at a UTC time), "
    "`ENV@{2.hours.ago}` (also days, weeks, months)"
)

_ENV_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,199}")  # a name, not a payload
_RELATIVE = re.compile(r"\d+\.(hours?|days?|weeks?|months?)\.ago")


class SnappishError(ValueError):
    def __init__(self, expression: str, reason: str) -> None:
        self.expression = expression
        self.reason = reason
        super().__init__(f"invalid expression: {expression}. {reason}")


@dataclass(frozen=True)
class Snappish:
    """`env` plus an optional selector: '#' number, '~' behind latest, '@' a moment."""

    env: str
    separator: str = ""
    value: str = ""

    def __str__(self) -> str:
        if self.separator == "@":
            return f"{self.env}@{{{self.value}}}"
        return f"{self.env}{self.separator}{self.value}"

    @property
    def path_segment(self) -> str:
        """The `{id}` of GET /snapshots/{org}/{env}/{id}: -1 for latest, else the escaped suffix."""
        behind = self._behind_latest()
        if not self.separator or behind == 0:
            return "-1"
        if behind is not None:
            suffix = f"~{behind}"
        elif self.separator == "@":
            suffix = f"@{{{self.value}}}"
        else:
            suffix = f"{self.separator}{self.value}"
        # Escape like Go's url.PathEscape, which the CLI uses: '#' and braces, not '@' or ':'.
        return quote(suffix, safe="$&+,:;=@~")

    @property
    def api_form(self) -> str:
        """The expression as env-diff's snappish1/snappish2 take it: `ENV#-N` as `ENV~{N-1}`."""
        behind = self._behind_latest()
        return str(self) if behind is None else f"{self.env}~{behind}"

    def _behind_latest(self) -> int | None:
        """For `#-N`, how many snapshots behind the latest (N-1); None for any other form.

        `#-N` is our shorthand, not a form Kosli's API documents, so it is sent as `~`.
        """
        if self.separator == "#" and self.value.startswith("-"):
            return int(self.value[1:]) - 1
        return None

    def previous(self) -> Snappish | None:
        """The snapshot just before this one, when the expression alone tells it."""
        if not self.separator:
            return Snappish(self.env, "~", "1")
        if self.separator == "~":
            return Snappish(self.env, "~", str(int(self.value) + 1))
        if self.separator == "#" and self.value != "1":
            # #N -> #N-1, and #-N (N-th from latest) -> #-(N+1): one further back either way.
            return Snappish(self.env, "#", str(int(self.value) - 1))
        return None


def parse_snappish(expression: str) -> Snappish:
    expression = expression.strip()
    found = [sep for sep in "#~@" if sep in expression]
    if len(found) > 1:
        raise SnappishError(expression, "Only one of '@', '~' or '#' can be present")
    separator = found[0] if found else ""
    env, _, value = expression.partition(separator) if separator else (expression, "", "")
    if not env:
        raise SnappishError(expression, "Environment name is missing")
    if not _ENV_NAME.fullmatch(env):
        raise SnappishError(expression, f"'{env}' is not an environment name")
    if separator == "#" and not re.fullmatch(r"-?[1-9]\d*", value):
        raise SnappishError(expression, "After '#' comes a snapshot number, like #176 or #-1")
    if separator == "~" and not re.fullmatch(r"\d+", value):
        raise SnappishError(expression, "After '~' comes how many snapshots back, like ~1")
    if separator == "@":
        value = _moment(expression, value)
    return Snappish(env, separator, value)


def _moment(expression: str, value: str) -> str:
    if not (value.startswith("{") and value.endswith("}")):
        raise SnappishError(expression, "After '@' comes a moment in braces, like @{2.hours.ago}")
    inner = value[1:-1]
    if _RELATIVE.fullmatch(inner):
        return inner
    try:
        datetime.strptime(inner, "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        raise SnappishError(
            expression, "The moment must be YYYY-MM-DDTHH:MM:SS (UTC) or like 2.hours.ago"
        ) from None
    return inner

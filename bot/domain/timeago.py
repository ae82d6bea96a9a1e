"""Durations in the words Kosli's CLI uses (Go's xeonx/timeago, English)."""

from __future__ import annotations

_DAY = 24 * 3600
# (unit in seconds, wording for exactly one, wording for several)
_PERIODS = (
    (1, "about a second", "{} seconds"),
    (60, "about a minute", "{} minutes"),
    (3600, "about an hour", "{} hours"),
    (_DAY, "one day", "{} days"),
    (30 * _DAY, "one month", "{} months"),
    (365 * _DAY, "one year", "{} years"),
)


def _rounded(seconds: float, unit: int) -> int:
    return int(seconds / unit + 0.5)


def duration_words(seconds: float) -> str:
    """59.2 -> '59 seconds', 60.4 -> 'about a minute', 13h50m -> '14 hours', 31h -> 'one day'."""
    seconds = abs(seconds)
    if seconds < 1:
        return "about a second"
    for position, (unit, one, many) in enumerate(_PERIODS):
        last = position + 1 == len(_PERIODS)
        next_unit = unit if last else _PERIODS[position + 1][0]
        if not last and seconds >= next_unit:
            continue
        count = _rounded(seconds, unit)
        # 59.6 s rounds to "60 seconds": say it in the next unit up instead.
        if not last and count == _rounded(next_unit, unit):
            continue
        return one if count == 1 else many.format(count)
    raise AssertionError("unreachable: the last period always answers")

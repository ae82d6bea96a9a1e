"""Reading Kosli's JSON: typed fields, and optional parts that may be absent or malformed."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from bot.kosli.errors import KosliBadResponse

T = TypeVar("T")


def get(data: Any, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
    """Read one field, turning a missing or mistyped value into KosliBadResponse."""
    if not _is_object(data):
        raise KosliBadResponse(f"expected an object, got {type(data).__name__}")
    value = data.get(key)
    if value is None:
        if default is not ...:
            return default
        raise KosliBadResponse(f"field {key!r} is missing")
    if type(value) is kind:  # most fields: no isinstance checks, no tuple to build
        return value
    # bool is an int in Python; a number field must not accept true/false.
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _as_tuple(kind)):
        raise KosliBadResponse(f"field {key!r} has the wrong type ({type(value).__name__})")
    return value


def _is_object(data: Any) -> bool:
    # JSON objects are dicts: the Mapping check (slow, through the ABC) only for the rest.
    return type(data) is dict or isinstance(data, Mapping)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def moment(value: Any) -> datetime | None:
    """A time as Kosli may send it, in UTC: epoch seconds as a number or a numeric string, or
    ISO 8601 (`Z` or an offset, with or without fractions; no zone means UTC). Kosli's API
    reference types times as strings while its answers send numbers, and its webhook sends
    digits in a string. Anything else, and any time not after 1970 (Go's zero time too),
    is None: the caller treats it as missing."""
    if isinstance(value, str):
        text = value.strip()
        try:
            value = float(text)
        except ValueError:
            return _iso(text)
    if not is_number(value) or not math.isfinite(value) or value <= 0:
        return None
    try:
        at = datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):  # beyond the year 9999
        return None
    return at if at.timestamp() > 0 else None  # a speck above 0 rounds to 1970 itself


def _iso(text: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(text)
        at = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # not a time, or an offset past year 1 or 9999
        return None
    return at if at.timestamp() > 0 else None


def time_of(data: Mapping[str, Any], key: str) -> datetime | None:
    """The time in `data[key]` (see `moment`); None when it is absent or unreadable."""
    return moment(data.get(key)) if _is_object(data) else None


def list_of(data: Mapping[str, Any], key: str, parse: Callable[[Any], T]) -> tuple[T, ...]:
    return tuple(parse(item) for item in get(data, key, list, []))


def parse_list(data: Any, parse: Callable[[Any], T]) -> list[T]:
    if not isinstance(data, list):
        raise KosliBadResponse(f"expected a list, got {type(data).__name__}")
    return [parse(item) for item in data]


def optional(parse: Callable[[Any], T], data: Any) -> T | None:
    """Parse an optional part of an answer: when it is absent or unreadable the rest still
    reads (a missing commit title must never cost the whole snapshot)."""
    if data is None:
        return None
    try:
        return parse(data)
    except KosliBadResponse:
        return None


def optional_list(data: Mapping[str, Any], key: str, parse: Callable[[Any], T]) -> tuple[T, ...]:
    items = data.get(key) if _is_object(data) else None
    if not isinstance(items, list):
        return ()
    parsed = (optional(parse, item) for item in items)
    return tuple(item for item in parsed if item is not None)

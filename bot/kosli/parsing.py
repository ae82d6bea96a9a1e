"""Reading Kosli's JSON: typed fields, and optional parts that may be absent or malformed."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from bot.kosli.errors import KosliBadResponse

T = TypeVar("T")


def get(data: Any, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
    """Read one field, turning a missing or mistyped value into KosliBadResponse."""
    if not isinstance(data, Mapping):
        raise KosliBadResponse(f"expected an object, got {type(data).__name__}")
    if key not in data or data[key] is None:
        if default is not ...:
            return default
        raise KosliBadResponse(f"field {key!r} is missing")
    value = data[key]
    # bool is an int in Python; a number field must not accept true/false.
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _as_tuple(kind)):
        raise KosliBadResponse(f"field {key!r} has the wrong type ({type(value).__name__})")
    return value


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def time_of(data: Mapping[str, Any], key: str) -> datetime | None:
    value = get(data, key, (int, float), None)
    if value is None or value <= 0:
        return None
    return datetime.fromtimestamp(value, tz=UTC)


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
    items = data.get(key) if isinstance(data, Mapping) else None
    if not isinstance(items, list):
        return ()
    parsed = (optional(parse, item) for item in items)
    return tuple(item for item in parsed if item is not None)

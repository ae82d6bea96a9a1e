"""Logical environments (Kosli's `type: logical`) group physical ones and have no snapshots of
their own: the one-line answers for a command that cannot act on one. Environment names are
written between backticks; the renderers escape the whole line."""

from __future__ import annotations

from bot.kosli.models import Environment

NAMED = 5  # environments named in one line; the rest are counted


def names(envs: tuple[str, ...]) -> str:
    """'`a`', '`a` and `b`', '`a`, `b` and `c`', '... and 3 more'."""
    shown = [f"`{env}`" for env in envs[:NAMED]]
    more = len(envs) - NAMED
    if more > 0:
        return f"{', '.join(shown)} and {more} more"
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"


def included_words(env: Environment) -> str:
    """What a logical environment includes, in words: '`prod` and `staging`'."""
    return names(env.included) if env.included else "no environments yet"


def includes_none(env: Environment, so: str) -> str:
    """`so` ends the sentence: what the asker cannot have, e.g. 'nothing to watch'."""
    return f"`{env.name}` is a logical environment that includes no environments yet: {so}."


def use_included(env: Environment, command: str) -> str:
    """`diff production` -> which physical environments to diff instead."""
    if not env.included:
        return includes_none(env, "it has no snapshots")
    return (
        f"`{env.name}` is a logical environment with no snapshots of its own; "
        f"it includes {names(env.included)}. Try `{command} {env.included[0]}`."
    )


def reading_included(env: Environment, doing: str) -> str:
    """Said beside what `watch production` (doing 'watching') or an incident acts on."""
    if not env.included:
        return includes_none(env, f"nothing to {doing.removesuffix('ing')} there")
    included = names(env.included)
    return f"`{env.name}` is a logical environment: {doing} what it includes, {included}."


def not_read(empty: tuple[str, ...], done: str) -> str:
    """'No snapshot yet in `aws-dev`: not watched.'"""
    return f"No snapshot yet in {names(empty)}: not {done}."


def nothing_to(do: str, logical: tuple[Environment, ...], empty: tuple[str, ...]) -> str:
    """`watch` or `incident` found no snapshot to start from anywhere it was asked to look."""
    parts = [
        f"`{env.name}` is a logical environment: it includes {names(env.included)}."
        if env.included
        else includes_none(env, f"nothing to {do}")
        for env in logical
    ]
    if empty:
        parts.append(f"Kosli has no snapshot of {names(empty)} yet.")
    return " ".join(parts)

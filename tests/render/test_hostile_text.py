"""Every message kind, drawn from values whose every text field is hostile (mentions, links,
backticks, ampersands, 5,000 characters): no mention or link token survives into what Slack
shows, and every message stays within Block Kit's limits."""

from __future__ import annotations

import dataclasses
import enum
import inspect
import re
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.models.attachments import BlockAttachment
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.domain.changes import Change, Kind
from bot.kosli.models import SnapshotArtifact
from bot.render import (
    changes,
    commits,
    home,
    incidents,
    queries,
    subscriptions,
    suspects,
    unfurl,
    watcher,
)
from bot.render.blockkit import MAX_BLOCKS, Message, parts

HOSTILE = [
    "<!here>",
    "<!channel>",
    "<@U1>",
    "<url|x>",
    "<https://evil.example|x>",
    "`<!everyone>`",
    "`",
    "&amp; &lt;!here&gt; &",
    ("a`<!here>&<@U1>" * 400)[:5000],
]
hostile = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=30))
# Slack's own ids and the bot's command are ours, not Kosli's: they stay plain.
OURS = {"command": st.just("/kosli"), "user": st.just("U0ONCALL"), "by": st.just("U0ONCALL")}
OURS["channel"] = st.just("C0PROD")
moments = st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1), timezones=st.just(UTC))


def of(hint: Any) -> st.SearchStrategy[Any]:
    """Values of `hint` whose every str is hostile; containers stay small."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is str:
        return hostile
    if hint is int:
        return st.integers(0, 10**6)
    if hint is float:
        return st.floats(0, 10**6)
    if hint is bool:
        return st.booleans()
    if hint is datetime:
        return moments
    if hint is type(None):
        return st.none()
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return st.sampled_from(list(hint))
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*(of(a) for a in args))
    if origin is typing.Literal:
        return st.sampled_from(args)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return st.lists(of(args[0]), max_size=2).map(tuple)
        return st.tuples(*(of(a) for a in args))
    if origin in (list, Sequence):
        return st.lists(of(args[0]), max_size=2)
    if origin in (dict, Mapping):
        return st.dictionaries(of(args[0]), of(args[1]), max_size=2)
    if dataclasses.is_dataclass(hint):
        return dataclass_of(hint)
    raise TypeError(f"no strategy for {hint!r}")  # a new field type: teach `of` about it


def dataclass_of(cls: Any) -> st.SearchStrategy[Any]:
    if cls is Change:
        return changes_of_every_kind()
    hints = typing.get_type_hints(cls)
    return st.builds(
        cls,
        **{
            f.name: OURS[f.name] if f.name in OURS else st.deferred(lambda h=hints[f.name]: of(h))
            for f in dataclasses.fields(cls)
            if f.init
        },
    )


def changes_of_every_kind() -> st.SearchStrategy[Change]:
    """A change as the domain makes them: a replacement or rollback names what it took over."""
    artifacts = st.deferred(lambda: dataclass_of(SnapshotArtifact))

    def build(kind: Kind, artifact: SnapshotArtifact, previous: SnapshotArtifact) -> Change:
        takeover = kind in (Kind.REPLACED, Kind.ROLLED_BACK)
        return Change(kind, artifact, previous if takeover else None, reasons=(previous.name,))

    return st.builds(build, st.sampled_from(list(Kind)), artifacts, artifacts)


def arguments_of(render: Callable[..., Message]) -> st.SearchStrategy[dict[str, Any]]:
    hints = typing.get_type_hints(render)
    return st.fixed_dictionaries(
        {
            name: OURS[name] if name in OURS else of(hints[name])
            for name in inspect.signature(render).parameters
        }
    )


RENDERERS = [
    changes.render_alert,
    changes.render_diff,
    changes.render_commits,
    changes.render_follow_up,
    changes.render_reevaluated,
    commits.render_followup,
    suspects.render_suspects,
    suspects.render_mark,
    incidents.render_parent,
    incidents.render_close,
    queries.render_error,
    queries.render_help,
    queries.render_version,
    queries.render_envs,
    queries.render_log,
    queries.render_artifacts,
    queries.render_where,
    queries.render_why,
    subscriptions.render_unwatch,
    subscriptions.render_watch,
    subscriptions.render_watching,
    subscriptions.render_mute,
    watcher.render_baseline,
    watcher.render_outage,
    watcher.render_recovery,
    watcher.render_mute_summary,
    watcher.render_paused,
    unfurl.render_linked,
]
OUR_DATES = re.compile(r"<!date\^\d+\^[^|>]*\|[^>]*>")
OUR_MENTIONS = re.compile(r"<@U0ONCALL>|<#C0PROD>")


def shown(message: Message) -> list[str]:
    """Every text Slack reads as mrkdwn: the fallback and each mrkdwn object (plain_text shows
    `<!here>` as typed; a button's value is data)."""
    texts = [message.text]

    def walk(node: object) -> None:
        if isinstance(node, dict) and node.get("type") == "plain_text":
            return
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    texts.append(value)
                elif key != "value":
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(message.blocks)
    return texts


def within_block_kit(message: Message) -> None:
    """Slack's documented limits: message text, block counts, each kind of text object."""
    assert len(message.text) <= 40_000
    assert all(len(part) <= MAX_BLOCKS for part in parts(message.blocks))
    for block in message.blocks:
        text = block.get("text")
        if block["type"] == "header":
            assert len(text["text"]) <= 150
        elif isinstance(text, dict):
            assert len(text["text"]) <= 3000
        for field in block.get("fields") or []:
            assert len(block["fields"]) <= 10 and len(field["text"]) <= 2000
        if block["type"] == "context":
            assert len(block["elements"]) <= 10
            assert all(len(e["text"]) <= 3000 for e in block["elements"])
        for element in block.get("elements", []) if block["type"] == "actions" else []:
            assert len(block["elements"]) <= 25
            assert len(element["text"]["text"]) <= 75
            assert len(element.get("value", "")) <= 2000
            assert len(element.get("url", "")) <= 3000


def no_mention_nor_link(message: Message) -> None:
    """Hostile text shows as itself: none of it became a mention or a link of its own."""
    for text in shown(message):
        plain = OUR_MENTIONS.sub("", OUR_DATES.sub("", text))
        assert not re.search(r"<[!@#]", plain), text[:300]
        assert "<url|" not in plain and "<https://evil.example|" not in plain, text[:300]


@pytest.mark.parametrize("render", RENDERERS, ids=lambda r: r.__name__)
def test_hostile_text_never_becomes_a_mention_or_link_and_fits_block_kit(
    render: Callable[..., Message],
) -> None:
    @settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
    @given(arguments_of(render))
    def check(arguments: dict[str, Any]) -> None:
        message = render(**arguments)
        within_block_kit(message)
        no_mention_nor_link(message)

    check()


def valid_surface(drawn: dict[str, Any]) -> Message:
    """A Home view or an unfurl's attachment, valid per slack_sdk, as the message it shows."""
    if drawn.get("type") == "home":
        View(**drawn).validate_json()
        assert len(drawn["blocks"]) <= home.MAX_HOME_BLOCKS
        return Message("", drawn["blocks"])
    blocks = [Block.parse(b) for b in drawn["blocks"]]
    attachment = BlockAttachment(
        blocks=[b for b in blocks if b is not None], color=drawn.get("color")
    )
    attachment.validate_json()
    for block in attachment.blocks:
        block.validate_json()
    return Message(drawn["fallback"], drawn["blocks"])


@pytest.mark.parametrize(
    "render", [home.render_home, unfurl.render_unfurl], ids=lambda r: r.__name__
)
def test_hostile_text_stays_plain_in_the_home_tab_and_unfurls(
    render: Callable[..., dict[str, Any]],
) -> None:
    @settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
    @given(arguments_of(render))
    def check(arguments: dict[str, Any]) -> None:
        message = valid_surface(render(**arguments))
        within_block_kit(message)
        no_mention_nor_link(message)

    check()

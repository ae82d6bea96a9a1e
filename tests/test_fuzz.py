"""Generated input, by the thousand: command texts, button payloads and Kosli-supplied names
never escape as an exception, never break Slack's limits and never become markup."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.commands.catalog import COMMANDS
from bot.domain.changes import Change, ChangeSet, Kind
from bot.domain.commands import CommandError
from bot.kosli.flows import ArtifactFlow, CommitInfo
from bot.kosli.models import SnapshotArtifact
from bot.render.blockkit import MAX_BLOCKS, MAX_HEADER, MAX_TEXT, parts
from bot.render.changes import render_alert
from bot.render.queries import render_error

NOW = datetime(2022, 9, 6, 14, 56, 28, tzinfo=UTC)
# What the hostile inputs below would become if they slipped through unescaped.
MARKUP = re.compile(r"<!(channel|here|everyone)>|<@U123>|<https://evil\.example")
HOSTILE = ["<!channel>", "<!here>", "<@U123>", "<https://evil.example|click>", "..", "%2e%2e", "&"]
names = [c.name for c in COMMANDS.commands] + ["env log", "artifact get", "env diff"]

words = st.one_of(
    st.sampled_from(HOSTILE),
    st.sampled_from(["aws-prod", "aws-prod#176", "#-1", "~1", "@{2.hours.ago}", "since", "2h"]),
    st.text(min_size=1, max_size=40),
)
command_texts = st.one_of(
    st.builds(lambda n, a: " ".join([n, *a]), st.sampled_from(names), st.lists(words, max_size=4)),
    st.text(max_size=300),
)


def shown(message_text: str, blocks: list[dict]) -> str:
    """Everything Slack shows as text (a button's value is data sent back, never shown)."""
    texts = [message_text]

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    texts.append(value)
                elif key != "value":
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(blocks)
    return "\n".join(texts)


def check_message(message_text: str, blocks: list[dict]) -> None:
    assert len(message_text) <= MAX_TEXT
    for block in blocks:
        text = block.get("text") or {}
        if block["type"] == "header":
            assert len(text["text"]) <= MAX_HEADER
        elif isinstance(text, dict) and "text" in text:
            assert len(text["text"]) <= MAX_TEXT
    assert all(len(part) <= MAX_BLOCKS for part in parts(blocks))


@settings(max_examples=10_000, deadline=None)
@given(command_texts)
def test_any_command_text_parses_or_is_explained(text: str) -> None:
    try:
        COMMANDS.parse(text, NOW)
    except CommandError as error:
        message = render_error(str(error))
        check_message(message.text, message.blocks)
        text = shown(message.text, message.blocks)
        assert "<" not in text, text  # the user's words never become markup


@settings(max_examples=10_000, deadline=None)
@given(st.sampled_from(COMMANDS.action_ids), st.text(max_size=200))
@example("previous_change", "aws-prod#¹")  # found by this test: '¹'.isdigit(), int('¹') fails
def test_any_button_value_leads_to_a_command_or_an_explanation(action_id: str, value: str) -> None:
    text = COMMANDS.button_text(action_id, value)
    try:
        COMMANDS.parse(text, NOW)
    except CommandError as error:
        assert str(error)


kosli_text = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=120))


@settings(max_examples=2_000, deadline=None)
@given(kosli_text, kosli_text, kosli_text, st.sampled_from(list(Kind)))
def test_kosli_supplied_text_never_becomes_markup(
    name: str, title: str, flow: str, kind: Kind
) -> None:
    info = CommitInfo("a" * 40, title, f"{title} <x@y.z>", "main", NOW, "")
    artifact = SnapshotArtifact(
        name=name or "x",
        fingerprint="f" * 64,
        flow=flow,
        git_commit="a" * 40,
        commit_url="https://github.com/acme/app/commit/" + "a" * 40,
        compliant=False,
        started_at=NOW,
        instances=1,
        change="started",
        reasons=(title,),
        flows=(ArtifactFlow(flow or "ci", flow, "a" * 40, "", info, None),),
    )
    previous = artifact if kind in (Kind.REPLACED, Kind.ROLLED_BACK) else None
    change = Change(kind, artifact, previous=previous, reasons=(title,))
    changes = ChangeSet("aws-prod#1", "aws-prod#2", NOW, (change,))
    message = render_alert(changes, "/kosli")
    check_message(message.text, message.blocks)
    assert not MARKUP.search(shown(message.text, message.blocks))

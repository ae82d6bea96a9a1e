"""The views of connecting a workspace to its Kosli org (OAuth mode): the form, what it says
once connected, and what a non-admin sees. Built with slack_sdk's view models, so Slack's
limits are checked here."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.render.mrkdwn import code, escape

CONNECT_VIEW = "kosli_connect"  # the callback id its submission is routed by
# Block and action ids of the form's fields: a submission's values and errors name them.
ORG, HOST, TOKEN = "org", "host", "token"
FIELD = "value"


def connect_modal(default_host: str) -> dict[str, Any]:
    """Org, host and API token. The token is a plain field (Slack has no secret input): the
    modal shows it only to whoever types it, and it is stored encrypted."""
    return View(
        type="modal",
        callback_id=CONNECT_VIEW,
        title=PlainTextObject(text="Connect to Kosli"),
        submit=PlainTextObject(text="Connect"),
        close=PlainTextObject(text="Cancel"),
        blocks=[
            SectionBlock(
                text=MarkdownTextObject(
                    text="This workspace's commands and alerts read this Kosli org. "
                    "The token is checked with Kosli, then kept encrypted."
                )
            ),
            InputBlock(
                block_id=ORG,
                label=PlainTextObject(text="Kosli org"),
                element=PlainTextInputElement(
                    action_id=FIELD,
                    max_length=255,
                    placeholder=PlainTextObject(text="e.g. cyber-dojo"),
                ),
            ),
            InputBlock(
                block_id=HOST,
                label=PlainTextObject(text="Kosli host"),
                element=PlainTextInputElement(
                    action_id=FIELD, initial_value=default_host, max_length=255
                ),
            ),
            InputBlock(
                block_id=TOKEN,
                label=PlainTextObject(text="Kosli API token"),
                hint=PlainTextObject(
                    text="A service account's API key, from Kosli's settings: it needs to read "
                    "environments, snapshots and artifacts."
                ),
                element=PlainTextInputElement(action_id=FIELD, max_length=1000),
            ),
        ],
    ).to_dict()


def connected_view(org: str, host: str) -> dict[str, Any]:
    """What the modal turns into once the org is connected (never the token)."""
    return _notice(
        f":white_check_mark: This workspace now reads Kosli org {code(org)} at {escape(host)}."
    )


def admins_only_view(command: str) -> dict[str, Any]:
    return _notice(
        f"Only the bot's admins connect this workspace to Kosli: ask one to run "
        f"`{command} connect`."
    )


def _notice(text: str) -> dict[str, Any]:
    return View(
        type="modal",
        title=PlainTextObject(text="Connect to Kosli"),
        close=PlainTextObject(text="Done"),
        blocks=[SectionBlock(text=MarkdownTextObject(text=text))],
    ).to_dict()

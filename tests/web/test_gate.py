"""The door: too big, malformed, unsigned and other workspaces' requests are refused before Bolt
sees them, cheaply, with one short log line and never a traceback."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from bot.web.gate import MAX_BODY, Refusal, check, is_slash_command, workspace_of
from testkit.signing import (
    SIGNING_SECRET,
    sign,
    sign_bytes,
    signed_json,
    slash_command_body,
    slash_command_fields,
)
from tests.conftest import Bot


def test_a_body_over_the_limit_is_refused_unread(bot: Bot) -> None:
    flood = b"x" * (8 * MAX_BODY)
    declared = httpx.post(f"{bot.url}/slack/events", content=flood, timeout=10)
    assert declared.status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: refused once the limit is passed
        for _ in range(64):
            yield b"y" * (MAX_BODY // 8)

    chunked = httpx.post(f"{bot.url}/slack/events", content=chunks(), timeout=10)
    assert chunked.status_code == 413
    assert bot.slack.responses() == []


def raw_post(url: str, headers: list[bytes], body: bytes) -> int:
    """POST with headers exactly as given (httpx refuses to send junk ones); the status."""
    host, port = url.removeprefix("http://").split(":")
    head = [b"POST /slack/events HTTP/1.1", f"Host: {host}".encode(), *headers]
    if not any(h.lower().startswith(b"content-length") for h in headers):
        head.append(f"Content-Length: {len(body)}".encode())
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(b"\r\n".join([*head, b"Connection: close", b"", body]))
        answer = connection.makefile("rb").readline()
    return int(answer.split()[1])


FORM = b"Content-Type: application/x-www-form-urlencoded"


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ([b"X-Slack-Request-Timestamp: abc", b"X-Slack-Signature: v0=00"], 401),
        ([b"X-Slack-Request-Timestamp: " + b"9" * 40, b"X-Slack-Signature: v0=00"], 401),
        ([b"X-Slack-Request-Timestamp: -5", b"X-Slack-Signature: v0=00"], 401),
        ([b"X-Slack-Request-Timestamp: \xff\xfe", b"X-Slack-Signature: \xe9"], 401),
        ([b"X-Slack-Request-Timestamp: 1", b"X-Slack-Signature: v0=" + b"0" * 64], 401),
        ([b"Content-Length: twelve"], 400),
        # Latin-1 superscripts pass str.isdigit() but not int(): never a 500.
        ([b"X-Slack-Request-Timestamp: \xb9\xb2", b"X-Slack-Signature: v0=00"], 401),
        ([b"Content-Length: \xb9"], 400),
    ],
)
def test_junk_headers_are_refused_not_crashed_on(
    bot: Bot, headers: list[bytes], status: int
) -> None:
    body = slash_command_body("envs", bot.slack.response_url()).encode()
    assert raw_post(bot.url, [FORM, *headers], body) == status
    assert bot.slack.responses() == []


@pytest.mark.parametrize(
    ("body", "content_type", "why"),
    [
        (b"\xff\xfe junk", "application/x-www-form-urlencoded", "body is not UTF-8"),
        (b"[1, 2]", "application/json", "body is not a JSON object"),
        (urlencode({"payload": "{not json"}).encode(), "application/x-www-form-urlencoded", ""),
        (urlencode({"payload": "[]"}).encode(), "application/x-www-form-urlencoded", ""),
    ],
)
def test_signed_nonsense_gets_400(bot: Bot, body: bytes, content_type: str, why: str) -> None:
    headers = {**sign_bytes(body), "Content-Type": content_type}
    response = httpx.post(f"{bot.url}/slack/events", content=body, headers=headers, timeout=10)
    assert response.status_code == 400
    assert why in response.text and "Traceback" not in response.text


def test_refusals_are_logged_as_one_line_without_the_body(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    secret_url = bot.slack.response_url("secret-response-path")
    body = slash_command_body("envs\nERROR forged log line", secret_url)
    stale = sign(body, timestamp=int(time.time()) - 6 * 60)
    with caplog.at_level(logging.INFO):
        assert bot.post(body, {**stale, "User-Agent": "evil\tagent"}).status_code == 401
    lines = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert lines == [lines[0]] and "stale timestamp" in lines[0]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "secret-response-path" not in logged and "forged log line" not in logged
    assert "\nERROR" not in logged and "\t" not in lines[0]


def test_signed_commands_are_acked_during_an_unsigned_flood(bot: Bot) -> None:
    flood_statuses: list[int] = []

    def flood() -> None:
        with httpx.Client(timeout=30) as client:
            for _ in range(5):
                big = b"z" * (4 * MAX_BODY)
                flood_statuses.append(
                    client.post(f"{bot.url}/slack/events", content=big).status_code
                )

    floods = [threading.Thread(target=flood) for _ in range(8)]
    for thread in floods:
        thread.start()
    started = time.monotonic()
    acked = bot.command_request("envs")
    acked_in = time.monotonic() - started
    for thread in floods:
        thread.join()
    assert acked.status_code == 200
    assert acked_in < 3.0, f"ack took {acked_in:.2f}s: Slack would have given up"
    assert flood_statuses == [413] * 40
    answer = bot.slack.wait_for("/response/1")[0].body
    assert json.dumps(answer).count("aws-prod") >= 1


def slash_command_of(body: bytes, headers: dict[str, str], command: str) -> bool:
    """What the door makes of a signed body."""
    signed = {k.lower(): v for k, v in sign_bytes(body).items()}
    checked = check(body, {**headers, **signed}, SIGNING_SECRET)
    assert not isinstance(checked, Refusal)
    return is_slash_command(checked, command)


def test_only_our_slash_command_is_acked_before_bolt_sees_it() -> None:
    form = {"content-type": "application/x-www-form-urlencoded"}
    body = slash_command_body("help", "https://hooks.slack.com/x").encode()
    assert slash_command_of(body, form, "/kosli") is True
    assert slash_command_of(body, form, "/other") is False
    assert slash_command_of(body + b"&ssl_check=1", form, "/kosli") is False
    assert slash_command_of(b"payload=%7B%7D", form, "/kosli") is False


KINDS = ("slash command", "button", "mention")


def slack_request(kind: str, bot: Bot, team: str | None = "T1") -> tuple[str, dict[str, str]]:
    """What Slack sends for `kind` from workspace `team` (None: a request naming none), signed."""
    named: dict[str, Any]
    if kind == "slash command":
        fields = slash_command_fields("envs", bot.slack.response_url())
        del fields["team_id"]
        named = {"team_id": team} if team else {}
        body = urlencode({**fields, **named})
        return body, sign(body)
    if kind == "button":
        named = {"team": {"id": team}} if team else {}
        message = {"type": "message", "message_ts": "1.000100", "channel_id": "C0INCIDENT"}
        payload = {
            "type": "block_actions",
            **named,
            "user": {"id": "U0ONCALL"},
            "api_app_id": "A0KOSLIBOT",
            "channel": {"id": "C0INCIDENT"},
            "container": message,
            "trigger_id": "1.2.3",
            "actions": [{"action_id": "previous_change", "value": "aws-prod", "action_ts": "1"}],
        }
        body = urlencode({"payload": json.dumps(payload)})
        return body, sign(body)
    named = {"team_id": team} if team else {}
    mention = {"type": "app_mention", "user": "U0ONCALL", "text": "<@UKOSLIBOT> help"}
    return signed_json(
        {
            "type": "event_callback",
            **named,
            "api_app_id": "A0KOSLIBOT",
            "event_id": "Ev1",
            "event_time": 1,
            "event": {**mention, "ts": "1.000100", "channel": "C0INCIDENT"},
        }
    )


@pytest.mark.parametrize("kind", KINDS)
def test_every_slack_path_refuses_a_forged_stale_or_unsigned_request(bot: Bot, kind: str) -> None:
    """Bolt checks no signature itself: the door's check is the only one."""
    body, signed = slack_request(kind, bot)
    typed = {"Content-Type": signed["Content-Type"]}
    forged = {**sign(body, secret="not-the-signing-secret"), **typed}
    stale = {**sign(body, timestamp=int(time.time()) - 6 * 60), **typed}
    for headers, sent in ((forged, body), (stale, body), (signed, body + " "), (typed, body)):
        assert bot.post(sent, headers).status_code == 401
    assert bot.slack.calls == []  # nothing went as far as asking Slack anything
    assert bot.post(body, signed).status_code == 200


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("team", ["T9", None])
def test_every_slack_path_refuses_another_workspace_and_one_naming_none(
    bot: Bot, kind: str, team: str | None
) -> None:
    body, signed = slack_request(kind, bot, team)
    refused = bot.post(body, signed)
    assert refused.status_code == 403
    assert ("names no workspace" if team is None else "'T9' is not served") in refused.text
    # The door asked Slack once which workspace is ours; nothing was answered or posted.
    assert [call.path for call in bot.slack.calls] == ["/api/auth.test"]


def test_a_signed_request_from_another_workspace_is_refused(start_bot) -> None:
    bot = start_bot()
    other = slash_command_body("envs", bot.slack.response_url()).replace("team_id=T1", "team_id=T9")
    assert bot.post(other, sign(other)).status_code == 403
    assert bot.slack.responses() == []
    ours = slash_command_body("envs", bot.slack.response_url())
    assert bot.post(ours, sign(ours)).status_code == 200
    # Once the workspace is known, commands are acked before Bolt sees them: still refused.
    assert bot.post(other, sign(other)).status_code == 403
    bot.slack.wait_for("/response/1")
    assert len(bot.slack.responses()) == 1


def test_allowed_team_ids_name_the_workspaces_served(start_bot) -> None:
    bot = start_bot(allowed_team_ids="T1, T2")
    second = slash_command_body("envs", bot.slack.response_url()).replace(
        "team_id=T1", "team_id=T2"
    )
    assert bot.post(second, sign(second)).status_code == 200
    third = second.replace("team_id=T2", "team_id=T3")
    assert bot.post(third, sign(third)).status_code == 403
    bot.slack.wait_for("/response/1")


def test_until_slack_says_which_workspace_is_ours_requests_are_turned_away(bot: Bot) -> None:
    bot.slack.fail_next("/api/auth.test", 200, {"ok": False, "error": "invalid_auth"})
    refused = bot.command_request("envs")
    assert refused.status_code == 503 and "cannot tell which workspace" in refused.text
    assert bot.slack.responses() == []
    assert bot.command_request("envs").status_code == 200  # asked again: now it is known
    bot.slack.wait_for("/response/1")


def test_slacks_checks_of_the_url_itself_name_no_workspace_and_are_answered(bot: Bot) -> None:
    challenge, headers = signed_json(
        {"token": "x", "challenge": "c-123", "type": "url_verification"}
    )
    answered = bot.post(challenge, headers)
    assert answered.status_code == 200 and answered.json() == {"challenge": "c-123"}
    ssl_check = "ssl_check=1&token=x"
    assert bot.post(ssl_check, sign(ssl_check)).status_code == 200
    # Signed all the same, as everything from Slack is.
    assert bot.post(challenge, {"Content-Type": "application/json"}).status_code == 401
    assert bot.post(ssl_check, sign(ssl_check, secret="forged")).status_code == 401


@pytest.mark.parametrize(
    ("fields", "workspace"),
    [
        ({"team_id": "T1"}, "T1"),  # a slash command or an event
        ({"team": {"id": "T1"}, "enterprise": {"id": "E1"}}, "T1"),  # a team of a Grid org
        ({"team_id": "T1", "enterprise_id": "E1", "is_enterprise_install": "true"}, "E1"),
        ({"enterprise": {"id": "E1"}, "is_enterprise_install": True}, "E1"),  # org-wide
        ({"team_id": "T1", "enterprise_id": "E1", "is_enterprise_install": "false"}, "T1"),
        ({"enterprise": "E1", "is_enterprise_install": True}, ""),  # malformed: none named
        ({"team_id": ["T1"]}, ""),
    ],
)
def test_oauth_mode_names_a_workspace_as_its_install_does(
    fields: dict[str, Any], workspace: str
) -> None:
    assert workspace_of(fields) == workspace

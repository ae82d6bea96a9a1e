"""One event per line: human-readable by default, JSON with LOG_FORMAT=json. Each line carries
the request id, command and environment it belongs to, from context variables set where the
work starts (a Slack request, a command, a poll)."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TextIO

CONTEXT: dict[str, contextvars.ContextVar[str]] = {
    name: contextvars.ContextVar(name, default="") for name in ("request_id", "command", "env")
}
CHATTY = ("apscheduler", "httpx", "slack_sdk.web.async_base_client")
# The webhook's URL is its only lock: uvicorn's access log (and anyone else) would print it.
WEBHOOK_SECRET = re.compile(r"(/kosli/webhook/)[^\s\"'?#]*")


@contextmanager
def log_context(**values: str) -> Iterator[None]:
    """Lines logged inside carry these values (request_id, command, env)."""
    tokens = [CONTEXT[name].set(value) for name, value in values.items()]
    try:
        yield
    finally:
        for (name, _), token in zip(values.items(), tokens, strict=True):
            CONTEXT[name].reset(token)


class _Context(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for name, variable in CONTEXT.items():
            setattr(record, name, variable.get())
        return True


class _Redact(logging.Filter):
    """Every line goes out with the webhook path's secret replaced, right or wrong guess."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = WEBHOOK_SECRET.sub(r"\1***", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        event = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        event.update(
            {name: getattr(record, name, "") for name in CONTEXT if getattr(record, name, "")}
        )
        if record.exc_info:
            event["error"] = self.formatException(record.exc_info)
        return json.dumps(event, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        tags = " ".join(
            f"{name}={getattr(record, name)}" for name in CONTEXT if getattr(record, name, "")
        )
        return f"{line} [{tags}]" if tags else line


def configure_logging(json_lines: bool, stream: TextIO | None = None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(_Context())
    handler.addFilter(_Redact())
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    # A line per scheduled job run and per HTTP request would drown what matters.
    for chatty in CHATTY:
        logging.getLogger(chatty).setLevel(logging.WARNING)

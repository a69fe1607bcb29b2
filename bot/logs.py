"""Logging, set up in one place: text or JSON lines on stderr, every record passed through one redaction filter.

The filter sits on the root handler, so it sees records of every logger that propagates (ours, uvicorn's,
httpx's) and rewrites the message, the traceback and the stack once, before any formatter runs. httpx logs each
request URL at INFO, and a Telegram bot token is part of that URL: its loggers are kept at WARNING.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, TextIO

from storage.redaction import REDACTED, redact_secrets

__all__ = ["JsonFormatter", "RedactingFilter", "configure_logging", "redact_secrets"]

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
QUIET_LOGGERS = ("httpx", "httpcore", "apscheduler")
"""HTTP clients that log request URLs (with tokens in them) at INFO, and APScheduler, which logs every run of the
scheduler's timer (bot/scheduler.py: a round every few seconds) at INFO."""
MIN_SECRET_LENGTH = 8
"""Configured secret values shorter than this are not searched for (they would blank out ordinary words)."""

_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "color_message"}


class RedactingFilter(logging.Filter):
    """Replaces tokens (and the configured secret values) in a record's message, traceback and stack."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = sorted({secret for secret in secrets if len(secret) >= MIN_SECRET_LENGTH}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return redact_secrets(text)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self.redact(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        for name, value in vars(record).items():
            if name not in _RECORD_ATTRIBUTES and isinstance(value, str):
                setattr(record, name, self.redact(value))
        return True


class _ServiceHandler(logging.StreamHandler[TextIO]):
    """The handler `configure_logging` installs (told apart so a second call replaces it)."""


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, plus simple `extra` fields and
    the traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in vars(record).items():
            if name not in _RECORD_ATTRIBUTES and isinstance(value, str | int | float | bool) and name not in entry:
                entry[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(
    level: str = "INFO", log_format: str = "text", *, secrets: Iterable[str] = (), stream: TextIO | None = None
) -> logging.Handler:
    """Send every log record to one stream handler (stderr by default) with the redaction filter on it.

    Calling it again replaces the handler it installed before (and leaves other handlers, such as pytest's,
    alone). Returns the installed handler.
    """
    root = logging.getLogger()
    for installed in [handler for handler in root.handlers if isinstance(handler, _ServiceHandler)]:
        root.removeHandler(installed)
    handler = _ServiceHandler(stream or sys.stderr)
    handler.addFilter(RedactingFilter(secrets))
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    root.setLevel(level.upper())
    quiet_level = max(logging.WARNING, root.level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(quiet_level)
    return handler

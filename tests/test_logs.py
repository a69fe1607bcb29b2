"""Logging set up in one place: tokens never reach the output, JSON lines parse, httpx stays quiet."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.logs import configure_logging
from storage.redaction import redact_secrets

TELEGRAM_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
SLACK_TOKEN = "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp"


@pytest.fixture
def output() -> Iterator[io.StringIO]:
    """The service's log output, captured; the root logger is put back as it was afterwards."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level, logging.getLogger("httpx").level, logging.getLogger("httpcore").level)
    stream = io.StringIO()
    yield stream
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    logging.getLogger("httpx").setLevel(saved[2])
    logging.getLogger("httpcore").setLevel(saved[3])


def test_a_token_in_a_message_its_arguments_or_a_traceback_is_redacted(output: io.StringIO) -> None:
    configure_logging("INFO", "text", stream=output)
    log = logging.getLogger("tests.logs")
    log.warning("POST https://api.telegram.org/bot%s/sendMessage failed", TELEGRAM_TOKEN)
    log.info("Slack said no to %s", SLACK_TOKEN)
    try:
        raise ConnectionError(f"https://api.telegram.org/bot{TELEGRAM_TOKEN}/getUpdates: connection reset")
    except ConnectionError:
        log.exception("polling failed")
    written = output.getvalue()
    assert TELEGRAM_TOKEN not in written and SLACK_TOKEN not in written
    assert TELEGRAM_TOKEN.split(":")[1] not in written  # not even the secret half
    assert "https://api.telegram.org/bot[redacted]/sendMessage failed" in written
    assert "ConnectionError" in written and "polling failed" in written  # the rest of the record survives


def test_configured_secrets_without_a_recognisable_shape_are_redacted_too(output: io.StringIO) -> None:
    signing_secret = "8f742231b10e8888abcd99yyyzzz85a5"
    configure_logging("INFO", "text", secrets=[signing_secret], stream=output)
    logging.getLogger("tests.logs").warning("signature check with %s failed", signing_secret)
    assert signing_secret not in output.getvalue()
    assert "signature check with [redacted] failed" in output.getvalue()


def test_json_format_writes_one_parseable_object_per_line(output: io.StringIO) -> None:
    configure_logging("INFO", "json", stream=output)
    log = logging.getLogger("tests.logs")
    log.info("turn failed, error id %s", "E-7F3A", extra={"error_id": "E-7F3A"})
    try:
        1 / 0  # noqa: B018
    except ZeroDivisionError:
        log.error("token %s in a traceback", TELEGRAM_TOKEN, exc_info=True)
    lines = output.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["level"] == "INFO" and first["logger"] == "tests.logs"
    assert first["message"] == "turn failed, error id E-7F3A" and first["error_id"] == "E-7F3A"
    assert first["time"].endswith("+00:00")
    assert "ZeroDivisionError" in second["exception"]
    assert TELEGRAM_TOKEN not in lines[1]


def test_http_client_request_logs_stay_below_info(output: io.StringIO) -> None:
    configure_logging("DEBUG", "text", stream=output)
    logging.getLogger("httpx").info('HTTP Request: POST https://api.telegram.org/bot%s/getMe "HTTP/1.1 200 OK"', TELEGRAM_TOKEN)
    logging.getLogger("httpcore.http11").debug("send_request_headers.started")
    logging.getLogger("tests.logs").debug("our own debug line")
    written = output.getvalue()
    assert "HTTP Request" not in written and "send_request_headers" not in written
    assert "our own debug line" in written  # DEBUG is on for everything else


def test_configuring_twice_replaces_the_handler_instead_of_doubling_lines(output: io.StringIO) -> None:
    configure_logging("INFO", "text", stream=output)
    configure_logging("INFO", "text", stream=output)
    logging.getLogger("tests.logs").warning("once")
    assert output.getvalue().count("once") == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgresql://backoffice:s3cr3t-pw@db.internal/prod", "postgresql://backoffice:[redacted]@db.internal/prod"),
        ("GET /oauth?code=1&access_token=abc.def&x=1", "GET /oauth?code=1&access_token=[redacted]&x=1"),
        ("POST https://hooks.slack.com/services/T000/B000/XXXXXXXX", "POST https://[redacted]"),
        ("Authorization: Bearer eyJhbGciOi.JIUzI1NiJ9", "Authorization: [redacted]"),
        ("leave 2026-12-14 to 2026-12-18, 10:30, request 12345", "leave 2026-12-14 to 2026-12-18, 10:30, request 12345"),
    ],
)
def test_redaction_shapes(text: str, expected: str) -> None:
    assert redact_secrets(text) == expected

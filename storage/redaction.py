"""Removing secrets from text that is stored or logged (error messages, log records).

HTTP client errors quote request URLs, and chat platform URLs carry tokens (Telegram puts the bot token in every
API path), so any text that came from outside is passed through `redact_secrets` before it is kept.
One implementation for the whole project: the outbox's stored errors and the log filter (bot/logs.py) use it.
"""

from __future__ import annotations

import re

REDACTED = "[redacted]"

_SECRETS = re.compile(
    r"(?<!\d)\d{5,}:[A-Za-z0-9_-]{30,}"  # a Telegram bot token, e.g. inside an API URL
    r"|\bx(?:ox[a-z]|app)-[A-Za-z0-9-]{10,}"  # Slack bot, user and app tokens
    r"|(?i:\bbearer\s+)[A-Za-z0-9._~+/=-]{8,}"  # an Authorization header value
    r"|hooks\.slack\.com/services/[A-Za-z0-9/_-]+"  # a Slack incoming-webhook URL is itself the secret
)
_KEPT_NAME = re.compile(
    r"(?P<keep>://[^/\s:@]+:)[^/\s@]+(?=@)"  # the password in a URL such as postgresql://user:password@host
    r"|(?P<keep_param>(?i:\b(?:access_token|token|secret|password|api_key|ticket)=))[^&\s]+"  # ?token=… in a query string
    # (ticket=…: what opens a Slack Socket Mode websocket URL, which slack_sdk's connection errors quote)
)


def _keep_name(match: re.Match[str]) -> str:
    return (match.group("keep") or match.group("keep_param")) + REDACTED


def redact_secrets(text: str) -> str:
    """The text with chat platform tokens, secret-bearing URL parts and URL passwords replaced by [redacted]."""
    return _KEPT_NAME.sub(_keep_name, _SECRETS.sub(REDACTED, text))

"""The Bot API client the Telegram channel's two sides share, and what its errors mean for the core.

One python-telegram-bot `ExtBot` (PTB's Bot with a rate limiter) talks to `TELEGRAM_API_URL` (the token appended,
as PTB's `base_url`; a local Telegram-compatible server in tests) through PTB's httpx-based requests. Its
`AIORateLimiter` holds sends to about 30 a second overall and 20 a minute per group (PTB applies no limit per
private chat), waits as long as a 429's `retry_after` says and tries again RATE_LIMIT_RETRIES times; getUpdates
is never held back.

Logging: PTB writes every call's parameters and results (message text, payslip figures) at DEBUG, and httpx each
URL (with the token in it) at INFO — PTB's loggers are kept at INFO here and httpx's at WARNING by bot/logs.py, so
LOG_LEVEL=DEBUG never puts them in the log. Errors are reported by type and Telegram's short description only.
(PTB itself quotes a response body in two error records — a body that is not JSON, an update it can't parse — which
only a broken Bot API server would send; bot/logs.py still takes tokens out of them.)
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, RetryAfter, TelegramError
from telegram.ext import AIORateLimiter, ExtBot
from telegram.request import HTTPXRequest

from bot.channels.base import ChannelStartError, DeliveryError, PermanentDeliveryError, TransientDeliveryError

# PTB 22 deprecates integer durations (RetryAfter.retry_after and others) with a warning on every access, even
# inside PTB itself; this is its documented opt-in to the coming behaviour, durations as timedelta.
os.environ.setdefault("PTB_TIMEDELTA", "true")

PLATFORM = "telegram"
DEFAULT_API_URL = "https://api.telegram.org/bot"
DEFAULT_FILE_URL = "https://api.telegram.org/file/bot"
RATE_LIMIT_RETRIES = 2
"""Times a call answered 429 is made again (after its retry_after) before the core is told to retry later."""
TIMEOUT_SECONDS = 15.0

NOT_MODIFIED = "message is not modified"
"""Telegram's refusal of an edit to exactly what the message already shows: for us, the edit is done."""
_DESCRIPTION = re.compile(r"[A-Za-z0-9 _:;,.'()/-]{1,160}")
"""Telegram's error descriptions ("Bad Request: chat not found") name the problem, not the message; anything else
(an unexpected shape) is not quoted."""

ptb_log = logging.getLogger("telegram")


class Client:
    """The Bot API client: an `ExtBot` with our URLs, PTB's rate limiter and time-outs that suit a service (a long
    poll gets its own on top), over two connection pools — one for getUpdates, one for everything else."""

    def __init__(
        self, token: str, *, api_url: str = DEFAULT_API_URL, file_url: str = DEFAULT_FILE_URL, rate_limited: bool = True
    ) -> None:
        """`rate_limited=False` leaves PTB's rate limiter out: only to measure our own cost against a local server
        (tests/benchmarks/telegram_benchmark.py); Telegram itself would answer 429 soon."""
        ptb_log.setLevel(logging.INFO)
        self._requests = (
            HTTPXRequest(connection_pool_size=64, read_timeout=TIMEOUT_SECONDS, write_timeout=TIMEOUT_SECONDS,
                         connect_timeout=TIMEOUT_SECONDS, pool_timeout=TIMEOUT_SECONDS),
            HTTPXRequest(connection_pool_size=2, read_timeout=TIMEOUT_SECONDS, connect_timeout=TIMEOUT_SECONDS),
        )
        bot: ExtBot[int] = ExtBot(
            token, base_url=api_url, base_file_url=file_url, request=self._requests[0], get_updates_request=self._requests[1],
            rate_limiter=AIORateLimiter(max_retries=RATE_LIMIT_RETRIES) if rate_limited else None,
        )
        self.bot: ExtBot[Any] = bot

    async def close(self) -> None:
        """Close the connections (PTB's own `shutdown` does it only for a bot that went through `initialize`)."""
        for request in self._requests:
            await request.shutdown()


def message_reference(chat_id: int | str, message_id: int) -> str:
    """A sent message as the core refers to it (for a later edit): `"<chat id>:<message id>"`."""
    return f"{chat_id}:{message_id}"


@dataclass(frozen=True)
class Me:
    """Who the bot is (getMe): its user id (replies to its messages) and username (mentions, deep links)."""

    id: int
    username: str


class Identity:
    """Calls getMe once, when first needed (sending, receiving), and remembers the answer; concurrent callers wait
    for the same call. A failure is not remembered: the next caller tries again."""

    def __init__(self, bot: ExtBot[Any]) -> None:
        self.bot = bot
        self._me: Me | None = None
        self._lock = asyncio.Lock()

    async def me(self) -> Me:
        if self._me is None:
            async with self._lock:
                if self._me is None:
                    try:
                        await self.bot.initialize()
                    except InvalidToken:
                        raise ChannelStartError("TELEGRAM_BOT_TOKEN was refused by the Bot API (getMe)") from None
                    self._me = Me(self.bot.id, self.bot.username)
        return self._me


def description(error: TelegramError) -> str:
    """Telegram's description of the error, lower case, if it is the short plain kind; else the error's type."""
    text = str(error.message).strip()
    return text.lower() if _DESCRIPTION.fullmatch(text) else type(error).__name__


def seconds(value: timedelta | float) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def delivery_error(error: Exception) -> DeliveryError:
    """What a failed Bot API call means for the core. Permanent: the person blocked the bot or never started it
    (Forbidden), the chat or message is gone or can't take this (BadRequest), a group became a supergroup (its id
    changed). Transient: a rate limit (with its retry_after), time-outs and the network, a token refused (fixed
    by configuration, after which the same message goes through). Anything not from the client is re-raised."""
    if isinstance(error, RetryAfter):
        return TransientDeliveryError("telegram: rate limited", retry_after=seconds(error.retry_after))
    if isinstance(error, Forbidden):  # "Forbidden: bot was blocked by the user", "…can't initiate conversation…"
        return PermanentDeliveryError(f"telegram: {description(error)}")
    if isinstance(error, ChatMigrated):
        return PermanentDeliveryError("telegram: the group became a supergroup")
    if isinstance(error, BadRequest):  # a subclass of NetworkError in PTB: tested first
        return PermanentDeliveryError(f"telegram: {description(error)}")
    if isinstance(error, InvalidToken):
        return TransientDeliveryError("telegram: the token was refused")
    if isinstance(error, TelegramError):  # TimedOut, NetworkError, Conflict, a server error
        return TransientDeliveryError(f"telegram: {type(error).__name__}")
    raise error

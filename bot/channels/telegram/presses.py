"""Answering button presses (callback queries): the pressed button spins in the client until the bot calls
answerCallbackQuery, whose optional text pops up as a toast.

A press the core will see is answered after its turn, by the core (`TelegramChannel.answer_press`, the core's
`PressAnswers`): with the turn's toast reply (a stale button: "That button is no longer active") or silently. So
that no button spins long while it waits — the inbox may be behind, another replica may run the turn, the process
may stop — a press the core has not answered within ANSWER_WITHIN seconds is answered silently by a timer; the
core's call then finds it gone and sends its toast as a message instead, as on platforms without toasts. A press
the core never sees (a button on a message we can't read) is answered at once.

Nothing here logs a toast's text; a refused answer (the query too old, answered already) is logged by Telegram's
short description and not retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from telegram.error import BadRequest, TelegramError
from telegram.ext import ExtBot

from bot.channels.telegram.client import description

ANSWER_WITHIN = 3.0
"""Seconds a press waits for the core's answer before it is answered silently: a normal turn takes a fraction of
a second, and a spinner that keeps going longer looks broken."""
TOAST_LENGTH = 200
"""Telegram's limit for a callback query answer's text; a longer toast is sent as a message instead."""

log = logging.getLogger(__name__)


class Presses:
    """The presses stored in the inbox whose callback query is not answered yet, by inbox key (the update_id)."""

    def __init__(self, bot: ExtBot[Any], *, answer_within: float = ANSWER_WITHIN) -> None:
        self.bot = bot
        self.answer_within = answer_within
        self._waiting: dict[str, tuple[str, asyncio.TimerHandle]] = {}
        self._answering: set[asyncio.Task[bool]] = set()

    def wait_for_core(self, key: str, query_id: str) -> None:
        """The press stored as update `key` is answered by the core after its turn, or by the timer. A repeated
        delivery of the same update keeps one timer."""
        earlier = self._waiting.pop(key, None)
        if earlier is not None:
            earlier[1].cancel()
        timer = asyncio.get_running_loop().call_later(self.answer_within, self._expire, key)
        self._waiting[key] = (query_id, timer)

    def answer_now(self, query_id: str) -> None:
        """Answer silently, in the background (a press the core will not see)."""
        task = asyncio.create_task(self._answer(query_id, None), name="telegram press answer")
        self._answering.add(task)
        task.add_done_callback(self._answering.discard)

    async def answer(self, key: str | None, text: str | None) -> bool:
        """The core's answer to the press stored as `key`: True if it was given here (with `text` as the toast);
        False if the press is not waiting here any more, or the toast could not be shown."""
        waiting = self._waiting.pop(key, None) if key is not None else None
        if waiting is None:
            return False
        query_id, timer = waiting
        timer.cancel()
        if text is not None and len(text) > TOAST_LENGTH:
            await self._answer(query_id, None)
            return False
        return await self._answer(query_id, text)

    def _expire(self, key: str) -> None:
        waiting = self._waiting.pop(key, None)
        if waiting is not None:
            self.answer_now(waiting[0])

    async def _answer(self, query_id: str, text: str | None) -> bool:
        try:
            await self.bot.answer_callback_query(query_id, text=text)
        except BadRequest as error:  # too old, or answered already: nothing left to stop
            log.info("a callback query could not be answered: %s", description(error))
            return False
        except TelegramError as error:
            log.warning("a callback query could not be answered (%s)", type(error).__name__)
            return False
        return True

    async def close(self) -> None:
        """Answer every press still waiting (the service is stopping) and wait for the answers on their way."""
        for key in list(self._waiting):
            self._waiting[key][1].cancel()
            self._expire(key)
        for task in list(self._answering):
            with contextlib.suppress(asyncio.CancelledError):
                await task

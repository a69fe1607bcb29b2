"""The Telegram channel's inbound side: each update stored in the inbox before Telegram is told it arrived.

Why PTB's `Bot` and our own loop rather than PTB's `Application`: the Application's updater confirms a polled
update (the next getUpdates' offset) once it is on the Application's in-memory queue, and its webhook server
answers 200 before a handler ran — an update in that queue is lost if the process stops. Here each update is
turned into an `Incoming` (bot/channels/telegram/updates.py) and stored with `await inbox.accept(incoming, key)`
(key: the `update_id`) first; only then is it acknowledged, and the inbox worker runs it through the core later:

- Long polling (no TELEGRAM_WEBHOOK_URL): `deleteWebhook` first (a leftover webhook would make getUpdates fail),
  then getUpdates in a loop; the offset moves past an update only once it is stored (or deliberately ignored), so
  an update fetched but not stored is fetched again — after a restart too — and the inbox makes no second row.
- Webhook (TELEGRAM_WEBHOOK_URL set): `setWebhook` with the secret token and ALLOWED_UPDATES, and `POST
  /telegram/webhook` on the service's HTTP server — PTB's documented custom-webhook pattern (`Update.de_json` of
  the posted body), except that the update goes to the inbox instead of the Application's queue, and the call is
  answered 200 only once it is stored. A call without the right `X-Telegram-Bot-Api-Secret-Token` is answered 403
  and leaves no trace; one that can't be stored (the assistant still loading, the database down) 503/500, and
  Telegram delivers it again.

An update that can't be read (a bug, a shape we don't know) is logged by its id and skipped: one bad update never
stops the others. A callback query the core will see is answered after its turn, by the core (with a toast for a
stale button), or by a timer if that takes too long; one the core won't see is answered at once (presses.py).
Nothing here logs a message's text.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import BotCommand, Update
from telegram.error import BadRequest, Conflict, TelegramError
from telegram.ext import ExtBot

from bot.channels.base import ChannelStartError
from bot.channels.telegram.client import Identity, description
from bot.channels.telegram.presses import Presses
from bot.channels.telegram.updates import ALLOWED_UPDATES, Inbound, read
from bot.inbox import Inbox

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
POLL_SECONDS = 25.0
"""How long one getUpdates waits for an update (long polling) before asking again."""
FIRST_BACKOFF, MAX_BACKOFF = 1.0, 30.0
"""Waits after a failed round (the Bot API unreachable, the database down), doubling up to the longest."""

InboxSource = Callable[[], Inbox | None]
"""Where to store updates: the service's inbox, None while the assistant is still loading."""
CommandMenus = Mapping[str | None, Sequence[tuple[str, str]]]
"""The command menu (`setMyCommands`) by language code, None for everyone else: (command, description) pairs."""
T = TypeVar("T")

log = logging.getLogger(__name__)


class NotReady(Exception):
    """No inbox yet (the assistant is loading): the update is not acknowledged, and comes again."""


async def _wait(stop: asyncio.Event, seconds: float) -> bool:
    """Wait until `stop` is set or the time is up; True if it was set."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await stop.wait()
    return stop.is_set()


class Receiver:
    """Stores updates and answers callback queries; runs long polling, or registers the webhook and serves it."""

    def __init__(
        self,
        bot: ExtBot[Any],
        identity: Identity,
        inbox: InboxSource,
        *,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        commands: CommandMenus | None = None,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        if webhook_url is not None and not webhook_secret:
            raise ValueError("a webhook needs a secret token")
        self.bot = bot
        self.identity = identity
        self.inbox = inbox
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret or ""
        self.commands = commands or {}
        self.poll_seconds = poll_seconds
        self.presses = Presses(bot)

    # --- one update ----------------------------------------------------------------------------------------------

    async def take(self, data: dict[str, Any]) -> None:
        """Read, store and (for a callback query) answer one update as Telegram sent it. Raises if it could not be
        stored — then it must not be acknowledged. An unreadable update is logged and dropped."""
        me = await self.identity.me()
        try:
            update = Update.de_json(data, self.bot)
            inbound = read(update, me)
        except Exception as error:  # noqa: BLE001 - one unreadable update must not block the others
            log.error("telegram update %s could not be read (%s); skipped", data.get("update_id"), type(error).__name__)
            return
        await self._store(inbound)

    async def _store(self, inbound: Inbound) -> None:
        if inbound.incoming is not None:
            target = self.inbox()
            if target is None:
                raise NotReady("the assistant is not ready yet")
            if inbound.callback_query_id is not None:  # before the inbox worker can take it: the core answers it
                self.presses.wait_for_core(inbound.key, inbound.callback_query_id)
            await target.accept(inbound.incoming, inbound.key)
        elif inbound.callback_query_id is not None:
            self.presses.answer_now(inbound.callback_query_id)

    # --- start-up ------------------------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop` is set: register how updates come (and the command menus), then poll — or, with a webhook,
        just wait, as Telegram posts them to the route."""
        if not await self._until_done(stop, self._start, "starting"):
            return
        if self.webhook_url is None:
            await self._poll(stop)
        else:
            await stop.wait()
        await self.presses.close()

    async def _start(self) -> None:
        await self.identity.me()
        if self.webhook_url is not None:
            try:
                await self.bot.set_webhook(self.webhook_url, secret_token=self.webhook_secret, allowed_updates=list(ALLOWED_UPDATES))
            except BadRequest as error:  # "bad webhook: …" (not https, a port Telegram won't call): only the setting helps
                raise ChannelStartError(f"TELEGRAM_WEBHOOK_URL was refused by the Bot API ({description(error)})") from None
            log.info("telegram: receiving updates by webhook")
        else:
            await self.bot.delete_webhook()
            log.info("telegram: receiving updates by long polling")
        for language, commands in self.commands.items():
            await self.bot.set_my_commands([BotCommand(name, text) for name, text in commands], language_code=language)

    async def _until_done(self, stop: asyncio.Event, work: Callable[[], Awaitable[None]], what: str) -> bool:
        """Run `work` until it succeeds (True) or `stop` is set (False), backing off between failed attempts. A
        refused token stops the channel: no number of attempts will fix it."""
        backoff = FIRST_BACKOFF
        while not stop.is_set():
            try:
                await work()
                return True
            except ChannelStartError:
                raise
            except TelegramError as error:
                log.warning("telegram: %s failed (%s); trying again in %.0f s", what, type(error).__name__, backoff)
            if await _wait(stop, backoff):
                break
            backoff = min(backoff * 2, MAX_BACKOFF)
        return False

    # --- long polling --------------------------------------------------------------------------------------------

    async def _poll(self, stop: asyncio.Event) -> None:
        offset: int | None = None
        backoff = FIRST_BACKOFF
        while not stop.is_set():
            try:
                updates = await self._unless_stopped(stop, self.bot.get_updates(
                    offset=offset, timeout=int(self.poll_seconds), allowed_updates=list(ALLOWED_UPDATES)))
                if updates is None:
                    return
                for update in updates:
                    await self._store_polled(update)
                    offset = update.update_id + 1  # only now: the next getUpdates confirms it
                backoff = FIRST_BACKOFF
                continue
            except Conflict:
                log.warning("telegram: another getUpdates or a webhook is in the way; trying again in %.0f s", backoff)
            except TelegramError as error:
                log.warning("telegram: getUpdates failed (%s); trying again in %.0f s", type(error).__name__, backoff)
            except Exception as error:  # noqa: BLE001 - the database down: not confirmed, so fetched again later
                log.error("telegram: an update could not be stored (%s); trying again in %.0f s", type(error).__name__, backoff)
            if await _wait(stop, backoff):
                return
            backoff = min(backoff * 2, MAX_BACKOFF)

    async def _store_polled(self, update: Update) -> None:
        try:
            inbound = read(update, await self.identity.me())
        except Exception as error:  # noqa: BLE001 - one unreadable update must not block the others
            log.error("telegram update %s could not be read (%s); skipped", update.update_id, type(error).__name__)
            return
        await self._store(inbound)

    @staticmethod
    async def _unless_stopped(stop: asyncio.Event, call: Awaitable[T]) -> T | None:
        """The call's result, or None if `stop` was set first (the call is then cancelled; what it would have
        returned is not confirmed, so it comes again)."""
        working = asyncio.ensure_future(call)
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait((working, stopping), return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if not working.done():
            working.cancel()
            with contextlib.suppress(asyncio.CancelledError, TelegramError):
                await working
            return None
        return working.result()

    # --- webhook -------------------------------------------------------------------------------------------------

    def route(self) -> Route:
        """`POST /telegram/webhook` for the service's HTTP server."""
        return Route(WEBHOOK_PATH, self._webhook, methods=["POST"])

    async def _webhook(self, request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not self.webhook_secret or not hmac.compare_digest(given.encode(), self.webhook_secret.encode()):
            return Response(status_code=403)
        try:
            data = await request.json()
        except ValueError:
            return Response(status_code=400)
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            return Response(status_code=400)
        try:
            await self.take(data)
        except (NotReady, TelegramError) as error:  # still loading, or getMe failed: Telegram tries again
            log.warning("telegram: update %s refused for now (%s)", data["update_id"], type(error).__name__)
            return Response(status_code=503)
        except Exception as error:  # noqa: BLE001 - only the type: a database error's text may quote the update
            log.error("telegram: update %s could not be stored (%s); Telegram will deliver it again", data["update_id"], type(error).__name__)
            return Response(status_code=500)
        return Response(status_code=200)

"""A fake Telegram Bot API for tests: a real HTTP server on 127.0.0.1 (a free port) that answers like the Bot API.

python-telegram-bot talks to it as to api.telegram.org (`TELEGRAM_API_URL` = `fake.api_url`): each method is
`POST /bot<token>/<method>` with form fields (objects JSON-encoded), answered `{"ok": true, "result": …}` or
`{"ok": false, "error_code": …, "description": …, "parameters": …}`. It answers getMe, getUpdates (long polling
over a queue of updates the test pushes, with Telegram's offset rule: asking with an offset confirms and forgets
every update below it), sendMessage, editMessageText, editMessageReplyMarkup, answerCallbackQuery, setWebhook,
deleteWebhook and setMyCommands; a wrong token gets 401. It keeps every message as it reads now (edits applied)
and records every call. Failures can be queued per method, answered in order before the method works again; a
chat in `blocked` refuses messages with 403 as Telegram does when the person blocked the bot:

    async with FakeTelegram() as telegram:
        telegram.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
        update_id = telegram.push(message(ALICE, "hi"))
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TOKEN = "123456:TEST-token_abcdefghijklmnopqrstuv"
BOT_ID = 999_000
BOT_USERNAME = "backoffice_test_bot"
JSON_FIELDS = frozenset({"reply_markup", "entities", "allowed_updates", "commands", "link_preview_options", "scope"})
INT_FIELDS = frozenset({"chat_id", "message_id", "offset", "limit", "timeout", "message_thread_id"})


@dataclass(frozen=True)
class Call:
    method: str
    args: dict[str, Any]


@dataclass(frozen=True)
class Failure:
    status: int
    description: str
    retry_after: int | None = None


@dataclass
class Sent:
    """A message the bot sent, as it reads now."""

    chat_id: int
    message_id: int
    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)
    reply_markup: dict[str, Any] | None = None
    message_thread_id: int | None = None
    edits: int = 0

    @property
    def buttons(self) -> list[dict[str, Any]]:
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [button for row in rows for button in row]

    def button(self, label: str) -> dict[str, Any]:
        return next(button for button in self.buttons if button["text"] == label)


# --- updates as Telegram sends them ------------------------------------------------------------------------------


def user(user_id: int, *, language: str | None = "en", first_name: str = "Test") -> dict[str, Any]:
    found: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
    if language:
        found["language_code"] = language
    return found


def chat(chat_id: int) -> dict[str, Any]:
    return {"id": chat_id, "type": "private", "first_name": "Test"} if chat_id > 0 else {"id": chat_id, "type": "supergroup", "title": "Team"}


def message(sender: int, text: str, *, chat_id: int | None = None, language: str | None = "en", message_id: int = 1,
            reply_to: dict[str, Any] | None = None) -> dict[str, Any]:
    """A `message` update's body (update_id is added by `push`); /commands and @mentions get their entities."""
    body: dict[str, Any] = {"message_id": message_id, "date": int(time.time()), "chat": chat(chat_id if chat_id is not None else sender),
                            "from": user(sender, language=language), "text": text}
    entities = []
    if text.startswith("/"):
        entities.append({"type": "bot_command", "offset": 0, "length": len(text.split()[0])})
    for word in text.split():
        if word.startswith("@"):
            entities.append({"type": "mention", "offset": text.index(word), "length": len(word)})
    if entities:
        body["entities"] = entities
    if reply_to is not None:
        body["reply_to_message"] = reply_to
    return {"message": body}


def callback(sender: int, pressed: Sent, label: str, *, language: str | None = "en", query_id: str | None = None) -> dict[str, Any]:
    """A `callback_query` update: `sender` pressed the button labelled `label` on the message `pressed`."""
    button = pressed.button(label)
    shown = {"message_id": pressed.message_id, "date": int(time.time()), "chat": chat(pressed.chat_id),
             "from": {"id": BOT_ID, "is_bot": True, "first_name": "Backoffice", "username": BOT_USERNAME},
             "text": pressed.text, "reply_markup": pressed.reply_markup}
    return {"callback_query": {"id": query_id or f"q{sender}-{pressed.message_id}-{time.monotonic_ns()}", "from": user(sender, language=language),
                               "chat_instance": "ci-1", "message": shown, "data": button["callback_data"]}}


# --- the server --------------------------------------------------------------------------------------------------


class FakeTelegram:
    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.calls: list[Call] = []
        self.messages: dict[tuple[int, int], Sent] = {}
        """(chat id, message id) → the message as it reads now, in the order sent."""
        self.blocked: set[int] = set()
        """Chats that refuse messages (403 Forbidden: the person blocked the bot, or never started it)."""
        self.answered: list[str] = []
        """Callback query ids answered, in order."""
        self.toasts: dict[str, str] = {}
        """Callback query id → the text it was answered with (a toast), for those answered with one."""
        self.commands: dict[str | None, list[dict[str, Any]]] = {}
        """setMyCommands by language_code (None: the default)."""
        self.webhook: dict[str, Any] | None = None
        """The setWebhook arguments while a webhook is set."""
        self.pending: list[dict[str, Any]] = []
        self.confirmed = 0
        """Every update below this id was confirmed (a getUpdates asked with an offset above it)."""
        self.base = ""
        self._failures: defaultdict[str, deque[Failure]] = defaultdict(deque)
        self._next_update = 700_000_001
        self._next_message = 1
        self._arrived = asyncio.Event()
        """Set when an update is pushed (or the server closes): a waiting getUpdates answers."""
        self._closing = False
        self._runner: web.AppRunner | None = None

    @property
    def api_url(self) -> str:
        """As TELEGRAM_API_URL: the token is appended."""
        return f"{self.base}/bot"

    @property
    def file_url(self) -> str:
        return f"{self.base}/file/bot"

    def fail_next(self, method: str, status: int, description: str, *, retry_after: int | None = None) -> None:
        self._failures[method].append(Failure(status, description, retry_after))

    def next_update_id(self) -> int:
        update_id, self._next_update = self._next_update, self._next_update + 1
        return update_id

    def push(self, update: dict[str, Any], *, update_id: int | None = None) -> int:
        """Queue an update for getUpdates; its update_id (the next one unless given)."""
        if update_id is None:
            update_id = self.next_update_id()
        self.pending.append({"update_id": update_id, **update})
        self._arrived.set()
        return update_id

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def sent_to(self, chat_id: int) -> list[Sent]:
        return [sent for (chat_id_, _), sent in self.messages.items() if chat_id_ == chat_id]

    def texts(self, chat_id: int) -> list[str]:
        return [sent.text for sent in self.sent_to(chat_id)]

    async def __aenter__(self) -> FakeTelegram:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        listener = socket.create_server(("127.0.0.1", 0))
        await web.SockSite(self._runner, listener).start()
        self.base = f"http://127.0.0.1:{listener.getsockname()[1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._closing = True
        self._arrived.set()
        if self._runner is not None:
            await self._runner.cleanup()

    # --- requests -----------------------------------------------------------------------------------------------

    @staticmethod
    async def _arguments(request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            raw: dict[str, Any] = await request.json()
        else:
            raw = dict(await request.post()) if request.can_read_body else {}
        args: dict[str, Any] = {}
        for name, value in raw.items():
            if isinstance(value, str) and name in JSON_FIELDS:
                value = json.loads(value)
            elif isinstance(value, str) and name in INT_FIELDS and value.lstrip("-").isdigit():
                value = int(value)
            args[name] = value
        return args

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._arguments(request)
        self.calls.append(Call(method, args))
        if request.match_info["token"] != self.token:
            return self._error(401, "Unauthorized")
        queued = self._failures.get(method)
        if queued:
            failure = queued.popleft()
            return self._error(failure.status, failure.description, retry_after=failure.retry_after)
        answer = getattr(self, "_" + method, None)
        if answer is None:
            return self._error(404, "Not Found: method not found")
        result = await answer(args)
        return result if isinstance(result, web.Response) else web.json_response({"ok": True, "result": result})

    @staticmethod
    def _error(status: int, description: str, *, retry_after: int | None = None) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        return web.json_response(body, status=status)

    def _me(self) -> dict[str, Any]:
        return {"id": BOT_ID, "is_bot": True, "first_name": "Backoffice", "username": BOT_USERNAME,
                "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}

    async def _getMe(self, args: dict[str, Any]) -> Any:
        return self._me()

    async def _getUpdates(self, args: dict[str, Any]) -> Any:
        if self.webhook is not None:
            return self._error(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first")
        offset = args.get("offset")
        if isinstance(offset, int) and offset > 0:
            self.confirmed = max(self.confirmed, offset)
            self.pending = [update for update in self.pending if update["update_id"] >= offset]
        wait = float(args.get("timeout") or 0)
        if not self.pending and not self._closing and wait:
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._arrived.wait()
        return self.pending[: int(args.get("limit") or 100)]

    def _message(self, sent: Sent) -> dict[str, Any]:
        body: dict[str, Any] = {"message_id": sent.message_id, "date": int(time.time()), "chat": chat(sent.chat_id),
                                "from": self._me(), "text": sent.text}
        if sent.entities:
            body["entities"] = sent.entities
        if sent.reply_markup:
            body["reply_markup"] = sent.reply_markup
        return body

    async def _sendMessage(self, args: dict[str, Any]) -> Any:
        chat_id = int(args["chat_id"])
        if chat_id in self.blocked:
            return self._error(403, "Forbidden: bot was blocked by the user")
        text = str(args.get("text") or "")
        if not text.strip():
            return self._error(400, "Bad Request: message text is empty")
        if len(text.encode("utf-16-le")) // 2 > 4096:
            return self._error(400, "Bad Request: message is too long")
        sent = Sent(chat_id, self._next_message, text, list(args.get("entities") or []), args.get("reply_markup"),
                    args.get("message_thread_id"))
        self._next_message += 1
        self.messages[(chat_id, sent.message_id)] = sent
        return self._message(sent)

    def _find(self, args: dict[str, Any]) -> Sent | web.Response:
        found = self.messages.get((int(args.get("chat_id") or 0), int(args.get("message_id") or 0)))
        return found if found is not None else self._error(400, "Bad Request: message to edit not found")

    async def _editMessageText(self, args: dict[str, Any]) -> Any:
        found = self._find(args)
        if isinstance(found, web.Response):
            return found
        text, entities, markup = str(args.get("text") or ""), list(args.get("entities") or []), args.get("reply_markup")
        if (text, entities, markup) == (found.text, found.entities, found.reply_markup):
            return self._error(400, "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message")
        found.text, found.entities, found.reply_markup, found.edits = text, entities, markup, found.edits + 1
        return self._message(found)

    async def _editMessageReplyMarkup(self, args: dict[str, Any]) -> Any:
        found = self._find(args)
        if isinstance(found, web.Response):
            return found
        markup = args.get("reply_markup")
        if markup == found.reply_markup:
            return self._error(400, "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message")
        found.reply_markup, found.edits = markup, found.edits + 1
        return self._message(found)

    async def _answerCallbackQuery(self, args: dict[str, Any]) -> Any:
        query_id = str(args["callback_query_id"])
        if query_id in self.answered:
            return self._error(400, "Bad Request: query is too old and response timeout expired or query id is invalid")
        self.answered.append(query_id)
        if args.get("text"):
            self.toasts[query_id] = str(args["text"])
        return True

    async def _setWebhook(self, args: dict[str, Any]) -> Any:
        self.webhook = args
        return True

    async def _deleteWebhook(self, args: dict[str, Any]) -> Any:
        self.webhook = None
        return True

    async def _setMyCommands(self, args: dict[str, Any]) -> Any:
        self.commands[args.get("language_code")] = list(args["commands"])
        return True

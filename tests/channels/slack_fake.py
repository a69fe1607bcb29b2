"""A fake Slack Web API for tests: a real HTTP server on 127.0.0.1 (a free port) that answers like Slack.

It records every call (method, arguments, token) and keeps the messages posted, as edited since. It answers
`auth.test` (bolt calls it once, on the first request it authorizes), `chat.postMessage`, `chat.update`,
`conversations.open`, `users.info`, `users.lookupByEmail`, `chat.postEphemeral`, `views.publish` (each user's last Home view kept in `homes`) and
`apps.connections.open` (with the app token: the URL of a FakeSocketMode, tests/channels/slack_socket_fake.py);
anything else is `unknown_method`. A wrong token gets `invalid_auth`.
Failures can be queued per method, answered in order before the method works again:

    async with FakeSlack() as slack:
        slack.fail_next("chat.postMessage", status=429, error="ratelimited", headers={"Retry-After": "1"})
        client = web_client(slack.token, slack.url)
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-1-A0001-test-app-token"
BOT_USER_ID = "UBOT"
TEAM_ID = "T0001"


@dataclass(frozen=True)
class Call:
    method: str
    args: dict[str, Any]
    token: str | None


@dataclass(frozen=True)
class Failure:
    status: int
    error: str
    headers: dict[str, str] = field(default_factory=dict)


class FakeSlack:
    def __init__(self, token: str = TOKEN, app_token: str = APP_TOKEN) -> None:
        self.token = token
        self.app_token = app_token
        self.socket_url = ""
        """The websocket URL `apps.connections.open` hands out (set by a FakeSocketMode)."""
        self.calls: list[Call] = []
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        """(channel, ts) → the message's arguments as posted, updated by chat.update."""
        self.emails: dict[str, str] = {}
        """Slack user id → profile email, for users.info and users.lookupByEmail."""
        self.user_fields: dict[str, dict[str, Any]] = {}
        """Slack user id → more fields of its user object (is_bot, deleted, is_restricted, team_id, …)."""
        self.homes: dict[str, dict[str, Any]] = {}
        """Slack user id → the Home tab view last published for them (views.publish)."""
        self.ephemeral: list[dict[str, Any]] = []
        """The arguments of every chat.postEphemeral, in order (seen only by their `user`)."""
        self.url = ""
        self._failures: defaultdict[str, deque[Failure]] = defaultdict(deque)
        self._held: dict[str, asyncio.Event] = {}
        self._runner: web.AppRunner | None = None
        self._ts = 0

    def fail_next(self, method: str, *, error: str, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self._failures[method].append(Failure(status, error, headers or {}))

    def hold(self, method: str) -> None:
        """Keep calls to the method waiting (recorded, not answered: a Slack that is slow right now) until
        `release(method)`."""
        self._held[method] = asyncio.Event()

    def release(self, method: str) -> None:
        held = self._held.pop(method, None)
        if held is not None:
            held.set()

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def posted(self, channel: str | None = None) -> list[dict[str, Any]]:
        """The arguments of every chat.postMessage that succeeded (to one channel if given), in order."""
        return [args for (chat, _), args in self.messages.items() if channel is None or chat == channel]

    async def __aenter__(self) -> FakeSlack:
        app = web.Application()
        app.router.add_post("/api/{method}", self._handle)
        app.router.add_get("/api/{method}", self._handle)  # slack_sdk reads users.info and users.lookupByEmail with GET
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        listener = socket.create_server(("127.0.0.1", 0))
        await web.SockSite(self._runner, listener).start()
        self.url = f"http://127.0.0.1:{listener.getsockname()[1]}/api/"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _arguments(self, request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            args.update(await request.json())
        elif request.can_read_body:
            args.update(dict(await request.post()))
        if isinstance(args.get("blocks"), str):
            args["blocks"] = json.loads(args["blocks"])
        return args

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        authorization = request.headers.get("Authorization", "")
        token = authorization.removeprefix("Bearer ") if authorization.startswith("Bearer ") else None
        args = await self._arguments(request)
        self.calls.append(Call(method, args, token))
        held = self._held.get(method)
        if held is not None:
            await held.wait()
        if token != (self.app_token if method == "apps.connections.open" else self.token):
            return web.json_response({"ok": False, "error": "invalid_auth"})
        queued = self._failures.get(method)
        if queued:
            failure = queued.popleft()
            return web.json_response({"ok": False, "error": failure.error}, status=failure.status, headers=failure.headers)
        answer = getattr(self, "_" + method.replace(".", "_"), None)
        if answer is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        return web.json_response({"ok": True, **answer(args)})

    def _next_ts(self) -> str:
        self._ts += 1
        return f"1764000000.{self._ts:06d}"

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"url": "https://test.slack.example/", "team": "Test", "user": "backoffice", "team_id": TEAM_ID,
                "user_id": BOT_USER_ID, "bot_id": "BBOT"}

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(args["channel"]), self._next_ts()
        self.messages[(channel, ts)] = args
        return {"channel": channel, "ts": ts, "message": {"text": args.get("text"), "ts": ts}}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        key = (str(args["channel"]), str(args["ts"]))
        if key not in self.messages:
            return {"ok": False, "error": "message_not_found"}
        self.messages[key] = {**self.messages[key], **args}
        return {"channel": key[0], "ts": key[1]}

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"channel": {"id": f"D{args['users']}"}}

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = str(args["user"])
        return {"user": {"id": user, "team_id": TEAM_ID, "profile": {"email": self.emails.get(user, "")}, **self.user_fields.get(user, {})}}

    def _users_lookupByEmail(self, args: dict[str, Any]) -> dict[str, Any]:
        wanted = str(args["email"]).lower()
        user = next((user for user, email in self.emails.items() if email.lower() == wanted), None)
        if user is None:
            return {"ok": False, "error": "users_not_found"}
        return {"user": {"id": user, "team_id": TEAM_ID, "profile": {"email": self.emails[user]}, **self.user_fields.get(user, {})}}

    def _chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        self.ephemeral.append(args)
        return {"message_ts": self._next_ts()}

    def _apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"url": f"{self.socket_url}?ticket=t{len(self.calls_to('apps.connections.open'))}&app_id=A1"}

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user, view = str(args["user_id"]), args["view"]
        self.homes[user] = json.loads(view) if isinstance(view, str) else view
        return {"view": {"id": f"V{user}", "team_id": TEAM_ID, **self.homes[user]}}

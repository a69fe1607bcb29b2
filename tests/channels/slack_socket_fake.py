"""A fake of Slack's Socket Mode server for tests: a real websocket server on 127.0.0.1 speaking Slack's protocol.

FakeSlack's `apps.connections.open` hands out this server's URL (with a `ticket` query, as Slack's does). On each
connection the server sends `hello`; a test sends envelopes (`events_api`, `interactive`, `slash_commands`, each
with its `envelope_id`, `payload`, `accepts_response_payload`, `retry_attempt` and `retry_reason`) to the newest
connection, asks the client to reconnect (`disconnect`) or closes the socket from its side. The client's
acknowledgements (`{"envelope_id": …, "payload"?: …}`) are recorded in order; `on_ack`, if set, runs as each one
arrives, before it is recorded (to look at the database at that moment):

    async with FakeSlack() as slack, FakeSocketMode(slack) as sockets:
        envelope_id = await sockets.send("events_api", json.loads(dm("Ev1", "hi")))
        await until(lambda: sockets.acked(envelope_id))
"""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import WSMsgType, web

from tests.channels.slack_fake import FakeSlack
from tests.running import until


@dataclass(frozen=True)
class Ack:
    envelope_id: str
    payload: dict[str, Any] | None


class FakeSocketMode:
    def __init__(self, slack: FakeSlack) -> None:
        self.slack = slack
        self.url = ""
        self.acks: list[Ack] = []
        self.connections = 0
        """Websocket connections accepted so far."""
        self.open: list[web.WebSocketResponse] = []
        """The connections open now, oldest first."""
        self.on_ack: Callable[[Ack], Awaitable[None]] | None = None
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> FakeSocketMode:
        app = web.Application()
        app.router.add_get("/link/", self._connection)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        listener = socket.create_server(("127.0.0.1", 0))
        await web.SockSite(self._runner, listener).start()
        self.url = f"ws://127.0.0.1:{listener.getsockname()[1]}/link/"
        self.slack.socket_url = self.url
        return self

    async def __aexit__(self, *exc: object) -> None:
        for connection in list(self.open):
            await connection.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def acked(self, envelope_id: str) -> Ack | None:
        return next((ack for ack in self.acks if ack.envelope_id == envelope_id), None)

    async def send(
        self, kind: str, payload: dict[str, Any], *, envelope_id: str | None = None, retry_attempt: int = 0,
        retry_reason: str = "", accepts_response_payload: bool | None = None,
    ) -> str:
        """Send an envelope on the newest connection (waiting for one); returns its envelope_id."""
        await until(lambda: bool(self.open))
        envelope_id = envelope_id or str(uuid.uuid4())
        await self.open[-1].send_json({
            "envelope_id": envelope_id, "type": kind, "payload": payload,
            "accepts_response_payload": kind == "slash_commands" if accepts_response_payload is None else accepts_response_payload,
            "retry_attempt": retry_attempt, "retry_reason": retry_reason,
        })
        return envelope_id

    async def disconnect(self, reason: str = "refresh_requested") -> None:
        """Ask the client to move to a new connection, as Slack does every few hours (the old one stays open)."""
        await until(lambda: bool(self.open))
        await self.open[-1].send_json({"type": "disconnect", "reason": reason, "debug_info": {"host": "fake-socket-mode"}})

    async def drop(self) -> None:
        """Close the newest connection from the server's side."""
        await until(lambda: bool(self.open))
        await self.open[-1].close()

    async def _connection(self, request: web.Request) -> web.WebSocketResponse:
        connection = web.WebSocketResponse()  # answers the client's pings by itself
        await connection.prepare(request)
        self.connections += 1
        self.open.append(connection)
        try:
            await connection.send_json({
                "type": "hello", "num_connections": len(self.open),
                "debug_info": {"host": "fake-socket-mode", "approximate_connection_time": 18060},
                "connection_info": {"app_id": "A1"},
            })
            async for message in connection:
                if message.type == WSMsgType.TEXT:
                    data = json.loads(message.data)
                    ack = Ack(str(data["envelope_id"]), data.get("payload"))
                    if self.on_ack is not None:
                        await self.on_ack(ack)
                    self.acks.append(ack)
        finally:
            self.open.remove(connection)
        return connection

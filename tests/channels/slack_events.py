"""Slack as the tests drive it: requests signed exactly as Slack signs them, the event and interaction bodies
Slack sends, and a running `backoffice run` service wired to a fake Slack Web API (tests/channels/slack_fake.py).
The `running` fixture is in tests/channels/conftest.py."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import func, select

from bot.cli import upgrade_database
from bot.service import Service
from storage import people
from storage.database import Database
from storage.inbox import InboxUpdate
from tests.channels.slack_fake import TEAM_ID, FakeSlack
from tests.factories import make_company

SECRET = "test-signing-secret"
ALICE = "UALICE"
ALICE_DM = "DALICE"


def signed(body: bytes, *, secret: str = SECRET, timestamp: int | None = None, content_type: str = "application/json") -> dict[str, str]:
    """The headers Slack sends: `v0=` + HMAC-SHA256 of `v0:{timestamp}:{body}` with the signing secret."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}", "Content-Type": content_type}


def event(event_id: str, inner: dict[str, Any]) -> bytes:
    return json.dumps({"token": "unused", "team_id": TEAM_ID, "api_app_id": "A1", "type": "event_callback",
                       "event_id": event_id, "event_time": int(time.time()), "event": inner}).encode()


def dm(event_id: str, text: str, *, user: str = ALICE, channel: str = ALICE_DM, **extra: Any) -> bytes:
    return event(event_id, {"type": "message", "channel_type": "im", "channel": channel, "user": user, "text": text,
                            "ts": f"{time.time():.6f}", "team": TEAM_ID, **extra})


def block_actions(value: str, label: str, *, message_ts: str, channel: str = ALICE_DM, user: str = ALICE) -> bytes:
    """The form-encoded body of a button press, as Slack POSTs it."""
    payload = block_actions_payload(value, label, message_ts=message_ts, channel=channel, user=user)
    return urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()


def block_actions_payload(value: str, label: str, *, message_ts: str, channel: str = ALICE_DM, user: str = ALICE) -> dict[str, Any]:
    """A button press as Slack describes it (the `payload` of the POST, or of a Socket Mode `interactive` envelope)."""
    return {
        "type": "block_actions", "team": {"id": TEAM_ID}, "user": {"id": user, "team_id": TEAM_ID},
        "api_app_id": "A1", "container": {"type": "message", "message_ts": message_ts, "channel_id": channel},
        "channel": {"id": channel, "name": "directmessage"}, "message": {"ts": message_ts, "type": "message"},
        "trigger_id": "1.2.3", "response_url": "http://127.0.0.1:9/unused",
        "actions": [{"type": "button", "action_id": "form-0", "block_id": "b1", "value": value,
                     "text": {"type": "plain_text", "text": label}, "action_ts": f"{time.time():.6f}"}],
    }


async def prepare_company(database_url: str) -> None:
    """Migrate the database and add the demo company (tests/factories.py), Alice linked to ALICE on Slack."""
    database = Database(database_url)
    try:
        await upgrade_database(database)
        async with database.transaction() as session:
            company = await make_company(session)
            await people.link_identity(session, company.alice, "slack", ALICE)
    finally:
        await database.dispose()


@dataclass
class Running:
    service: Service
    slack: FakeSlack
    http: httpx.AsyncClient
    database_url: str

    async def post(self, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
        return await self.http.post("/slack/events", content=body, headers=headers if headers is not None else signed(body))

    async def press(self, body: bytes) -> httpx.Response:
        return await self.post(body, signed(body, content_type="application/x-www-form-urlencoded"))

    async def inbox_rows(self) -> int:
        database = Database(self.database_url)
        try:
            async with database.reading() as session:
                return int(await session.scalar(select(func.count()).select_from(InboxUpdate)) or 0)
        finally:
            await database.dispose()

    def texts(self, channel: str = ALICE_DM) -> list[str]:
        return [block["text"]["text"] for args in self.slack.posted(channel) for block in args["blocks"] if block["type"] == "section" and "text" in block]

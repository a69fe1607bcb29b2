"""The Slack channel over Socket Mode, end to end: `backoffice run`'s service with SLACK_APP_TOKEN set opens a real
websocket (slack_sdk's aiohttp client, through bolt's Socket Mode handler) to a fake Socket Mode server on 127.0.0.1
(tests/channels/slack_socket_fake.py), which it found through `apps.connections.open` at the fake Web API; envelopes
go in there, acknowledgements come back, and the replies go out through `chat.postMessage` at the fake."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from bot.channels.slack import SlackSocketChannel, slack_socket_mode
from bot.inbox import Inbox
from bot.service import Service, ServiceError, configured_service
from bot.settings import SettingsError, load_settings
from nlu import Interpreter
from storage import inbox
from storage.database import Database
from storage.inbox import InboxUpdate
from storage.redaction import redact_secrets
from tests.channels.slack_events import ALICE, ALICE_DM, Running, block_actions_payload, dm, prepare_company
from tests.channels.slack_fake import FakeSlack
from tests.channels.slack_socket_fake import Ack, FakeSocketMode
from tests.running import NOW, serving, until


@dataclass
class OverSocket(Running):
    sockets: FakeSocketMode
    stop: asyncio.Event

    async def event(self, body: bytes, **envelope: Any) -> str:
        """Send an Events API body (tests/channels/slack_events.py) as an `events_api` envelope; its envelope_id."""
        return await self.sockets.send("events_api", json.loads(body), **envelope)


def socket_mode_service(database_url: str, tmp_path: Path, slack: FakeSlack, interpreter: Interpreter, *, app_token: str | None = None) -> Service:
    settings = load_settings(database_url=database_url, data_dir=tmp_path, http_host="127.0.0.1", http_port=0,
                             slack_bot_token=slack.token, slack_app_token=app_token or slack.app_token, slack_api_url=slack.url)
    return configured_service(settings, interpreter=interpreter, clock=lambda: NOW)


@pytest.fixture
async def over_socket(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, interpreter: Interpreter) -> AsyncIterator[OverSocket]:
    monkeypatch.chdir(tmp_path)  # no stray .env
    await prepare_company(database_url)
    async with FakeSlack() as slack, FakeSocketMode(slack) as sockets:
        service = socket_mode_service(database_url, tmp_path, slack, interpreter)
        async with serving(service) as stop, httpx.AsyncClient(base_url=service.url, timeout=10) as http:
            await until(lambda: bool(sockets.open))
            yield OverSocket(service, slack, http, database_url, sockets, stop)


async def test_a_direct_message_over_socket_mode_is_answered_through_chat_post_message(over_socket: OverSocket) -> None:
    slack = over_socket.slack
    envelope = await over_socket.event(dm("Ev1", "hi"))
    await until(lambda: bool(slack.posted(ALICE_DM)))
    assert over_socket.sockets.acked(envelope) == Ack(envelope, None)
    assert await over_socket.inbox_rows() == 1
    opened = slack.calls_to("apps.connections.open")
    assert len(opened) == 1 and opened[0].token == slack.app_token  # at SLACK_API_URL, with the app token
    assert all(call.token == slack.token for call in slack.calls if call.method != "apps.connections.open")
    assert (await over_socket.post(dm("Ev2", "hi"))).status_code == 404  # no /slack/events in Socket Mode


class Rollback(Exception):
    pass


async def test_an_envelope_is_acknowledged_only_once_its_inbox_row_is_stored(over_socket: OverSocket) -> None:
    """The test holds the inbox row's key (PostgreSQL) or the write lock (SQLite) in a transaction of its own: the
    listener's insert waits for it, and so must the acknowledgement."""
    rows_when_acked: list[int] = []

    async def count_rows(ack: Ack) -> None:
        rows_when_acked.append(await over_socket.inbox_rows())

    over_socket.sockets.on_ack = count_rows
    database = Database(over_socket.database_url)
    try:
        with contextlib.suppress(Rollback):
            async with database.transaction() as session:
                await inbox.accept(session, platform="slack", key="EvHeld", chat_id=ALICE_DM, incoming={}, now=NOW)
                envelope = await over_socket.event(dm("EvHeld", "hi"))
                await asyncio.sleep(0.5)  # time enough for an early acknowledgement, were there one
                assert over_socket.sockets.acked(envelope) is None
                raise Rollback
        await until(lambda: over_socket.sockets.acked(envelope) is not None)
        assert rows_when_acked == [1]
        async with database.reading() as session:
            stored = await session.scalar(select(InboxUpdate))
        assert stored is not None and stored.key == "EvHeld" and stored.incoming["text"] == "hi"  # the listener's row
    finally:
        await database.dispose()


async def test_a_retried_envelope_makes_one_inbox_row_and_one_answer(over_socket: OverSocket) -> None:
    body = dm("EvRetried", "hi")
    first = await over_socket.event(body)
    await until(lambda: bool(over_socket.slack.posted(ALICE_DM)))
    retried = await over_socket.event(body, retry_attempt=1, retry_reason="timeout")
    await until(lambda: over_socket.sockets.acked(retried) is not None)
    await asyncio.sleep(0.5)  # time enough for a second answer, were there one
    assert over_socket.sockets.acked(first) is not None
    assert len(over_socket.slack.calls_to("chat.postMessage")) == 1
    assert await over_socket.inbox_rows() == 1


async def test_a_button_press_over_socket_mode_reaches_the_core_as_its_payload(over_socket: OverSocket) -> None:
    slack = over_socket.slack
    await over_socket.event(dm("EvLeave", "I need sick leave tomorrow"))
    await until(lambda: any(block["type"] == "actions" for args in slack.posted(ALICE_DM) for block in args["blocks"]))
    (channel, ts), question = next((key, args) for key, args in slack.messages.items() if any(b["type"] == "actions" for b in args["blocks"]))
    yes = next(block for block in question["blocks"] if block["type"] == "actions")["elements"][0]

    pressed = await over_socket.sockets.send("interactive", block_actions_payload(yes["value"], yes["text"]["text"], message_ts=ts, channel=channel))
    # The answer takes the question's place (chat.update): its Yes/No can't be pressed again.
    await until(lambda: all(block["type"] != "actions" for block in slack.messages[(channel, ts)]["blocks"]))
    assert over_socket.sockets.acked(pressed) == Ack(pressed, None)
    assert slack.messages[(channel, ts)]["text"].startswith("Done: sick leave")  # "… is registered (request #1) …"
    database = Database(over_socket.database_url)
    try:
        async with database.reading() as session:
            rows = (await session.scalars(select(InboxUpdate).where(InboxUpdate.key.startswith("action:")))).all()
    finally:
        await database.dispose()
    (row,) = rows  # one press, stored once
    assert row.key.startswith(f"action:{channel}:{ts}:") and row.incoming["payload"] == yes["value"]
    assert row.incoming["private"] is True and row.incoming["user_id"] == ALICE


async def test_the_connection_is_opened_again_after_a_drop_and_a_refresh_request(over_socket: OverSocket) -> None:
    sockets = over_socket.sockets
    await sockets.drop()  # closed by Slack's side
    await until(lambda: sockets.connections == 2 and len(sockets.open) == 1)
    await sockets.disconnect("refresh_requested")  # Slack asks for a new connection
    await until(lambda: sockets.connections == 3 and len(sockets.open) == 1)
    assert len(over_socket.slack.calls_to("apps.connections.open")) == 3

    envelope = await over_socket.event(dm("EvAfter", "hi"))
    await until(lambda: bool(over_socket.slack.posted(ALICE_DM)))
    assert sockets.acked(envelope) is not None
    assert (await over_socket.http.get("/healthz")).status_code == 200  # the service never noticed


async def test_stopping_the_service_closes_the_socket(over_socket: OverSocket) -> None:
    assert len(over_socket.sockets.open) == 1
    over_socket.stop.set()
    await until(lambda: not over_socket.sockets.open)
    assert over_socket.sockets.connections == 1  # closed, not reconnected


# --- the channel on its own -----------------------------------------------------------------------------------


async def test_an_envelope_that_could_not_be_stored_is_not_acknowledged_and_its_redelivery_is(database: Database, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # nothing logs the message, even at DEBUG
    inboxes: list[Inbox] = []  # none yet: storing fails as when the database is down
    async with FakeSlack() as slack, FakeSocketMode(slack) as sockets:
        channel = slack_socket_mode(slack.token, slack.app_token, inbox=lambda: inboxes[0] if inboxes else None, api_url=slack.url)
        stop = asyncio.Event()
        polling = asyncio.create_task(channel.poll(stop))
        try:
            body = json.loads(dm("EvLater", "my salary is 4321"))
            refused = await sockets.send("events_api", body)
            await until(lambda: "could not be stored" in caplog.text)
            inboxes.append(Inbox(database, clock=lambda: NOW))
            redelivered = await sockets.send("events_api", body, retry_attempt=1, retry_reason="timeout")
            await until(lambda: sockets.acked(redelivered) is not None)
            assert sockets.acked(refused) is None
            async with database.reading() as session:
                assert await session.scalar(select(func.count()).select_from(InboxUpdate)) == 1
        finally:
            stop.set()
            async with asyncio.timeout(20):
                await polling
        assert not sockets.open  # closed on stop
        assert "4321" not in caplog.text


async def test_a_refused_app_token_stops_the_service_with_one_line(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, interpreter: Interpreter, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.chdir(tmp_path)
    await prepare_company(database_url)
    async with FakeSlack() as slack, FakeSocketMode(slack) as sockets:
        service = socket_mode_service(database_url, tmp_path, slack, interpreter, app_token="xapp-1-A0001-revoked-token")
        with pytest.raises(ServiceError) as raised:
            async with asyncio.timeout(30):
                await service.run(asyncio.Event())
    assert str(raised.value) == "SLACK_APP_TOKEN was refused by Slack's apps.connections.open (invalid_auth)"
    assert raised.value.__cause__ is None  # one line: `backoffice run` logs no traceback with it
    assert slack.calls_to("apps.connections.open")[0].token == "xapp-1-A0001-revoked-token"
    assert [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING] == []  # nothing else
    assert sockets.connections == 0


# --- settings -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "value", "variable"),
    [("slack_app_token", "xoxb-123-not-an-app-token", "SLACK_APP_TOKEN"), ("slack_bot_token", "xapp-1-A1-not-a-bot-token", "SLACK_BOT_TOKEN")],
)
def test_a_slack_token_of_the_wrong_kind_is_refused_naming_its_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setting: str, value: str, variable: str) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SettingsError) as raised:
        load_settings(data_dir=tmp_path, **{setting: value})
    assert str(raised.value).startswith(f"{variable}: must be") and value not in str(raised.value)


def test_socket_mode_needs_the_bot_token_but_no_signing_secret_and_serves_no_events_route(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ServiceError, match=r"^SLACK_BOT_TOKEN is not set: Slack needs it besides SLACK_APP_TOKEN$"):
        configured_service(load_settings(data_dir=tmp_path, slack_app_token="xapp-1-A1-token"))
    settings = load_settings(data_dir=tmp_path, slack_bot_token="xoxb-1-token", slack_app_token="xapp-1-A1-token")
    service = configured_service(settings)
    assert isinstance(service.channels["slack"], SlackSocketChannel) and service.routes == []
    assert "xapp-1-A1-token" in settings.secret_values  # the log filter removes it


def test_a_bot_token_with_neither_an_app_token_nor_a_signing_secret_stops_start_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ServiceError, match="SLACK_APP_TOKEN .*or SLACK_SIGNING_SECRET") as raised:
        configured_service(load_settings(data_dir=tmp_path, slack_bot_token="xoxb-1-token", slack_app_token=""))
    assert "\n" not in str(raised.value)


def test_a_socket_mode_url_in_a_connection_error_is_logged_without_its_ticket() -> None:
    error = "Failed to connect (error: 404, message='Invalid response status', url='wss://wss-primary.slack.com/link/?ticket=5c1e-77a0&app_id=A1')"
    assert "5c1e-77a0" not in redact_secrets(error) and "app_id=A1" in redact_secrets(error)

"""A scheduled message the platform refuses with 429 is waited for and delivered once: the whole path of a personal
reminder in `backoffice run` — the scheduler fires it into the outbox, the delivery worker sends it through the real
Slack or Telegram channel to the fake server, which answers the first `chat.postMessage` / `sendMessage` with 429
and Retry-After — ends with one message in the chat, one delivered outbox row under the reminder's idempotency key."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.service import Service
from nlu import Interpreter
from storage import schedules
from storage.database import Database
from storage.outbox import OutboxMessage, OutboxStatus
from storage.people import Employee
from storage.schedules import PERSONAL
from tests.channels import test_telegram as telegram_tests
from tests.channels.slack_events import Running as SlackRunning
from tests.running import NOW, until

WHAT = "send the quarterly report to Dilnoza"


async def remind_alice(database_url: str, service: Service) -> int:
    """Alice's one-off reminder, due a minute before the service's clock; the scheduler woken to fire it."""
    database = Database(database_url)
    try:
        async with database.transaction() as session:
            alice = await session.scalar(select(Employee).where(Employee.email == "alice@example.com"))
            assert alice is not None
            due = NOW - timedelta(minutes=1)
            made = await schedules.add(
                session, kind=PERSONAL, owner=alice, next_due=due, payload={"what": WHAT, "language": "en"},
                once_at=due, timezone=alice.timezone, explicit_time=True, now=NOW - timedelta(minutes=5),
            )
            schedule_id = made.id
    finally:
        await database.dispose()
    assert service.scheduler is not None
    service.scheduler.wake()
    return schedule_id


async def reminder_rows(database_url: str, schedule_id: int) -> list[OutboxMessage]:
    database = Database(database_url)
    try:
        async with database.reading() as session:
            rows = await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
            return [row for row in rows if (row.idempotency_key or "").startswith(PERSONAL) and
                    (row.idempotency_key or "").endswith(f":{schedule_id}")]
    finally:
        await database.dispose()


async def delivered_row(database_url: str, schedule_id: int) -> OutboxMessage:
    """The reminder's one outbox row once recorded as delivered (just after the send; polled like `until`)."""
    deadline = time.monotonic() + 20
    while True:
        rows = await reminder_rows(database_url, schedule_id)
        assert len(rows) <= 1, "one firing, one message"
        if rows and rows[0].status == OutboxStatus.DELIVERED:
            return rows[0]
        assert time.monotonic() < deadline, "the reminder's outbox row was not marked delivered"
        await asyncio.sleep(0.05)


async def test_a_scheduled_reminder_refused_with_429_by_slack_is_retried_and_delivered_once(running: SlackRunning) -> None:
    running.slack.fail_next("chat.postMessage", status=429, error="ratelimited", headers={"Retry-After": "1"})
    started = time.monotonic()
    schedule_id = await remind_alice(running.database_url, running.service)

    def reminders() -> list[dict[str, Any]]:
        return [args for args in running.slack.posted() if WHAT in str(args)]

    await until(lambda: len(reminders()) >= 1)
    assert time.monotonic() - started >= 1.0  # it waited as long as Retry-After said
    row = await delivered_row(running.database_url, schedule_id)
    assert row.platform == "slack" and row.attempts <= 1  # slack_sdk waited and retried: no outbox back-off needed
    tries = [call for call in running.slack.calls_to("chat.postMessage") if WHAT in str(call.args)]
    assert len(tries) == 2 and len(reminders()) == 1  # refused once, taken once


@pytest.fixture
async def telegram(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                   interpreter: Interpreter) -> AsyncIterator[telegram_tests.Running]:
    """The service with Telegram over long polling against the fake Bot API (Alice, Maria, Bob linked)."""
    monkeypatch.chdir(tmp_path)  # no stray .env
    async for running in telegram_tests._running(database_url, tmp_path, interpreter, webhook=False):
        yield running


async def test_a_scheduled_reminder_refused_with_429_by_telegram_is_retried_and_delivered_once(
    telegram: telegram_tests.Running,
) -> None:
    telegram.telegram.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    started = time.monotonic()
    schedule_id = await remind_alice(telegram.database_url, telegram.service)

    def reminders() -> list[str]:
        return [text for text in telegram.telegram.texts(telegram_tests.ALICE) if WHAT in text]

    await until(lambda: len(reminders()) >= 1)
    assert time.monotonic() - started >= 1.0
    row = await delivered_row(telegram.database_url, schedule_id)
    assert row.platform == "telegram" and row.attempts <= 1
    tries = [call for call in telegram.telegram.calls_to("sendMessage") if call.args["chat_id"] == telegram_tests.ALICE]
    assert len(tries) == 2 and len(reminders()) == 1

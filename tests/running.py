"""Helpers for tests that run the service or its workers: a settable clock, waiting for another task, serving."""

from __future__ import annotations

import asyncio
import re
import subprocess
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bot.service import Service
from storage.database import Database
from storage.inbox import InboxStatus, InboxUpdate
from storage.outbox import OutboxMessage, OutboxStatus

NOW = datetime(2026, 11, 23, 6, 0)


class Clock:
    """An injected clock that tests move by hand (nothing sleeps for real time)."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


async def until(condition: Callable[[], bool], seconds: float = 20.0) -> None:
    """Wait for something another task does (polling briefly); fail the test if it doesn't happen in time."""
    async with asyncio.timeout(seconds):
        while not condition():
            await asyncio.sleep(0.02)


@asynccontextmanager
async def serving(service: Service) -> AsyncIterator[asyncio.Event]:
    """Run the service for the block (once it has started); its stop event is yielded so the block can stop it
    early. Fails the test if the service takes over 30 s to start or to stop."""
    stop = asyncio.Event()
    running = asyncio.create_task(service.run(stop))
    try:
        async with asyncio.timeout(30):
            await service.started.wait()
        yield stop
    finally:
        stop.set()
        async with asyncio.timeout(30):
            await running


async def listening_url(log_file: Path, process: subprocess.Popen[bytes]) -> str:
    """The address the child logged when it opened its port (it picked a free one)."""
    async with asyncio.timeout(60):
        while True:
            found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", log_file.read_text(encoding="utf-8", errors="replace"))
            if found:
                return found.group(1)
            assert process.poll() is None, log_file.read_text(encoding="utf-8", errors="replace")
            await asyncio.sleep(0.05)


async def count_rows(database: Database, what: Any, *where: Any) -> int:
    """How many rows of a table (a model) match the conditions."""
    async with database.reading() as session:
        return int(await session.scalar(select(func.count()).select_from(what).where(*where)) or 0)


async def settled(database: Database, now: datetime) -> bool:
    """Every stored update that is due processed, and nothing due in the outbox still to be sent: a running
    service has done all it had to do by `now`."""
    inbox = await count_rows(database, InboxUpdate, InboxUpdate.status == InboxStatus.PENDING, InboxUpdate.due_at <= now)
    return not inbox and not await count_rows(database, OutboxMessage, OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.due_at <= now)

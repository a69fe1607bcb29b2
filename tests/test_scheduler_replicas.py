"""Two real `backoffice run` replicas on one PostgreSQL database (issue 11): one leads the scheduler and fires the
reminders due while it lives; SIGKILLed (no clean-up, the lease not given up), the other takes the lease once it has
run out — within the lease (25 s) and a poll (5 s) — and fires what fell due meanwhile; every reminder queues exactly
one outbox message, none twice, none lost.

On the wall clock and with real processes (tests/test_scheduler.py covers the same with an injected clock), so it
takes 35-50 s, most of it the dead leader's lease running out (17-28 s measured). No chat channel is configured, so the delivery
workers give the messages up ("not linked on any chat platform"): what is checked is what the schedulers queued —
the outbox rows and their idempotency keys (kind:recipient:due:schedule) — not what a platform received, which is
the outbox's own business (tests/test_delivery.py). Reminders are added while the replicas run, as chat adds them,
so the test knows which side of the kill each one falls due on.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.cli import upgrade_database
from bot.scheduler import LEASE
from storage import schedules
from storage.base import utcnow
from storage.database import Database
from storage.outbox import OutboxMessage
from storage.people import Employee
from storage.schedules import PERSONAL, Schedule, SchedulerLease
from tests.factories import make_company
from tests.running import listening_url

# PostgreSQL only: replicas share a server, not a file (and SKIP LOCKED, the lease row lock are PostgreSQL's);
# `postgres_schema` first, so the test is skipped without it before the NLU model is trained for nothing.
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("postgres_schema"), pytest.mark.parametrize("backend", ["postgresql"])]

POLL = timedelta(seconds=5)
"""The scheduler's round interval in `backoffice run` (bot/scheduler.py)."""
MARGIN = timedelta(seconds=5)
"""Slack for a round's own time on a loaded machine."""


class Replica:
    """One `backoffice run` child process and its log."""

    def __init__(self, name: str, tmp_path: Path, environment: dict[str, str]) -> None:
        self.log_file = tmp_path / f"{name}.log"
        with self.log_file.open("wb") as log_output:
            self.process = subprocess.Popen(
                [sys.executable, "-c", "from bot.cli import main; main()", "run"],
                cwd=tmp_path, env=environment, stdout=log_output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )

    def log(self) -> str:
        return self.log_file.read_text(encoding="utf-8", errors="replace")

    async def ready(self) -> None:
        """Listening, the assistant loaded and its workers (the scheduler among them) running."""
        await listening_url(self.log_file, self.process)
        await self.logged(r"ready: delivering to")

    async def logged(self, pattern: str, seconds: float = 60) -> re.Match[str]:
        async with asyncio.timeout(seconds):
            while not (found := re.search(pattern, self.log())):
                assert self.process.poll() is None, self.log()
                await asyncio.sleep(0.1)
        return found

    async def leader_name(self) -> str:
        """The name its scheduler leads under, once it does."""
        return (await self.logged(r"leading the scheduler \((.+?)\)")).group(1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)


@contextmanager
def replicas(tmp_path: Path, environment: dict[str, str]) -> Iterator[Callable[[str], Replica]]:
    """Start replicas by name; every one started is killed when the block ends, however it ends."""
    started: list[Replica] = []

    def start(name: str) -> Replica:
        started.append(Replica(name, tmp_path, environment))
        return started[-1]

    try:
        yield start
    finally:
        for replica in started:
            replica.stop()


async def add_reminders(database: Database, owners: list[Employee], due: list[datetime], label: str) -> dict[int, datetime]:
    """Personal one-off reminders at these instants (UTC, at an explicit time: no quiet hours), as the chat stores
    them; schedule id → due instant."""
    added = {}
    async with database.transaction() as session:
        for n, moment in enumerate(due):
            made = await schedules.add(
                session, kind=PERSONAL, owner=owners[n % len(owners)], next_due=moment, payload={"what": f"{label}{n}", "language": "en"},
                once_at=moment, timezone="UTC", explicit_time=True,
            )
            added[made.id] = moment
    return added


async def reminder_messages(database: Database) -> list[OutboxMessage]:
    async with database.reading() as session:
        rows = await session.scalars(select(OutboxMessage).where(OutboxMessage.idempotency_key.startswith(f"{PERSONAL}:")))
        return list(rows)


def schedule_of(message: OutboxMessage) -> int:
    """The schedule a personal reminder's message came from: the last part of its key (actions/reminders.py)."""
    assert message.idempotency_key is not None
    return int(message.idempotency_key.rsplit(":", 1)[1])


async def all_queued(database: Database, ids: set[int], seconds: float) -> list[OutboxMessage]:
    async with asyncio.timeout(seconds):
        while True:
            found = await reminder_messages(database)
            if ids <= {schedule_of(message) for message in found}:
                return found
            await asyncio.sleep(0.2)


async def lease(database: Database) -> SchedulerLease:
    async with database.reading() as session:
        found = await schedules.lease_of(session)
    assert found is not None
    return found


async def test_two_replicas_queue_every_reminder_once_and_a_killed_leader_hands_over_within_the_lease(
    database_url: str, tmp_path: Path, nlu_model_file: Path
) -> None:
    data_dir = tmp_path / "data"
    (data_dir / "nlu").mkdir(parents=True)
    shutil.copy(nlu_model_file, data_dir / "nlu" / "model.joblib")  # the trained model: no retraining in the children
    database = Database(database_url)
    await upgrade_database(database)
    async with database.transaction() as session:
        company = await make_company(session)
    owners = [company.alice, company.bob, company.manager, company.hr]
    environment = {
        **os.environ, "DATABASE_URL": database_url, "DATA_DIR": str(data_dir), "HTTP_HOST": "127.0.0.1", "HTTP_PORT": "0",
        "LOG_FORMAT": "text", "LOG_LEVEL": "INFO", "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
    }
    for setting in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "TELEGRAM_BOT_TOKEN"):
        environment.pop(setting, None)  # no channel, whatever the developer's shell has
    try:
        with replicas(tmp_path, environment) as start:
            first = start("a")
            await first.ready()
            leader = await first.leader_name()
            assert (await lease(database)).holder == leader
            second = start("b")
            await second.ready()

            now = utcnow()
            before_kill = await add_reminders(database, owners, [now + timedelta(seconds=1 + n / 2) for n in range(6)], "before")
            await all_queued(database, set(before_kill), seconds=(POLL + MARGIN).total_seconds() + 5)
            assert (await lease(database)).holder == leader  # the second replica only followed

            killed_at = utcnow()
            first.process.send_signal(signal.SIGKILL)
            await asyncio.to_thread(first.process.wait, 15)
            dead_lease = await lease(database)
            assert dead_lease.holder == leader and dead_lease.expires_at > killed_at  # not given up: it just runs out
            # Due while nobody leads (the earliest the lease can run out is 10 s after the kill: renewed at 15 s left).
            now = utcnow()
            after_kill = await add_reminders(database, owners, [now + timedelta(seconds=1 + n) for n in range(6)], "after")

            async with asyncio.timeout((LEASE + POLL + MARGIN).total_seconds()):
                while (taken := await lease(database)).holder == leader:
                    await asyncio.sleep(0.2)
            assert taken.holder == await second.leader_name()
            assert dead_lease.expires_at <= taken.acquired_at <= dead_lease.expires_at + POLL + MARGIN
            assert taken.acquired_at - killed_at <= LEASE + POLL + MARGIN
            await all_queued(database, set(after_kill), seconds=(POLL + MARGIN).total_seconds())
            await asyncio.sleep(POLL.total_seconds())  # a round more of the new leader, to queue a duplicate were it to
            assert second.process.poll() is None, second.log()

        queued = await reminder_messages(database)
        fired = Counter(schedule_of(message) for message in queued if "/" not in (message.idempotency_key or ""))
        assert fired == Counter(set(before_kill) | set(after_kill))  # exactly one message per reminder
        created = {schedule_of(message): message.created_at for message in queued}
        assert all(created[schedule_id] < killed_at for schedule_id in before_kill)
        assert all(created[schedule_id] >= taken.acquired_at for schedule_id in after_kill)  # queued by the new leader
        texts = sorted(message.payload["text"] for message in queued)
        assert texts == sorted(f"⏰ Reminder: {label}{n}" for label in ("before", "after") for n in range(6))
        async with database.reading() as session:
            rows = await session.scalars(select(Schedule).where(Schedule.kind == PERSONAL))
            fired_for = {row.id: (row.active, row.last_fired) for row in rows}
        assert fired_for == {schedule_id: (False, due) for schedule_id, due in {**before_kill, **after_kill}.items()}
    finally:
        await database.dispose()

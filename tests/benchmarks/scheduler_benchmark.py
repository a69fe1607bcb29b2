"""The scheduler: what firing due reminders costs us, and how fast they reach people — Telegram's limits, not our code.

Run: ``python tests/benchmarks/scheduler_benchmark.py [--reminders 2000] [--people 500]
[--database-url sqlite|postgresql://…] [--deliver-seconds 5] [--batch 20]`` (``--database-url`` may be repeated: one
row per database). The defaults are a short run (under a minute on SQLite); the issue's size,
``--reminders 100000 --people 5000``, takes some ten minutes per database on a 2-core machine: run it on a quiet one.

Set-up (not measured): a fresh database (a SQLite file in a temporary directory, or a fresh schema of a loopback
PostgreSQL server, dropped afterwards), migrated, seeded with the demo company plus staff cloned from it up to
`--people`, each linked to a Telegram user id; `--reminders` personal reminders (the kind "remind me at …" stores)
spread evenly over them, all due a minute ago, as after a Monday 09:00 burst or a restart.

Measured, enqueue: the real `bot.scheduler.Scheduler` (personal reminders only, so the assistant's own sweeps don't
mix in) takes the lease and fires rounds of 200 until nothing is due; each reminder becomes one outbox message under
its idempotency key, in the round's transaction. Printed: wall time for the leader to enqueue them all, reminders a
second, and CPU per reminder in this process (`time.process_time`; target < 1 ms), database server CPU not included
for PostgreSQL.

Measured, delivery: the real `bot.delivery.DeliveryWorker` (batches of `--batch`, as in the service each person's
messages in order and different people side by side) with the real `TelegramChannel` (python-telegram-bot) against
a fake Bot API in a process of its own (tests/benchmarks/telegram_benchmark.py's: it refuses a second message to a
private chat within a second with 429), for `--deliver-seconds` with PTB's `AIORateLimiter` on (Telegram's ~30
messages/s per bot), then as long again with it off, on what is left of the same outbox: messages delivered a
second, 429s from the fake, and our CPU per message. With the limiter on, delivery runs at the platform's limit;
off, what our code manages on this machine, which Telegram would answer with 429s.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import aiohttp  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

from actions import default_jobs  # noqa: E402
from bot.delivery import DeliveryWorker  # noqa: E402
from bot.scheduler import Scheduler  # noqa: E402
from storage import migrate, people  # noqa: E402
from storage.base import utcnow  # noqa: E402
from storage.database import Database  # noqa: E402
from storage.demo import seed_demo  # noqa: E402
from storage.outbox import OutboxMessage, OutboxStatus  # noqa: E402
from storage.people import Employee  # noqa: E402
from storage.schedules import PERSONAL, Schedule, WorkingDays  # noqa: E402
from tests.benchmarks import host  # noqa: E402
from tests.benchmarks.conversation_benchmark import check_databases, markdown  # noqa: E402
from tests.benchmarks.slack_benchmark import database_for  # noqa: E402
from tests.benchmarks.telegram_benchmark import FakeReport, bench_count, channel_for, fake_process, user_id  # noqa: E402

SCHEDULER_BATCH = 200
INSERT_CHUNK = 5_000


async def prepare(url: str, people_count: int, reminders: int) -> None:
    """Migrate, seed, clone staff up to `people_count` (each linked to Telegram), and store `reminders` due ones."""
    database = Database(url)
    try:
        await migrate.upgrade(database)
        now = utcnow()
        async with database.transaction() as session:
            await seed_demo(session, today=now.date())
            staff = list(await session.scalars(select(Employee).order_by(Employee.id)))
            models = list(staff)
            for n in range(len(staff), people_count):
                model = models[n % len(models)]
                clone = Employee(email=f"sched{n:05d}@silkroad.example", name=f"Staff Member {n}", department=model.department,
                                 job_title=model.job_title, manager_id=model.manager_id or model.id, language=model.language,
                                 timezone=model.timezone, calendar=model.calendar)
                session.add(clone)
                staff.append(clone)
            await session.flush()
            for n, employee in enumerate(staff[:people_count]):
                await people.link_identity(session, employee, people.Platform.TELEGRAM, str(user_id(n)))
            owners = [(employee.id, employee.timezone) for employee in staff[:people_count]]
        due = now - timedelta(minutes=1)
        rows = [
            {"kind": PERSONAL, "owner_id": owners[n % len(owners)][0], "timezone": owners[n % len(owners)][1],
             "payload": {"what": f"send the weekly report ({n})", "language": "en"}, "rule": None, "once_at": due,
             "working_days": WorkingDays.ANY, "quiet_hours": True, "explicit_time": True, "next_due": due, "active": True,
             "created_at": due}
            for n in range(reminders)
        ]
        for start in range(0, len(rows), INSERT_CHUNK):
            async with database.transaction() as session:
                await session.execute(insert(Schedule), rows[start:start + INSERT_CHUNK])
    finally:
        await database.dispose()


@dataclass(frozen=True)
class EnqueueRow:
    backend: str
    reminders: int
    queued: int
    seconds: float
    cpu_ms: float

    @property
    def rate(self) -> float:
        return self.queued / self.seconds if self.seconds else float("nan")

    @property
    def cpu_per_reminder_ms(self) -> float:
        return self.cpu_ms / self.queued if self.queued else float("nan")


async def enqueue(backend: str, url: str, reminders: int) -> EnqueueRow:
    database = Database(url)
    try:
        scheduler = Scheduler(database, default_jobs().only(PERSONAL), batch_size=SCHEDULER_BATCH, name="bench-leader")
        wall, cpu, queued = time.perf_counter(), time.process_time(), 0
        while True:
            firing = await scheduler.run_once()
            queued += firing.queued
            if not firing.fired and not firing.failed:
                break
        seconds, cpu_ms = time.perf_counter() - wall, (time.process_time() - cpu) * 1000
        async with database.sessions() as session:
            stored = await session.scalar(select(func.count()).select_from(OutboxMessage))
        assert stored == queued, f"{stored} outbox rows for {queued} queued"
        return EnqueueRow(backend, reminders, queued, seconds, cpu_ms)
    finally:
        await database.dispose()


@dataclass(frozen=True)
class DeliveryRow:
    backend: str
    limiter: str
    delivered: int
    seconds: float
    limited: int
    retried: int
    cpu_ms: float

    @property
    def rate(self) -> float:
        return self.delivered / self.seconds if self.seconds else float("nan")


async def deliver(backend: str, url: str, api_url: str, file_url: str, seconds: float, batch: int) -> list[DeliveryRow]:
    database = Database(url)
    rows = []
    try:
        async with aiohttp.ClientSession() as http:
            for rate_limited in (True, False):
                channel = channel_for(api_url, file_url, rate_limited=rate_limited)
                try:
                    await channel.identity.me()
                    worker = DeliveryWorker(database, {"telegram": channel}, batch_size=batch, name="bench-delivery")
                    before = (await bench_count(http, api_url))["limited"]
                    delivered = retried = 0
                    wall, cpu = time.perf_counter(), time.process_time()
                    while time.perf_counter() - wall < seconds:
                        done = await worker.run_once()
                        delivered, retried = delivered + len(done.delivered), retried + len(done.retried)
                        if not done.claimed:
                            break
                    took, cpu_ms = time.perf_counter() - wall, (time.process_time() - cpu) * 1000
                    limited = (await bench_count(http, api_url))["limited"] - before
                    rows.append(DeliveryRow(backend, "on" if rate_limited else "OFF", delivered, took, limited, retried, cpu_ms))
                finally:
                    await channel.close()
        async with database.sessions() as session:
            delivered_total = await session.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == OutboxStatus.DELIVERED)
            )
        assert delivered_total == sum(row.delivered for row in rows), "every delivery recorded once"
        return rows
    finally:
        await database.dispose()


def run_delivery(backend: str, url: str, seconds: float, batch: int) -> list[DeliveryRow]:
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    fake = context.Process(target=fake_process, args=(theirs,), name="fake telegram")
    fake.start()
    try:
        api_url, file_url = ours.recv()
        rows = asyncio.run(deliver(backend, url, api_url, file_url, seconds, batch))
        ours.send("stop")
        report: FakeReport = ours.recv()
        assert len(report.arrivals) == sum(row.delivered for row in rows), "the fake got each delivered message once"
    finally:
        fake.join(timeout=10)
        if fake.is_alive():
            fake.terminate()
    return rows


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    assert __doc__ is not None
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--reminders", type=int, default=2_000, help="due personal reminders")
    parser.add_argument("--people", type=int, default=500, help="their owners (the demo staff, then clones)")
    parser.add_argument("--database-url", action="append", dest="databases", metavar="URL",
                        help="`sqlite` (a temporary file) or a loopback postgresql:// URL (a fresh schema); repeatable")
    parser.add_argument("--deliver-seconds", type=float, default=5.0, help="length of each delivery phase (limiter on, then off)")
    parser.add_argument("--batch", type=int, default=20, help="the delivery worker's batch (the service's default)")
    parser.add_argument("--skip-delivery", action="store_true")
    args = parser.parse_args(argv)
    args.databases = args.databases or ["sqlite"]
    if args.reminders < 1 or args.people < 1 or args.deliver_seconds <= 0 or args.batch < 1:
        parser.error("--reminders, --people, --deliver-seconds and --batch must be positive")
    check_databases(parser, args.databases)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("telegram.ext").setLevel(logging.ERROR)  # "Rate limit hit. Retrying…": counted instead
    print(host.describe())
    enqueued: list[EnqueueRow] = []
    delivered: list[DeliveryRow] = []
    for choice in args.databases:
        with database_for(choice) as (backend, url, _directory):
            asyncio.run(prepare(url, args.people, args.reminders))
            enqueued.append(asyncio.run(enqueue(backend, url, args.reminders)))
            if not args.skip_delivery:
                delivered.extend(run_delivery(backend, url, args.deliver_seconds, args.batch))
    print(f"\nEnqueue: {args.reminders} due personal reminders of {args.people} people, the leader firing rounds of {SCHEDULER_BATCH}")
    print(markdown(
        ("database", "queued", "seconds", "reminders/s", "CPU ms per reminder (target < 1)"),
        [(row.backend, str(row.queued), f"{row.seconds:.1f}", f"{row.rate:.0f}", f"{row.cpu_per_reminder_ms:.2f}") for row in enqueued],
    ))
    if delivered:
        print(f"\nDelivery: DeliveryWorker + TelegramChannel against the fake Bot API, {args.deliver_seconds:g} s per row "
              f"(batches of {args.batch}; the fake allows one message a second per chat)")
        print(markdown(
            ("database", "PTB rate limiter", "delivered", "seconds", "messages/s", "429s", "retried later", "CPU ms per message"),
            [(row.backend, row.limiter, str(row.delivered), f"{row.seconds:.1f}", f"{row.rate:.1f}", str(row.limited), str(row.retried),
              f"{row.cpu_ms / row.delivered:.2f}" if row.delivered else "-") for row in delivered],
        ))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The scheduler: what firing due reminders costs us, and how fast they reach people — the platforms' limits, not our code.

Run: ``python tests/benchmarks/scheduler_benchmark.py [--reminders 2000] [--people 500]
[--database-url sqlite|postgresql://…] [--deliver-seconds 5] [--batch 20] [--platform telegram|slack]``
(``--database-url`` may be repeated: rows per database; ``--platform`` too: delivery through those, by default
Telegram then Slack). The defaults are a short run (under a minute per database); the issue's size,
``--reminders 100000 --people 5000``, takes some ten minutes per database on a 2-core machine: run it on a quiet one.

Set-up (not measured): a fresh database (a SQLite file in a temporary directory, or a fresh schema of a loopback
PostgreSQL server, dropped afterwards), migrated, seeded with the demo company plus staff cloned from it up to
`--people`, each linked to a Telegram user id and a Slack user id; `--reminders` personal reminders (the kind
"remind me at …" stores) spread evenly over them, all due a minute ago, as after a Monday 09:00 burst or a restart.

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

Then Slack, for `--deliver-seconds` on what is left of the outbox: the same worker with the real `SlackChannel`
(slack_sdk's AsyncWebClient with its retry handlers, as the service builds it) against the fake Web API of
tests/benchmarks/slack_benchmark.py, in a process of its own. Nobody has written to the assistant, so each
person's first message opens their direct message (`conversations.open`, the channel kept on their identity for
the next ones), and each delivery queues an App Home refresh in the inbox, as in the service. The fake keeps to
Slack's limit for `chat.postMessage`, about one message a second per channel with short bursts (3 here),
refusing more with 429 and `Retry-After`, which slack_sdk waits for and sends again (a third refusal in a row
is left to the worker: "retried later"). The reminders are spread over `--people` direct messages, so that limit
is not what bounds the row: it shows what our code manages, with the 429s it met. Slack also keeps a
workspace-wide limit on posting, with no figure in its rate-limit guide; the fake has none, so at the rates this
row shows real Slack may well answer with 429s of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import aiohttp  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

from actions import default_jobs  # noqa: E402
from bot.channels.base import Channel  # noqa: E402
from bot.channels.slack import SlackChannel  # noqa: E402
from bot.channels.slack.web import sdk_log, web_client  # noqa: E402
from bot.delivery import DeliveryWorker  # noqa: E402
from bot.scheduler import Scheduler  # noqa: E402
from storage import migrate, people  # noqa: E402
from storage.base import utcnow  # noqa: E402
from storage.database import Database  # noqa: E402
from storage.demo import seed_demo  # noqa: E402
from storage.outbox import OutboxMessage, OutboxStatus  # noqa: E402
from storage.people import Employee  # noqa: E402
from storage.schedules import PERSONAL, Schedule, WorkingDays  # noqa: E402
from tests.benchmarks import host, slack_benchmark, telegram_benchmark  # noqa: E402
from tests.benchmarks.conversation_benchmark import check_databases, markdown  # noqa: E402
from tests.benchmarks.load import FakeReport, database_for, fake_in_process  # noqa: E402
from tests.benchmarks.slack_benchmark import fake_slack_process, slack_user  # noqa: E402
from tests.benchmarks.telegram_benchmark import channel_for, fake_telegram_process, user_id  # noqa: E402
from tests.channels import slack_fake  # noqa: E402

SCHEDULER_BATCH = 200
INSERT_CHUNK = 5_000
TELEGRAM, SLACK = "telegram", "slack"
PLATFORMS = (TELEGRAM, SLACK)
FAKE_SERVERS: dict[str, tuple[Callable[..., None], tuple[object, ...]]] = {
    TELEGRAM: (fake_telegram_process, ()),
    SLACK: (fake_slack_process, ({}, 0.0)),
}
"""Each platform's fake, served in a process of its own, and its arguments after the pipe (Slack's: no profile
emails, as nothing here looks people up, and no added round trip)."""


async def prepare(url: str, people_count: int, reminders: int) -> None:
    """Migrate, seed, clone staff up to `people_count` (each linked to Telegram and Slack), and store `reminders` due ones."""
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
                await people.link_identity(session, employee, people.Platform.SLACK, slack_user(n))
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
    platform: str
    limiter: str
    delivered: int
    seconds: float
    limited: int
    retried: int
    cpu_ms: float

    @property
    def rate(self) -> float:
        return self.delivered / self.seconds if self.seconds else float("nan")


FakeCounts = Callable[[], Awaitable[dict[str, int]]]
"""The fake's `bench.count`: messages taken ("count") and refused with 429 ("limited") so far."""


async def timed_delivery(database: Database, backend: str, platform: str, channel: Channel, limiter: str,
                         counts: FakeCounts, seconds: float, batch: int) -> DeliveryRow:
    """Delivery rounds through `channel` until `seconds` have passed or the outbox is empty."""
    worker = DeliveryWorker(database, {platform: channel}, batch_size=batch, name="bench-delivery")
    before = (await counts())["limited"]
    delivered = retried = 0
    wall, cpu = time.perf_counter(), time.process_time()
    while time.perf_counter() - wall < seconds:
        done = await worker.run_once()
        delivered, retried = delivered + len(done.delivered), retried + len(done.retried)
        if not done.claimed:
            break
    took, cpu_ms = time.perf_counter() - wall, (time.process_time() - cpu) * 1000
    limited = (await counts())["limited"] - before
    return DeliveryRow(backend, platform, limiter, delivered, took, limited, retried, cpu_ms)


async def through_telegram(database: Database, backend: str, fake: tuple[str, str], seconds: float, batch: int) -> list[DeliveryRow]:
    """PTB's rate limiter on, then off, on what is left of the outbox."""
    api_url, file_url = fake
    rows = []
    async with aiohttp.ClientSession() as http:
        for rate_limited in (True, False):
            channel = channel_for(api_url, file_url, rate_limited=rate_limited)
            try:
                await channel.identity.me()
                limiter = "PTB limiter on" if rate_limited else "PTB limiter OFF"
                counts = partial(telegram_benchmark.bench_count, http, api_url)
                rows.append(await timed_delivery(database, backend, TELEGRAM, channel, limiter, counts, seconds, batch))
            finally:
                await channel.close()
    return rows


async def through_slack(database: Database, backend: str, fake_url: str, seconds: float, batch: int) -> list[DeliveryRow]:
    channel = SlackChannel(web_client(slack_fake.TOKEN, fake_url))
    sdk_log.setLevel(logging.WARNING)  # "A retry handler found: …" on every 429: counted instead
    try:
        await channel.workspace()  # auth.test: the pooled connection open before the clock starts
        async with aiohttp.ClientSession() as http:
            counts = partial(slack_benchmark.bench_count, http, fake_url)
            return [await timed_delivery(database, backend, SLACK, channel, "slack_sdk retries 429s", counts, seconds, batch)]
    finally:
        await channel.close()


async def deliver(backend: str, url: str, platform: str, fake: Any, seconds: float, batch: int) -> list[DeliveryRow]:
    database = Database(url)
    try:
        through = through_telegram if platform == TELEGRAM else through_slack
        rows = await through(database, backend, fake, seconds, batch)
        async with database.sessions() as session:
            delivered_total = await session.scalar(
                select(func.count()).select_from(OutboxMessage)
                .where(OutboxMessage.status == OutboxStatus.DELIVERED, OutboxMessage.platform == platform)
            )
        assert delivered_total == sum(row.delivered for row in rows), "every delivery recorded once"
        return rows
    finally:
        await database.dispose()


def run_delivery(backend: str, url: str, platform: str, seconds: float, batch: int) -> list[DeliveryRow]:
    """Deliver through `platform`'s channel against its fake, served by a process of its own."""
    serve, serve_args = FAKE_SERVERS[platform]
    with fake_in_process(serve, *serve_args, name=f"fake {platform}") as fake:
        rows = asyncio.run(deliver(backend, url, platform, fake.address, seconds, batch))
        report: FakeReport[Any] = fake.stop()
        assert len(report.arrivals) == sum(row.delivered for row in rows), "the fake got each delivered message once"
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
    parser.add_argument("--platform", action="append", dest="platforms", choices=PLATFORMS,
                        help="deliver through this platform's channel; repeatable [default: telegram, then slack]")
    parser.add_argument("--skip-delivery", action="store_true")
    args = parser.parse_args(argv)
    args.databases = args.databases or ["sqlite"]
    args.platforms = list(dict.fromkeys(args.platforms or PLATFORMS))
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
                for platform in args.platforms:
                    delivered.extend(run_delivery(backend, url, platform, args.deliver_seconds, args.batch))
    print(f"\nEnqueue: {args.reminders} due personal reminders of {args.people} people, the leader firing rounds of {SCHEDULER_BATCH}")
    print(markdown(
        ("database", "queued", "seconds", "reminders/s", "CPU ms per reminder (target < 1)"),
        [(row.backend, str(row.queued), f"{row.seconds:.1f}", f"{row.rate:.0f}", f"{row.cpu_per_reminder_ms:.2f}") for row in enqueued],
    ))
    if delivered:
        print(f"\nDelivery: DeliveryWorker + the platform's channel against its fake API, {args.deliver_seconds:g} s per row at "
              f"most, on what is left of the outbox (batches of {args.batch}; the Telegram fake allows one message a second "
              f"per chat, the Slack fake one a second per channel after a burst of {slack_benchmark.PER_CHANNEL_BURST:g})")
        print(markdown(
            ("database", "platform", "rate limiting", "delivered", "seconds", "messages/s", "429s", "retried later", "CPU ms per message"),
            [(row.backend, row.platform, row.limiter, str(row.delivered), f"{row.seconds:.1f}", f"{row.rate:.1f}", str(row.limited),
              str(row.retried), f"{row.cpu_ms / row.delivered:.2f}" if row.delivered else "-") for row in delivered],
        ))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Telegram: how fast webhook updates are accepted, and how fast replies can go out — Telegram's limits, not our code.

Run: ``python tests/benchmarks/telegram_benchmark.py [--rate 100] [--seconds 10] [--users 500]
[--database-url sqlite|postgresql://…] [--outbound 300] [--skip-webhook] [--skip-outbound]`` (about a minute and a
half with the defaults on an idle 2-core machine; `--rate 50 --seconds 4 --users 200 --outbound 150` for a short run).

Three processes, as in tests/benchmarks/slack_benchmark.py (whose helpers this reuses):
- this one runs the real service (`bot.service.configured_service`: uvicorn, `POST /telegram/webhook`, the inbox
  worker, the router, the delivery worker, python-telegram-bot's client with its `AIORateLimiter`) on a fresh
  database seeded with the demo company plus cloned staff, `--users` of them linked to Telegram user ids;
- a fake Bot API (tests/channels/telegram_fake.py) in a process of its own, as Telegram runs elsewhere. It notes
  when each `sendMessage` arrives and, as Telegram does, refuses a second message to the same private chat within a
  second with 429 and `retry_after: 1` (counted);
- a load generator (aiohttp) posts `message` updates to the webhook with the secret header, exactly as Telegram
  posts them, from many people in their own languages (the Slack benchmark's messages, each answered by one
  message). Open loop: update i is due at ``start + i / rate`` whatever happened before, latencies are measured
  from the due time. A warm-up (one message from each person) runs first and is drained before the measured phase.

Measured, webhook: updates accepted per second and the time to answer the webhook call (p50/p95/p99/max; the
update is stored in the inbox before the 200); replies per second reaching the fake and the time from the update
to its reply (p50/p99) — the reply rate is held at about 30 a second by the rate limiter, so a faster offered rate
builds a backlog that drains at that pace; 429s from the fake.

Measured, outbound (`TelegramChannel.send` straight against the fake, 20 sends at a time as the delivery worker
sends to different people side by side): `--outbound` messages to as many private chats with the rate limiter on
(Telegram's ~30 messages/s overall) and off (what our code and PTB manage on this machine, which Telegram would
answer with 429s); 23 messages to one group (20 a minute per group: a burst of 20, then one every 3 s); 5 messages
in a row to one private chat (the fake's one a second: each after the first is refused once, waited for and sent).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import multiprocessing
import random
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import aiohttp  # noqa: E402
from sqlalchemy import select  # noqa: E402

from actions.replies import Reply  # noqa: E402
from bot.channels.base import Address  # noqa: E402
from bot.channels.telegram import TelegramChannel  # noqa: E402
from bot.channels.telegram.client import Client, Identity  # noqa: E402
from bot.channels.telegram.receiving import Receiver  # noqa: E402
from bot.service import configured_service  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from nlu import Interpreter  # noqa: E402
from nlu.cli import PACKAGE_DATA  # noqa: E402
from storage import migrate, people  # noqa: E402
from storage.database import Database  # noqa: E402
from storage.demo import seed_demo  # noqa: E402
from storage.people import Employee  # noqa: E402
from tests.benchmarks import host  # noqa: E402
from tests.benchmarks.conversation_benchmark import DEFAULT_MODEL, check_databases, markdown  # noqa: E402
from tests.benchmarks.slack_benchmark import (  # noqa: E402
    LANGUAGES,
    MESSAGES,
    NOW,
    cpu_between,
    database_for,
    drain,
    inbox_counts,
    percentiles,
    sampling_cpu,
    started,
)
from tests.channels.telegram_fake import TOKEN, FakeTelegram  # noqa: E402

SECRET = "benchmark-webhook-secret"
WEBHOOK_URL = "https://bench.example.test/telegram/webhook"
FIRST_USER = 10_000_000
GROUP = -1_000_000_001
PER_CHAT_SECONDS = 1.0
"""The fake's rule for one chat: one message a second (Telegram: "avoid sending more than one message per second")."""
CLIENT_TIMEOUT_S = 10.0
DRAIN_TIMEOUT_S = 180.0
SENDERS = 20
"""Sends in flight at once in the outbound part (the delivery worker's batch)."""


def user_id(n: int) -> int:
    return FIRST_USER + n


# --- the fake Bot API, in a process of its own -------------------------------------------------------------------


class TimedTelegram(FakeTelegram):
    """FakeTelegram that notes when each message arrives (`time.monotonic()`, one clock for every process on the
    host), refuses a second message to a private chat within PER_CHAT_SECONDS with 429, and answers `benchCount`.
    Groups get no rule here: PTB's limiter keeps to their 20 a minute by itself."""

    def __init__(self) -> None:
        super().__init__()
        self.arrivals: list[tuple[int, float]] = []
        self.limited = 0
        self._last: dict[int, float] = {}

    async def _sendMessage(self, args: dict[str, Any]) -> Any:
        chat_id, now = int(args["chat_id"]), time.monotonic()
        if chat_id > 0 and now - self._last.get(chat_id, -PER_CHAT_SECONDS) < PER_CHAT_SECONDS:
            self.limited += 1
            return self._error(429, "Too Many Requests: retry after 1", retry_after=1)
        self._last[chat_id] = now
        self.arrivals.append((chat_id, now))
        self.messages.clear()  # nothing reads them here: memory stays flat
        return await super()._sendMessage(args)

    async def _benchCount(self, args: dict[str, Any]) -> Any:
        return {"count": len(self.arrivals), "limited": self.limited}


@dataclass(frozen=True)
class FakeReport:
    arrivals: list[tuple[int, float]]
    limited: int
    cpu: list[tuple[float, float]]


def fake_process(connection: Connection) -> None:
    asyncio.run(_serve_fake(connection))


async def _serve_fake(connection: Connection) -> None:
    fake = TimedTelegram()
    async with fake, sampling_cpu() as cpu:
        connection.send((fake.api_url, fake.file_url))
        await asyncio.to_thread(connection.recv)  # "stop"
        connection.send(FakeReport(fake.arrivals, fake.limited, cpu))


async def bench_count(session: aiohttp.ClientSession, api_url: str) -> dict[str, int]:
    async with session.post(f"{api_url}{TOKEN}/benchCount") as response:
        return dict((await response.json())["result"])


# --- the load generator, in a process of its own ----------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    url: str
    api_url: str
    users: int
    rate: float
    seconds: float
    seed: int
    languages: list[str]


@dataclass(frozen=True)
class Sample:
    user: int
    due: float
    answered: float
    status: int
    """0 when there was no answer (time-out, connection error)."""
    warmup: bool


@dataclass
class GeneratorReport:
    samples: list[Sample] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)
    started: float = 0.0
    last_due: float = 0.0


def generator_process(plan: Plan, results: Any) -> None:
    try:
        results.put(asyncio.run(generate(plan)))
    except BaseException as error:
        results.put(f"{type(error).__name__}: {error}")
        raise


def update_body(update_id: int, user: int, language: str, text: str) -> bytes:
    """A private message as Telegram posts it to a webhook."""
    person = {"id": user_id(user), "is_bot": False, "first_name": f"Staff {user}", "language_code": language}
    return json.dumps({"update_id": update_id, "message": {
        "message_id": update_id, "date": int(time.time()), "chat": {"id": user_id(user), "type": "private", "first_name": f"Staff {user}"},
        "from": person, "text": text}}).encode()


async def generate(plan: Plan) -> GeneratorReport:
    rng = random.Random(plan.seed)
    order = list(range(plan.users))
    rng.shuffle(order)
    report = GeneratorReport()
    first_update = int(uuid.uuid4().int % 10**8) * 100
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET}
    connector = aiohttp.TCPConnector(limit=0)  # open loop: a request never waits for a free connection
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=CLIENT_TIMEOUT_S), connector=connector) as session:
        webhook = f"{plan.url}/telegram/webhook"

        async def send(n: int, user: int, due: float, warmup: bool) -> None:
            language = plan.languages[user]
            body = update_body(first_update + n, user, language, rng.choice(MESSAGES[language]))
            status = 0
            try:
                async with session.post(webhook, data=body, headers=headers) as response:
                    await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError) as error:
                report.failures[type(error).__name__] = report.failures.get(type(error).__name__, 0) + 1
            report.samples.append(Sample(user, due, time.monotonic(), status, warmup))

        async def phase(count: int, first: int, warmup: bool) -> float:
            start = time.monotonic() + 0.05
            tasks = []
            for i in range(count):
                due = start + i / plan.rate
                if (delay := due - time.monotonic()) > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(send(first + i, order[(first + i) % plan.users], due, warmup)))
            await asyncio.gather(*tasks)
            return start

        await phase(plan.users, 0, warmup=True)
        expected = sum(1 for sample in report.samples if sample.status == 200)
        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        while (await bench_count(session, plan.api_url))["count"] < expected:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the warm-up's {expected} replies did not all arrive in {DRAIN_TIMEOUT_S:.0f} s")
            await asyncio.sleep(0.1)
        count = max(1, round(plan.rate * plan.seconds))
        report.started = await phase(count, plan.users, warmup=False)
        report.last_due = report.started + (count - 1) / plan.rate
    return report


async def in_process(plan: Plan) -> GeneratorReport:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    process = context.Process(target=generator_process, args=(plan, results), name="load generator")
    process.start()
    outcome = await asyncio.to_thread(results.get)
    await asyncio.to_thread(process.join)
    if isinstance(outcome, str):
        raise RuntimeError(f"the load generator failed: {outcome}")
    assert isinstance(outcome, GeneratorReport)
    return outcome


# --- webhook: the service in this process -------------------------------------------------------------------------


async def prepare(url: str, users: int, seed: int) -> list[str]:
    """Migrate, seed the demo company, clone staff up to `users`, link person n to Telegram user `user_id(n)`;
    each one's language."""
    database = Database(url)
    try:
        await migrate.upgrade(database)
        async with database.transaction() as session:
            await seed_demo(session, today=NOW.date())
            staff = list(await session.scalars(select(Employee).order_by(Employee.id)))
            rng = random.Random(seed)
            for n in range(len(staff), users):
                model = staff[n % len(staff)]
                clone = Employee(email=f"tg{n:05d}@silkroad.example", name=f"Staff Member {n}", department=model.department,
                                 job_title=model.job_title, manager_id=model.manager_id or model.id, language=rng.choice(LANGUAGES),
                                 timezone=model.timezone, calendar=model.calendar)
                session.add(clone)
                staff.append(clone)
            await session.flush()
            for n, employee in enumerate(staff[:users]):
                await people.link_identity(session, employee, people.Platform.TELEGRAM, str(user_id(n)))
            return [e.language if e.language in MESSAGES else "en" for e in staff[:users]]
    finally:
        await database.dispose()


@dataclass
class WebhookRow:
    backend: str
    offered: float
    updates: int
    accepted_rate: float
    webhook_ms: dict[str, float]
    non_200: int
    no_answer: int
    reply_rate: float
    e2e_ms: dict[str, float]
    unmatched: int
    limited: int
    drained: bool
    cpu_ms: float
    inbox: dict[str, int]


async def run_service(url: str, data_dir: Path, api_url: str, file_url: str, plan_of: Callable[[str], Plan],
                      interpreter: Interpreter) -> tuple[GeneratorReport, bool, dict[str, int], list[tuple[float, float]]]:
    settings = load_settings(
        database_url=url, data_dir=data_dir, http_host="127.0.0.1", http_port=0, timezone="Asia/Tashkent",
        telegram_bot_token=TOKEN, telegram_api_url=api_url, telegram_file_url=file_url,
        telegram_webhook_url=WEBHOOK_URL, telegram_webhook_secret=SECRET,
    )
    service = configured_service(settings, interpreter=interpreter, clock=lambda: NOW)
    stop = asyncio.Event()
    running = asyncio.create_task(service.run(stop), name="service")
    try:
        await started(service, running)
        async with sampling_cpu() as cpu:
            generator = await in_process(plan_of(service.url))
            drained = await drain(service)
        return generator, drained, await inbox_counts(service), cpu
    finally:
        stop.set()
        await running


def webhook_figures(backend: str, plan: Plan, report: GeneratorReport, fake: FakeReport, drained: bool, inbox: dict[str, int],
                    cpu: list[tuple[float, float]]) -> WebhookRow:
    replies: defaultdict[int, list[float]] = defaultdict(list)
    for chat, at in fake.arrivals:
        replies[chat].append(at)
    by_chat: defaultdict[int, list[Sample]] = defaultdict(list)
    for sample in report.samples:
        if sample.status == 200:
            by_chat[user_id(sample.user)].append(sample)
    e2e, unmatched = [], 0
    for chat, samples in by_chat.items():
        samples.sort(key=lambda sample: sample.due)
        if len(samples) != len(replies[chat]):
            unmatched += sum(1 for sample in samples if not sample.warmup)
            continue
        e2e += [at - sample.due for sample, at in zip(samples, sorted(replies[chat]), strict=True) if not sample.warmup]
    measured = [sample for sample in report.samples if not sample.warmup]
    ok = [sample for sample in measured if sample.status == 200]
    window = max(max((sample.answered for sample in ok), default=report.last_due), report.last_due) - report.started
    answers = sorted(at for _, at in fake.arrivals if at >= report.started)
    return WebhookRow(
        backend=backend, offered=plan.rate, updates=len(measured), accepted_rate=len(ok) / window if window > 0 else float("nan"),
        webhook_ms=percentiles([sample.answered - sample.due for sample in measured]),
        non_200=sum(1 for sample in measured if sample.status not in (0, 200)), no_answer=sum(1 for sample in measured if sample.status == 0),
        reply_rate=len(answers) / (answers[-1] - report.started) if answers and answers[-1] > report.started else float("nan"),
        e2e_ms=percentiles(e2e), unmatched=unmatched, limited=fake.limited, drained=drained,
        cpu_ms=1000 * cpu_between(cpu, report.started, answers[-1] if answers else report.last_due) / max(len(measured), 1),
        inbox=inbox,
    )


def run_webhook(choice: str, args: argparse.Namespace, interpreter: Interpreter) -> WebhookRow:
    with database_for(choice) as (backend, url, directory):
        languages = asyncio.run(prepare(url, args.users, args.seed))
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        fake = context.Process(target=fake_process, args=(theirs,), name="fake telegram")
        fake.start()
        try:
            api_url, file_url = ours.recv()

            def plan_of(service_url: str) -> Plan:
                return Plan(service_url, api_url, args.users, args.rate, args.seconds, args.seed, languages)

            report, drained, inbox, cpu = asyncio.run(run_service(url, directory, api_url, file_url, plan_of, interpreter))
            ours.send("stop")
            fake_report: FakeReport = ours.recv()
        finally:
            fake.join(timeout=10)
            if fake.is_alive():
                fake.terminate()
        return webhook_figures(backend, plan_of(""), report, fake_report, drained, inbox, cpu)


# --- outbound: the channel against the fake -----------------------------------------------------------------------


@dataclass(frozen=True)
class OutboundRow:
    what: str
    messages: int
    seconds: float
    limited: int
    """429s the fake answered during the run (each waited for and retried by PTB's limiter)."""
    failed: int

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds else float("nan")


async def timed_sends(channel: TelegramChannel, addresses: list[Address], api_url: str, what: str, *, at_once: int) -> OutboundRow:
    async with aiohttp.ClientSession() as session:
        before = (await bench_count(session, api_url))["limited"]
        gate = asyncio.Semaphore(at_once)
        failed = 0

        async def send(number: int, address: Address) -> None:
            nonlocal failed
            async with gate:
                try:
                    await channel.send(address, Reply(f"Benchmark message {number}: your request #{number} was approved."))
                except Exception:  # noqa: BLE001 - counted: a send the core would retry later
                    failed += 1

        start = time.monotonic()
        await asyncio.gather(*(send(number, address) for number, address in enumerate(addresses)))
        seconds = time.monotonic() - start
        limited = (await bench_count(session, api_url))["limited"] - before
    return OutboundRow(what, len(addresses) - failed, seconds, limited, failed)


def channel_for(api_url: str, file_url: str, *, rate_limited: bool) -> TelegramChannel:
    client = Client(TOKEN, api_url=api_url, file_url=file_url, rate_limited=rate_limited)
    identity = Identity(client.bot)
    return TelegramChannel(client, identity, Receiver(client.bot, identity, lambda: None))


async def outbound(api_url: str, file_url: str, count: int) -> list[OutboundRow]:
    rows = []
    for rate_limited, offset in ((True, 0), (False, count)):
        channel = channel_for(api_url, file_url, rate_limited=rate_limited)
        try:
            await channel.identity.me()
            warm = [Address("telegram", str(user_id(900_000 + offset + n))) for n in range(SENDERS)]
            await timed_sends(channel, warm, api_url, "warm-up", at_once=SENDERS)  # connections, the limiter's bucket
            await asyncio.sleep(1.5 if rate_limited else 0)  # the limiter's burst allowance back to where it starts
            private = [Address("telegram", str(user_id(1_000_000 + offset * 2 + n))) for n in range(count * (1 if rate_limited else 3))]
            label = "private chats, one message each, limiter on" if rate_limited else "private chats, one message each, limiter OFF"
            rows.append(await timed_sends(channel, private, api_url, label, at_once=SENDERS))
            if rate_limited:
                group = [Address("telegram", str(GROUP))] * 23
                rows.append(await timed_sends(channel, group, api_url, "one group, limiter on", at_once=SENDERS))
                one = Address("telegram", str(user_id(2_000_000)))
                rows.append(await timed_sends(channel, [one] * 5, api_url, "one private chat, in a row", at_once=1))
        finally:
            await channel.close()
    return rows


def run_outbound(count: int) -> tuple[list[OutboundRow], FakeReport]:
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    fake = context.Process(target=fake_process, args=(theirs,), name="fake telegram")
    fake.start()
    try:
        api_url, file_url = ours.recv()
        rows = asyncio.run(outbound(api_url, file_url, count))
        ours.send("stop")
        report: FakeReport = ours.recv()
    finally:
        fake.join(timeout=10)
        if fake.is_alive():
            fake.terminate()
    return rows, report


# --- the figures ------------------------------------------------------------------------------------------------------


def webhook_table(rows: list[WebhookRow]) -> str:
    return markdown(
        ("backend", "offered/s", "updates", "accepted/s", "webhook p50 ms", "p95", "p99", "max", "non-200", "no answer",
         "replies/s", "update→reply p50 ms", "p99", "429s", "service CPU ms/update"),
        [(row.backend, f"{row.offered:g}", str(row.updates), f"{row.accepted_rate:.0f}", f"{row.webhook_ms['p50']:.1f}",
          f"{row.webhook_ms['p95']:.1f}", f"{row.webhook_ms['p99']:.1f}", f"{row.webhook_ms['max']:.1f}", str(row.non_200),
          str(row.no_answer), f"{row.reply_rate:.1f}", f"{row.e2e_ms['p50']:.0f}", f"{row.e2e_ms['p99']:.0f}", str(row.limited),
          f"{row.cpu_ms:.2f}") for row in rows],
    )


def outbound_table(rows: list[OutboundRow]) -> str:
    return markdown(
        ("sends", "messages", "seconds", "messages/s", "429s (waited, retried)", "failed"),
        [(row.what, str(row.messages), f"{row.seconds:.2f}", f"{row.rate:.1f}", str(row.limited), str(row.failed)) for row in rows],
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    assert __doc__ is not None
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--rate", type=float, default=100.0, help="webhook updates offered per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the measured webhook phase")
    parser.add_argument("--users", type=int, default=500, help="Telegram users writing (the demo staff, then clones)")
    parser.add_argument("--database-url", action="append", dest="databases", metavar="URL",
                        help="`sqlite` (a temporary file) or a loopback PostgreSQL server URL (a fresh schema, dropped "
                             "afterwards); repeat for several rows [default: sqlite]")
    parser.add_argument("--outbound", type=int, default=300, help="messages to distinct private chats with the limiter on (3x that off)")
    parser.add_argument("--skip-webhook", action="store_true")
    parser.add_argument("--skip-outbound", action="store_true")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="NLU model file (trained here if missing or stale)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    args.databases = args.databases or ["sqlite"]
    if args.rate <= 0 or args.seconds <= 0 or args.users < 1 or args.outbound < 1:
        parser.error("--rate, --seconds, --users and --outbound must be positive")
    check_databases(parser, args.databases)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("telegram.ext").setLevel(logging.ERROR)  # "Rate limit hit. Retrying…": counted instead
    print(host.describe())
    if not args.skip_webhook:
        interpreter = Interpreter.load_or_train(args.model, PACKAGE_DATA)
        rows = [run_webhook(choice, args, interpreter) for choice in args.databases]
        for row in rows:
            print(f"{row.backend}: inbox at the end {row.inbox}; drained: {row.drained}; "
                  f"{row.unmatched} updates in chats whose replies could not be paired (left out of update→reply)")
        print(f"\nWebhook: {args.users} Telegram users, {args.rate:g} updates/s offered for {args.seconds:g} s (open loop), "
              "warm-up one message each")
        print(webhook_table(rows))
    if not args.skip_outbound:
        out, _ = run_outbound(args.outbound)
        print("\nOutbound: TelegramChannel.send against the fake (20 at a time; the fake allows one message a second per chat)")
        print(outbound_table(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

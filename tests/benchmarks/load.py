"""What the Slack and Telegram benchmarks share: an open-loop load generator posting people's messages to the real
service, the service run on a fresh database, a fake platform API in a process of its own, and the figures' sums.

Each platform keeps its own part in its script: how a message is posted (`Webhook`), its fake and its figures.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import shutil
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import aiohttp
import numpy as np
from sqlalchemy import func, select

from bot.service import Service, configured_service
from bot.settings import load_settings
from nlu import Interpreter
from storage import migrate, people
from storage.database import Database
from storage.demo import seed_demo
from storage.inbox import InboxStatus, InboxUpdate
from storage.people import Employee
from tests.benchmarks.conversation_benchmark import NOW, execute, in_schema

CLIENT_TIMEOUT_S = 10.0
DRAIN_TIMEOUT_S = 120.0
LANGUAGES = ("en", "ru", "uz", "az", "el", "vi")

MESSAGES: dict[str, tuple[str, ...]] = {
    "en": ("hi", "what can you do?", "what's my leave balance", "how many vacation days do I have left",
           "show my tickets", "do we have A4 paper?", "how many HDMI cables in supply room 2?", "thanks a lot"),
    "ru": ("привет", "что ты умеешь", "покажи остаток отпуска", "мои открытые тикеты", "сколько бумаги а4 осталось",
           "спасибо"),
    "uz": ("assalomu alaykum", "yordam bering", "ta'til qoldig'i qancha", "tiketlarimni ko'rsat", "A4 qog'oz bormi",
           "rahmat"),
    "az": ("salam", "nə edə bilirsən?", "otpuskdan neçə günüm qalıb", "tiketlərim", "anbarda A4 kağız var?",
           "çox sağ olun"),
    "el": ("καλημέρα", "σε τι μπορείς να με βοηθήσεις;", "υπόλοιπο άδειας", "εκλεισε το τικετ μου;",
           "έχουμε χαρτί Α4;", "ευχαριστώ"),
    "vi": ("xin chào", "bạn làm được gì", "kiểm tra ngày phép", "xem ticket của tôi", "còn giấy A4 không", "cảm ơn"),
}
"""Short messages that each get one answer, whatever was said before (no forms left open between them)."""

Chat = TypeVar("Chat")


# --- CPU and latency figures --------------------------------------------------------------------------------------


@asynccontextmanager
async def sampling_cpu(every: float = 0.1) -> AsyncIterator[list[tuple[float, float]]]:
    """Sample this process's CPU time with the monotonic clock, so a phase's share can be cut out afterwards."""
    samples: list[tuple[float, float]] = []

    async def sample() -> None:
        while True:
            samples.append((time.monotonic(), time.process_time()))
            await asyncio.sleep(every)

    task = asyncio.create_task(sample())
    try:
        yield samples
    finally:
        task.cancel()
        samples.append((time.monotonic(), time.process_time()))


def cpu_between(samples: list[tuple[float, float]], start: float, end: float) -> float:
    """CPU seconds spent between two monotonic moments, interpolated from the samples."""
    if not samples:
        return float("nan")
    times, cpu = [t for t, _ in samples], [c for _, c in samples]
    return float(np.interp(end, times, cpu) - np.interp(start, times, cpu))


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {name: float("nan") for name in ("p50", "p95", "p99", "max")}
    array = np.asarray(values) * 1000
    return {"p50": float(np.percentile(array, 50)), "p95": float(np.percentile(array, 95)),
            "p99": float(np.percentile(array, 99)), "max": float(array.max())}


# --- the fake platform API, in a process of its own ---------------------------------------------------------------


@dataclass(frozen=True)
class FakeReport(Generic[Chat]):
    arrivals: list[tuple[Chat, float]]
    """Each reply the fake took: its chat, and when (`time.monotonic()`, one clock for every process on the host)."""
    limited: int
    """Replies refused with 429 (the platform's limit per chat)."""
    cpu: list[tuple[float, float]]
    """(monotonic, process CPU seconds) samples."""


class FakeProcess:
    """A fake served by a process of its own: the address it sent first, and its report once told to stop."""

    def __init__(self, connection: Connection, address: Any) -> None:
        self.connection = connection
        self.address = address

    def stop(self) -> Any:
        self.connection.send("stop")
        return self.connection.recv()


@contextmanager
def fake_in_process(serve: Callable[..., None], *args: object, name: str) -> Iterator[FakeProcess]:
    """Run `serve(connection, *args)` in a spawned process until stopped."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = context.Process(target=serve, args=(theirs, *args), name=name)
    process.start()
    try:
        yield FakeProcess(ours, ours.recv())
    finally:
        process.join(timeout=10)
        if process.is_alive():
            process.terminate()


# --- the load generator, in a process of its own ----------------------------------------------------------------


class Webhook(Protocol):
    """How a platform posts people's messages to the service, and how its fake tells the replies it took."""

    @property
    def path(self) -> str: ...

    @property
    def warmup_timeout_s(self) -> float: ...

    def request(self, number: int, user: int, language: str, text: str) -> tuple[bytes, dict[str, str]]:
        """The body and headers of message `number`, from person `user`."""
        ...

    async def bench_count(self, session: aiohttp.ClientSession, fake_url: str) -> dict[str, int]:
        """The messages the fake took so far ("count") and the ones it refused with 429 ("limited")."""
        ...


@dataclass(frozen=True)
class Plan:
    url: str
    fake_url: str
    users: int
    rate: float
    seconds: float
    seed: int
    languages: list[str]
    """Each person's language (by user number)."""
    webhook: Webhook


@dataclass(frozen=True)
class Sample:
    user: int
    due: float
    sent: float
    answered: float
    """When the answer came back (or the request failed)."""
    status: int
    """The HTTP status; 0 when there was no answer (timeout, connection error)."""
    warmup: bool


@dataclass
class GeneratorReport:
    samples: list[Sample] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)
    cpu_seconds: float = 0.0
    """The generator's CPU during the measured phase."""
    started: float = 0.0
    last_due: float = 0.0


def generator_process(plan: Plan, results: Any) -> None:
    try:
        results.put(asyncio.run(generate(plan)))
    except BaseException as error:
        results.put(f"{type(error).__name__}: {error}")
        raise


async def generate(plan: Plan) -> GeneratorReport:
    rng = random.Random(plan.seed)
    order = list(range(plan.users))
    rng.shuffle(order)
    report = GeneratorReport()
    timeout = aiohttp.ClientTimeout(total=CLIENT_TIMEOUT_S)
    connector = aiohttp.TCPConnector(limit=0)  # open loop: a request never waits for a free connection
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        url = f"{plan.url}{plan.webhook.path}"

        async def send(n: int, user: int, due: float, warmup: bool) -> None:
            language = plan.languages[user]
            body, headers = plan.webhook.request(n, user, language, rng.choice(MESSAGES[language]))
            sent = time.monotonic()
            status = 0
            try:
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError) as error:
                kind = type(error).__name__
                report.failures[kind] = report.failures.get(kind, 0) + 1
            report.samples.append(Sample(user, due, sent, time.monotonic(), status, warmup))

        async def phase(count: int, first: int, warmup: bool) -> float:
            start = time.monotonic() + 0.05
            tasks = []
            for i in range(count):
                due = start + i / plan.rate
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(send(first + i, order[(first + i) % plan.users], due, warmup)))
            await asyncio.gather(*tasks)
            return start

        # Warm-up: everyone once (connections, the platform library's start, compiled statements, each person's first turn).
        await phase(plan.users, 0, warmup=True)
        answered = sum(1 for sample in report.samples if sample.status == 200)
        await wait_for_replies(session, plan, answered)
        cpu_started = time.process_time()
        count = max(1, round(plan.rate * plan.seconds))
        report.started = await phase(count, plan.users, warmup=False)
        report.last_due = report.started + (count - 1) / plan.rate
        report.cpu_seconds = time.process_time() - cpu_started
    return report


async def wait_for_replies(session: aiohttp.ClientSession, plan: Plan, expected: int) -> None:
    """Until the fake has received `expected` replies, or the webhook's warm-up time-out passed."""
    timeout = plan.webhook.warmup_timeout_s
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (await plan.webhook.bench_count(session, plan.fake_url))["count"] >= expected:
            return
        await asyncio.sleep(0.05)
    raise RuntimeError(f"the warm-up's {expected} replies did not all reach the fake in {timeout:.0f} s")


async def in_process(plan: Plan) -> GeneratorReport:
    """Run the load generator in a spawned process; wait for its report without blocking this event loop."""
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


def match_replies(samples: list[Sample], arrivals: list[tuple[Chat, float]], chat_of: Callable[[int], Chat]) -> tuple[dict[int, float], int]:
    """Each acknowledged message's reply arrival (by index in `samples`), pairing one chat's messages and replies in
    order; and how many measured messages were in chats whose counts differ (left out)."""
    replies: defaultdict[Chat, list[float]] = defaultdict(list)
    for chat, at in arrivals:
        replies[chat].append(at)
    by_chat: defaultdict[Chat, list[int]] = defaultdict(list)
    for index, sample in enumerate(samples):
        if sample.status == 200:
            by_chat[chat_of(sample.user)].append(index)
    matched: dict[int, float] = {}
    unmatched = 0
    for chat, indexes in by_chat.items():
        indexes.sort(key=lambda index: samples[index].sent)
        times = sorted(replies.get(chat, []))
        if len(times) != len(indexes):
            unmatched += sum(1 for index in indexes if not samples[index].warmup)
            continue
        matched.update(zip(indexes, times, strict=True))
    return matched, unmatched


# --- the service, in this process -------------------------------------------------------------------------------


@contextmanager
def database_for(choice: str) -> Iterator[tuple[str, str, Path]]:
    """(backend, URL, data directory) for `sqlite` (a file in a temporary directory) or a PostgreSQL URL (a fresh
    schema, dropped afterwards)."""
    directory = Path(tempfile.mkdtemp(prefix="backoffice-load-bench-"))
    try:
        if choice == "sqlite":
            yield "sqlite", f"sqlite:///{directory / 'bench.sqlite3'}", directory
            return
        schema = f"bench_{uuid.uuid4().hex[:12]}"
        asyncio.run(execute(choice, f'CREATE SCHEMA "{schema}"'))
        try:
            yield "postgresql", in_schema(choice, schema), directory
        finally:
            asyncio.run(execute(choice, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        shutil.rmtree(directory, ignore_errors=True)


async def prepare(url: str, users: int, seed: int, platform: people.Platform, platform_user: Callable[[int], str]) -> tuple[list[str], list[str]]:
    """Migrate, seed the demo company, add staff cloned from it up to `users`, and link person n to `platform_user(n)`.
    Returns each person's language (by number; English where MESSAGES has none of theirs) and email."""
    database = Database(url)
    try:
        await migrate.upgrade(database)
        async with database.transaction() as session:
            await seed_demo(session, today=NOW.date())
            staff = list(await session.scalars(select(Employee).order_by(Employee.id)))
            rng = random.Random(seed)
            for n in range(len(staff), users):
                model = staff[n % len(staff)]
                language = rng.choice(LANGUAGES)
                clone = Employee(
                    email=f"staff{n:05d}@silkroad.example", name=f"Staff Member {n}", department=model.department,
                    job_title=model.job_title, manager_id=model.manager_id or model.id, language=language,
                    timezone=model.timezone, calendar=model.calendar,
                )
                session.add(clone)
                staff.append(clone)
            await session.flush()
            for n, employee in enumerate(staff[:users]):
                await people.link_identity(session, employee, platform, platform_user(n))
            chosen = staff[:users]
            return [e.language if e.language in MESSAGES else "en" for e in chosen], [e.email for e in chosen]
    finally:
        await database.dispose()


@dataclass
class ServiceReport:
    generator: GeneratorReport
    cpu: list[tuple[float, float]]
    drained: bool
    inbox: dict[str, int]
    """Inbox rows by status at the end, and how many needed more than one attempt ("retried")."""


async def run_service(url: str, data_dir: Path, channel_settings: dict[str, object], plan_of: Callable[[str], Plan],
                      interpreter: Interpreter) -> ServiceReport:
    """The service with one platform's channel, under the load of `plan_of(its URL)` until the inbox is drained."""
    settings = load_settings(
        database_url=url, data_dir=data_dir, http_host="127.0.0.1", http_port=0, timezone="Asia/Tashkent", **channel_settings,
    )
    service = configured_service(settings, interpreter=interpreter, clock=lambda: NOW)
    stop = asyncio.Event()
    running = asyncio.create_task(service.run(stop), name="service")
    try:
        await started(service, running)
        async with sampling_cpu() as cpu:
            generator = await in_process(plan_of(service.url))
            drained = await drain(service)
        return ServiceReport(generator, cpu, drained, await inbox_counts(service))
    finally:
        stop.set()
        await running


async def started(service: Service, running: asyncio.Task[None]) -> None:
    waiting = asyncio.create_task(service.started.wait())
    await asyncio.wait([waiting, running], timeout=120, return_when=asyncio.FIRST_COMPLETED)
    if running.done():
        waiting.cancel()
        await running  # raises what stopped it
    if not service.started.is_set():
        raise RuntimeError("the service did not start within 120 s")


async def drain(service: Service) -> bool:
    """Wait until the inbox holds nothing pending (every reply sent); False if that took over DRAIN_TIMEOUT_S."""
    assert service.assistant is not None
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while time.monotonic() < deadline:
        async with service.assistant.database.reading() as session:
            pending = await session.scalar(select(func.count()).select_from(InboxUpdate).where(InboxUpdate.status == InboxStatus.PENDING))
        if not pending:
            return True
        await asyncio.sleep(0.1)
    return False


async def inbox_counts(service: Service) -> dict[str, int]:
    assert service.assistant is not None
    async with service.assistant.database.reading() as session:
        counts = {str(status): int(n) for status, n in await session.execute(select(InboxUpdate.status, func.count()).group_by(InboxUpdate.status))}
        counts["retried"] = int(await session.scalar(select(func.count()).select_from(InboxUpdate).where(InboxUpdate.attempts > 0)) or 0)
    return counts

"""Slack over the HTTP Events API: how fast signed events are acknowledged, and how soon they are answered.

Run: ``python tests/benchmarks/slack_benchmark.py [--rate 200] [--seconds 20] [--users 500]
[--database-url sqlite|postgresql://…] [--slack-delay-ms 0]`` (``--database-url`` may be repeated: one row per
database; about 45 s with the defaults on an idle 2-core machine).

Three processes on this machine:
- this one runs the real service (`bot.service.configured_service`: uvicorn, the bolt app at `POST /slack/events`,
  the inbox worker, the router and the delivery worker) on a fresh database: a SQLite file in a temporary
  directory, or a fresh schema of a loopback PostgreSQL server (dropped afterwards), migrated and seeded with the
  demo company plus more staff cloned from it, `--users` of them linked to Slack user ids;
- a fake Slack Web API (tests/channels/slack_fake.py) runs in a process of its own, as Slack runs elsewhere: its
  CPU is not the service's, and its requests don't queue on the service's event loop. It notes when it takes
  each `chat.postMessage` (after `--slack-delay-ms`, which stands for slack.com's round trip; 0 by default) and,
  as Slack does, posts about one message a second per channel (bursts of up to 3), refusing more with 429 and
  `Retry-After` (counted; slack_sdk's retry handler waits and sends it again);
- a load generator (aiohttp) sends signed Events API requests, exactly as Slack signs them (v0 HMAC-SHA256 of
  ``v0:{timestamp}:{body}``), as direct messages from many people: short, realistic messages in each person's
  language, every one answered by one message (greetings, help, balances, tickets, stock, thanks).

Load model: open loop. Event i is due at ``start + i / rate`` and is sent then whatever happened to earlier
requests (no waiting for answers, no cap on connections), so a slow service can't slow the offered rate down and
hide its own latency (coordinated omission). Latencies are measured from the due time; the generator's own
lateness is printed too. People take turns in a fixed shuffled order, so each writes every ``users / rate`` seconds.
A warm-up (one message from each person, at the same rate) runs first and is drained before the measured phase.

Measured: events acknowledged per second, and answered per second (what processing keeps up with); acknowledgement latency p50/p95/p99/max (target: p99 < 300 ms at
200 events/s on SQLite — Slack gives up after 3 s and retries); answers other than 200 and requests with no answer;
end to end, from the due time to the reply's `chat.postMessage` reaching the fake (p50/p99); the backlog when
the last event was sent (sent, not answered yet) and how long it took to drain; CPU per event in each process.
Replies are matched to events per direct message in order (one chat's updates are processed in order, each
answered with one message); a chat whose reply count differs from its event count is left out of the end-to-end
figures and counted.

Where the time goes (SQLite, 2026-12, py-spy and per-part timings in one process): everything runs on the
service's one event loop, about 7–9 ms of CPU per event, so one process answers about 130 events/s at best and a
sustained 200/s builds a backlog (end-to-end then grows by seconds; the acknowledgements stay fast). Per event:
the dialogue turn 2.7 ms (NLU included, inside its write transaction); the router's Slack extras 1.3 ms, mostly
`Linker.knows` (0.85 ms: a read loading the whole employee and roles on every message); `chat.postMessage`
through slack_sdk 0.7 ms; the inbox worker's claim and `mark_done` 1.3 ms; `Inbox.accept` 0.6 ms; uvicorn,
Starlette and bolt about 1 ms. By package, SQLAlchemy's Python is about 40% of the samples (some 15 statements in
5 sessions per event, 0.35–0.45 ms each), asyncio 12%, our storage layer with sqlite3 12%, bolt 4%, the NLU 4%.
The acknowledgement waits mostly for SQLite's write lock: `Inbox.accept` queues (FIFO, storage/database.py) behind up
to 20 turns the inbox worker runs side by side, each holding the lock for its whole turn. The worker then worked in
rounds that waited for their slowest update, so a real Slack round trip cost throughput (with
`--slack-delay-ms 150` its rate on a backlog about halved); it now keeps up to 32 updates in flight (bot/inbox.py).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import logging
import math
import multiprocessing
import random
import shutil
import sys
import tempfile
import time
import uuid
from bisect import bisect_right
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bot.service import Service, configured_service  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from nlu import Interpreter  # noqa: E402
from nlu.cli import PACKAGE_DATA  # noqa: E402
from storage import migrate, people  # noqa: E402
from storage.database import Database  # noqa: E402
from storage.demo import seed_demo  # noqa: E402
from storage.inbox import InboxStatus, InboxUpdate  # noqa: E402
from storage.people import Employee  # noqa: E402
from tests.benchmarks import host  # noqa: E402
from tests.benchmarks.conversation_benchmark import DEFAULT_MODEL, check_databases, execute, in_schema, markdown  # noqa: E402
from tests.channels.slack_fake import TEAM_ID, TOKEN, FakeSlack  # noqa: E402

NOW = datetime(2026, 11, 23, 6, 0)
"""The service's clock: Monday morning in every demo time zone, the day the demo company is seeded for."""
SECRET = "benchmark-signing-secret"
TARGET_RATE = 200.0
TARGET_P99_MS = 300.0
SLACK_PATIENCE_S = 3.0
"""Slack counts an event not acknowledged within 3 s as failed and delivers it again."""
CLIENT_TIMEOUT_S = 10.0
DRAIN_TIMEOUT_S = 120.0
PER_CHANNEL_SECONDS = 1.0
PER_CHANNEL_BURST = 3.0
"""Slack's limit for chat.postMessage: "1 message per second to a specific channel", with short bursts allowed
(how short it doesn't say: 3 here)."""
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


def slack_user(n: int) -> str:
    return f"U{n:06d}"


def dm_channel(n: int) -> str:
    return f"D{n:06d}"


# --- the fake Slack, in a process of its own --------------------------------------------------------------------


class TimedSlack(FakeSlack):
    """FakeSlack that notes when each `chat.postMessage` arrives (`time.monotonic()`: one clock for every process
    on the host), keeps to Slack's posting limit per channel (a token bucket: PER_CHANNEL_BURST messages at once,
    then one every PER_CHANNEL_SECONDS; more is refused with 429, `ratelimited` and `Retry-After`, and counted) and
    answers `bench.count` (how many arrived, how many were refused) so the generator can wait for the warm-up's replies."""

    def __init__(self, delay: float = 0.0) -> None:
        super().__init__()
        self.delay = delay
        self.arrivals: list[tuple[str, float]] = []
        self.limited = 0
        self._allowance: dict[str, tuple[float, float]] = {}
        """Channel → (messages it may post now, when that was worked out)."""

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if self.delay and method != "bench.count":
            await asyncio.sleep(self.delay)  # the round trip to slack.com and its own work, from a real install
        if method == "chat.postMessage":
            wait = self._wait_to_post(str((await self._arguments(request)).get("channel")), time.monotonic())
            if wait:
                self.limited += 1
                return web.json_response({"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": str(math.ceil(wait))})
        return await super()._handle(request)

    def _wait_to_post(self, channel: str, now: float) -> float:
        """0 if the channel may post now (which uses up one of its messages), else the seconds until it may."""
        allowed, at = self._allowance.get(channel, (PER_CHANNEL_BURST, now))
        allowed = min(PER_CHANNEL_BURST, allowed + (now - at) / PER_CHANNEL_SECONDS)
        self._allowance[channel] = (allowed - 1 if allowed >= 1 else allowed, now)
        return 0.0 if allowed >= 1 else (1 - allowed) * PER_CHANNEL_SECONDS

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        self.arrivals.append((str(args["channel"]), time.monotonic()))
        return super()._chat_postMessage(args)

    def _bench_count(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"count": len(self.arrivals), "limited": self.limited}


@dataclass(frozen=True)
class FakeReport:
    arrivals: list[tuple[str, float]]
    limited: int
    """`chat.postMessage` calls refused with 429."""
    cpu: list[tuple[float, float]]
    """(monotonic, process CPU seconds) samples."""


def fake_slack_process(connection: Connection, emails: dict[str, str], delay: float) -> None:
    """Serve the fake until told to stop; send its URL first and its report last."""
    asyncio.run(_serve_fake(connection, emails, delay))


async def _serve_fake(connection: Connection, emails: dict[str, str], delay: float) -> None:
    slack = TimedSlack(delay)
    async with slack, sampling_cpu() as cpu:
        slack.emails.update(emails)
        connection.send(slack.url)
        await asyncio.to_thread(connection.recv)  # "stop"
        connection.send(FakeReport(slack.arrivals, slack.limited, cpu))


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


# --- the load generator, in a process of its own ----------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    url: str
    fake_url: str
    users: int
    rate: float
    seconds: float
    seed: int
    languages: list[str]
    """Each Slack user's language (by user number)."""


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


def signed(body: bytes, timestamp: int) -> dict[str, str]:
    """The headers Slack sends (as tests/channels/slack_events.py builds them)."""
    stamp = str(timestamp)
    digest = hmac.new(SECRET.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}", "Content-Type": "application/json"}


def dm_body(event_id: str, user: int, text: str) -> bytes:
    now = time.time()
    inner = {"type": "message", "channel_type": "im", "channel": dm_channel(user), "user": slack_user(user),
             "text": text, "ts": f"{now:.6f}", "event_ts": f"{now:.6f}", "team": TEAM_ID}
    return json.dumps({"token": "unused", "team_id": TEAM_ID, "api_app_id": "A1", "type": "event_callback",
                       "event_id": event_id, "event_time": int(now), "event": inner}).encode()


async def generate(plan: Plan) -> GeneratorReport:
    rng = random.Random(plan.seed)
    order = list(range(plan.users))
    rng.shuffle(order)
    report = GeneratorReport()
    run = uuid.uuid4().hex[:8]
    timeout = aiohttp.ClientTimeout(total=CLIENT_TIMEOUT_S)
    connector = aiohttp.TCPConnector(limit=0)  # open loop: a request never waits for a free connection
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        events = f"{plan.url}/slack/events"

        async def send(n: int, user: int, due: float, warmup: bool) -> None:
            body = dm_body(f"Ev{run}{n:07d}", user, rng.choice(MESSAGES[plan.languages[user]]))
            sent = time.monotonic()
            status = 0
            try:
                async with session.post(events, data=body, headers=signed(body, int(time.time()))) as response:
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

        # Warm-up: everyone once (connections, bolt's auth.test, compiled statements, each person's first turn).
        await phase(plan.users, 0, warmup=True)
        answered = sum(1 for sample in report.samples if sample.status == 200)
        await wait_for_replies(session, plan.fake_url, answered)
        cpu_started = time.process_time()
        count = max(1, round(plan.rate * plan.seconds))
        report.started = await phase(count, plan.users, warmup=False)
        report.last_due = report.started + (count - 1) / plan.rate
        report.cpu_seconds = time.process_time() - cpu_started
    return report


async def wait_for_replies(session: aiohttp.ClientSession, fake_url: str, expected: int) -> None:
    """Until the fake has received `expected` replies, or DRAIN_TIMEOUT_S passed."""
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while time.monotonic() < deadline:
        if (await bench_count(session, fake_url))["count"] >= expected:
            return
        await asyncio.sleep(0.05)
    raise RuntimeError(f"the warm-up's {expected} replies did not all reach the fake in {DRAIN_TIMEOUT_S:.0f} s")


async def bench_count(session: aiohttp.ClientSession, fake_url: str) -> dict[str, int]:
    """The messages the fake took so far ("count") and the ones it refused with 429 ("limited")."""
    async with session.post(f"{fake_url}bench.count", headers={"Authorization": f"Bearer {TOKEN}"}) as response:
        answer = await response.json()
        return {"count": int(answer["count"]), "limited": int(answer["limited"])}


# --- the service, in this process -------------------------------------------------------------------------------


async def prepare(url: str, users: int, seed: int) -> tuple[list[str], dict[str, str]]:
    """Migrate, seed the demo company, add staff cloned from it up to `users`, and link user n to Slack id n.
    Returns each Slack user's language (by number) and their profile emails (for the fake's users.info)."""
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
                await people.link_identity(session, employee, people.Platform.SLACK, slack_user(n))
            chosen = staff[:users]
            return [e.language if e.language in MESSAGES else "en" for e in chosen], {slack_user(n): e.email for n, e in enumerate(chosen)}
    finally:
        await database.dispose()


@dataclass
class ServiceReport:
    generator: GeneratorReport
    cpu: list[tuple[float, float]]
    drained: bool
    inbox: dict[str, int]
    """Inbox rows by status at the end, and how many needed more than one attempt ("retried")."""


async def run_service(url: str, data_dir: Path, fake_url: str, plan_of: Callable[[str], Plan], interpreter: Interpreter) -> ServiceReport:
    settings = load_settings(
        database_url=url, data_dir=data_dir, http_host="127.0.0.1", http_port=0, timezone="Asia/Tashkent",
        slack_bot_token=TOKEN, slack_signing_secret=SECRET, slack_api_url=fake_url,
    )
    service = configured_service(settings, interpreter=interpreter, clock=lambda: NOW)
    stop = asyncio.Event()
    running = asyncio.create_task(service.run(stop), name="service")
    try:
        await started(service, running)
        async with sampling_cpu() as cpu:
            generator = await in_process(generator_process, plan_of(service.url))
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


async def in_process(target: Callable[[Plan, Any], None], plan: Plan) -> GeneratorReport:
    """Run the load generator in a spawned process; wait for its report without blocking this event loop."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    process = context.Process(target=target, args=(plan, results), name="load generator")
    process.start()
    outcome = await asyncio.to_thread(results.get)
    await asyncio.to_thread(process.join)
    if isinstance(outcome, str):
        raise RuntimeError(f"the load generator failed: {outcome}")
    assert isinstance(outcome, GeneratorReport)
    return outcome


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


# --- one run, and the figures -----------------------------------------------------------------------------------


@dataclass
class Row:
    backend: str
    offered: float
    events: int
    acked: int
    ack_rate: float
    ack_ms: dict[str, float]
    non_200: int
    no_answer: int
    late: int
    """Acknowledged after Slack's 3 s."""
    e2e_ms: dict[str, float]
    answer_rate: float
    """Events answered per second, from the first due time to the last reply: what processing keeps up with."""
    unmatched: int
    backlog: int
    max_backlog: int
    drain_s: float
    lateness_p99_ms: float
    cpu_ms: dict[str, float]
    inbox: dict[str, int]
    drained: bool
    failures: dict[str, int]
    limited: int
    """Replies the fake refused with 429 (Slack's limit per channel), each waited for and sent again."""

    @property
    def verdict(self) -> str:
        """The target is set for SQLite at 200 events/s (or more); other rows get none."""
        if self.backend != "sqlite" or self.offered < TARGET_RATE:
            return "-"
        met = self.ack_ms["p99"] < TARGET_P99_MS and self.non_200 == 0 and self.no_answer == 0 and self.ack_rate >= 0.98 * self.offered
        return "met" if met else "not met"


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {name: float("nan") for name in ("p50", "p95", "p99", "max")}
    array = np.asarray(values) * 1000
    return {"p50": float(np.percentile(array, 50)), "p95": float(np.percentile(array, 95)),
            "p99": float(np.percentile(array, 99)), "max": float(array.max())}


def match_replies(samples: list[Sample], arrivals: list[tuple[str, float]]) -> tuple[dict[int, float], int]:
    """Each acknowledged event's reply arrival (by index in `samples`), pairing one chat's events and replies in
    order; and how many events were in chats whose counts differ (left out)."""
    replies: defaultdict[str, list[float]] = defaultdict(list)
    for channel, at in arrivals:
        replies[channel].append(at)
    by_chat: defaultdict[str, list[int]] = defaultdict(list)
    for index, sample in enumerate(samples):
        if sample.status == 200:
            by_chat[dm_channel(sample.user)].append(index)
    matched: dict[int, float] = {}
    unmatched = 0
    for channel, indexes in by_chat.items():
        indexes.sort(key=lambda index: samples[index].sent)
        times = sorted(replies.get(channel, []))
        if len(times) != len(indexes):
            unmatched += sum(1 for index in indexes if not samples[index].warmup)
            continue
        matched.update(zip(indexes, times, strict=True))
    return matched, unmatched


def figures(backend: str, plan: Plan, service: ServiceReport, fake: FakeReport) -> Row:
    report = service.generator
    samples = report.samples
    matched, unmatched = match_replies(samples, fake.arrivals)
    measured = [(index, sample) for index, sample in enumerate(samples) if not sample.warmup]
    ok = [sample for _, sample in measured if sample.status == 200]
    end = report.last_due
    last_answer = max((sample.answered for sample in ok), default=end)
    replied = sorted(matched[index] for index, _ in measured if index in matched)
    dues = sorted(sample.due for _, sample in measured)
    backlog = sum(1 for _, sample in measured if sample.due <= end) - bisect_right(replied, end)
    max_backlog = max((bisect_right(dues, at) - bisect_right(replied, at) for at in dues), default=0)
    finished = max(replied[-1] if replied else end, last_answer)
    window_end = max(last_answer, end)
    events = len(measured)
    cpu_end = max(finished, end)
    return Row(
        backend=backend,
        offered=plan.rate,
        events=events,
        acked=len(ok),
        ack_rate=len(ok) / (window_end - report.started) if window_end > report.started else float("nan"),
        ack_ms=percentiles([sample.answered - sample.due for _, sample in measured]),
        non_200=sum(1 for _, sample in measured if sample.status not in (0, 200)),
        no_answer=sum(1 for _, sample in measured if sample.status == 0),
        late=sum(1 for sample in ok if sample.answered - sample.due > SLACK_PATIENCE_S),
        e2e_ms=percentiles([matched[index] - sample.due for index, sample in measured if index in matched]),
        answer_rate=len(replied) / (replied[-1] - report.started) if replied and replied[-1] > report.started else float("nan"),
        unmatched=unmatched,
        backlog=backlog,
        max_backlog=max_backlog,
        drain_s=max(0.0, finished - end),
        lateness_p99_ms=float(np.percentile([(s.sent - s.due) * 1000 for _, s in measured], 99)) if measured else float("nan"),
        cpu_ms={
            "service": 1000 * cpu_between(service.cpu, report.started, cpu_end) / max(events, 1),
            "fake": 1000 * cpu_between(fake.cpu, report.started, cpu_end) / max(events, 1),
            "generator": 1000 * report.cpu_seconds / max(events, 1),
        },
        inbox=service.inbox,
        drained=service.drained,
        failures=report.failures,
        limited=fake.limited,
    )


@contextmanager
def database_for(choice: str) -> Iterator[tuple[str, str, Path]]:
    """(backend, URL, data directory) for `sqlite` (a file in a temporary directory) or a PostgreSQL URL (a fresh
    schema, dropped afterwards)."""
    directory = Path(tempfile.mkdtemp(prefix="backoffice-slack-bench-"))
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


def run_once(choice: str, args: argparse.Namespace, interpreter: Interpreter) -> Row:
    with database_for(choice) as (backend, url, directory):
        languages, emails = asyncio.run(prepare(url, args.users, args.seed))
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        fake = context.Process(target=fake_slack_process, args=(theirs, emails, args.slack_delay_ms / 1000), name="fake slack")
        fake.start()
        try:
            fake_url = ours.recv()

            def plan_of(service_url: str) -> Plan:
                return Plan(service_url, fake_url, args.users, args.rate, args.seconds, args.seed, languages)

            service = asyncio.run(run_service(url, directory, fake_url, plan_of, interpreter))
            ours.send("stop")
            report: FakeReport = ours.recv()
        finally:
            fake.join(timeout=10)
            if fake.is_alive():
                fake.terminate()
        return figures(backend, plan_of(""), service, report)


def table(rows: list[Row]) -> str:
    header = ("backend", "offered/s", "events", "acked/s", "ack p50 ms", "p95", "p99", "max", "non-200", "no answer",
              "> 3 s", "answered/s", "e2e p50 ms", "e2e p99 ms", "backlog at end", "max backlog", "drain s",
              "CPU ms/event (service / fake / generator)", "target")
    lines = [header]
    for row in rows:
        lines.append((
            row.backend, f"{row.offered:g}", str(row.events), f"{row.ack_rate:.0f}", f"{row.ack_ms['p50']:.1f}",
            f"{row.ack_ms['p95']:.1f}", f"{row.ack_ms['p99']:.1f}", f"{row.ack_ms['max']:.1f}", str(row.non_200),
            str(row.no_answer), str(row.late), f"{row.answer_rate:.0f}", f"{row.e2e_ms['p50']:.1f}", f"{row.e2e_ms['p99']:.1f}",
            str(row.backlog), str(row.max_backlog), f"{row.drain_s:.2f}",
            " / ".join(f"{row.cpu_ms[part]:.2f}" for part in ("service", "fake", "generator")),
            row.verdict,
        ))
    return markdown(header, lines[1:])


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    assert __doc__ is not None
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--rate", type=float, default=TARGET_RATE, help="events offered per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the measured phase")
    parser.add_argument("--users", type=int, default=500, help="Slack users writing (the demo staff, then clones)")
    parser.add_argument("--database-url", action="append", dest="databases", metavar="URL",
                        help="`sqlite` (a temporary file) or a loopback PostgreSQL server URL (a fresh schema, dropped "
                             "afterwards); repeat for several rows [default: sqlite]")
    parser.add_argument("--slack-delay-ms", type=float, default=0.0,
                        help="the fake answers each Web API call this much later (slack.com's round trip; 0: loopback only)")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="NLU model file (trained here if missing or stale)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    args.databases = args.databases or ["sqlite"]
    if args.rate <= 0 or args.seconds <= 0 or args.users < 1:
        parser.error("--rate, --seconds and --users must be positive")
    check_databases(parser, args.databases)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    interpreter = Interpreter.load_or_train(args.model, PACKAGE_DATA)
    rows = []
    for choice in args.databases:
        row = run_once(choice, args, interpreter)
        rows.append(row)
        if row.failures:
            print(f"{row.backend}: requests with no answer: {row.failures}")
        if row.unmatched:
            print(f"{row.backend}: {row.unmatched} events in chats whose replies could not be paired (left out of e2e)")
        if not row.drained:
            print(f"{row.backend}: the inbox still held pending updates {DRAIN_TIMEOUT_S:.0f} s after the last event")
        print(f"{row.backend}: inbox at the end {row.inbox}; generator lateness p99 {row.lateness_p99_ms:.1f} ms; "
              f"replies refused with 429 by the fake {row.limited}")
    print(f"\n{args.users} Slack users, {args.rate:g} events/s offered for {args.seconds:g} s (open loop), warm-up "
          f"one message each")
    print(host.describe())
    print(table(rows))
    print(f"target: p99 acknowledgement < {TARGET_P99_MS:g} ms at {TARGET_RATE:g} events/s on SQLite, every event "
          "acknowledged with 200")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Conversation throughput: messages per second and latency through the whole dialogue core, many users at once.

Run: ``python tests/benchmarks/conversation_benchmark.py [--mode all|sqlite|postgres|postgres-2proc] [--postgres URL]
[--users N] [--messages M] [--rate R] [--seconds S]``.

Every mode prepares a fresh database (an SQLite file in a temporary directory, or a fresh schema of ``--postgres``
that is dropped afterwards), migrates it, seeds the demo company and loads the NLU model (trained once, cached). The
demo employees then chat at the same time, one asyncio task each, through ``Router.receive`` exactly as a channel
adapter drives it (the replies go to a channel that only counts them): scripted multi-turn conversations in their own languages (and some in English), with a unique event id
per message and now and then a retried delivery of the same id, which must get the recorded replies, running nothing.

Load model: each user sends at the times of a Poisson process (``--rate`` messages/s per process shared by its
users), but never before the reply to their previous message has come back, so a slow core falls behind the
offered rate instead of piling up requests. ``--rate 0`` sends as fast as replies come back (capacity).
Latency is measured from sending to the reply. Errors: an exception, an empty reply list for a new message, or any
reply to a retried delivery.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import multiprocessing
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from sqlalchemy import select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from actions.replies import Reply  # noqa: E402
from bot.assistant import open_assistant  # noqa: E402
from bot.channels.base import Address  # noqa: E402
from bot.messages import Incoming  # noqa: E402
from bot.router import Router  # noqa: E402
from bot.settings import Settings  # noqa: E402
from nlu import ClassifierConfig, Interpreter  # noqa: E402
from nlu.cli import PACKAGE_DATA, model_file  # noqa: E402
from storage import migrate  # noqa: E402
from storage.database import Database, async_url  # noqa: E402
from storage.demo import seed_demo  # noqa: E402
from storage.people import Employee  # noqa: E402
from tests.benchmarks import host  # noqa: E402

NOW = datetime(2026, 11, 23, 6, 0)
"""Monday morning in every demo time zone; the demo company is seeded for this day."""
TARGET_RATE = 300.0
TARGET_P99_MS = 50.0
DEFAULT_MODEL = Path(tempfile.gettempdir()) / "backoffice-assistant-bench" / "nlu-model.joblib"
PLATFORM = "console"  # the demo links every employee's console identity (their email)


# --- the scripted conversations ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    text: str
    intent: str
    """What the person means; checked against the model before the run."""
    press: str | None = None
    """Press the button whose payload starts with this in the last replies (``text`` is its label then) instead of
    typing."""


def say(text: str, intent: str) -> Step:
    return Step(text, intent)


def press(payload: str, label: str) -> Step:
    return Step(label, "button", payload)


Conversation = tuple[Step, ...]

# Leave requests always end unsubmitted (no, cancel or the No button), so balances stay put and every run of a
# script meets the same data.
CONVERSATIONS: dict[str, tuple[Conversation, ...]] = {
    "en": (
        (say("hello", "greet"), say("what can you do?", "help"), say("thanks a lot", "thanks")),
        (say("what's my leave balance", "leave_balance"), say("thank you so much", "thanks")),
        (say("I need sick leave tomorrow", "leave_request"), say("no", "deny")),
        (say("annual leave from 14 to 18 December", "leave_request"), say("cancel", "cancel")),
        (say("study leave from 1 to 4 December", "leave_request"), press("form:no", "No")),
        (say("show my payslip for october", "payslip_show"), say("thanks", "thanks")),
        (say("show my tickets", "ticket_status"),),
        (say("do we have A4 paper?", "stock_query"), say("how many HDMI cables in supply room 2?", "stock_query")),
    ),
    "ru": (
        (say("привет", "greet"), say("что ты умеешь", "help"), say("спасибо", "thanks")),
        (say("покажи остаток отпуска", "leave_balance"), say("благодарю", "thanks")),
        (say("отпуск с 14 по 18 декабря", "leave_request"), say("нет", "deny")),
        (say("больничный на завтра", "leave_request"), say("отмена", "cancel")),
        (say("расчетный лист за октябрь", "payslip_show"), say("спасибо", "thanks")),
        (say("мои открытые тикеты", "ticket_status"),),
        (say("сколько бумаги а4 осталось", "stock_query"),),
    ),
    "uz": (
        (say("assalomu alaykum", "greet"), say("yordam bering", "help"), say("rahmat", "thanks")),
        (say("ta'til qoldig'i qancha", "leave_balance"), say("katta rahmat", "thanks")),
        (say("14 dekabrdan 18 dekabrgacha ta'tilga chiqmoqchiman", "leave_request"), say("yo'q", "deny")),
        (say("ertaga bolnichniy kerak", "leave_request"), say("to'xtat", "cancel")),
        (say("oktyabr uchun hisob varaqasini ko'rsating", "payslip_show"),),
        (say("tiketlarimni ko'rsat", "ticket_status"),),
        (say("A4 qog'oz bormi", "stock_query"),),
    ),
    "az": (
        (say("salam", "greet"), say("nə edə bilirsən?", "help"), say("çox sağ olun", "thanks")),
        (say("otpuskdan neçə günüm qalıb", "leave_balance"),),
        (say("sabah xəstəlik vərəqəsi lazımdır", "leave_request"), say("yox", "deny")),
        (say("oktyabr üçün əmək haqqı hesablamasını göstər", "payslip_show"), say("sağ ol", "thanks")),
        (say("tiketlərim", "ticket_status"),),
        (say("anbarda A4 kağız var?", "stock_query"),),
    ),
    "el": (
        (say("καλημέρα", "greet"), say("σε τι μπορείς να με βοηθήσεις;", "help"), say("ευχαριστώ", "thanks")),
        (say("υπόλοιπο άδειας", "leave_balance"),),
        (say("θέλω κανονική άδεια από 16 έως 22 Δεκεμβρίου", "leave_request"), say("όχι", "deny")),
        (say("στείλε μου το εκκαθαριστικό", "payslip_show"), say("ευχαριστώ πολύ", "thanks")),
        (say("εκλεισε το τικετ μου;", "ticket_status"),),
        (say("έχουμε χαρτί Α4;", "stock_query"),),
    ),
    "vi": (
        (say("xin chào", "greet"), say("bạn làm được gì", "help"), say("cảm ơn", "thanks")),
        (say("kiểm tra ngày phép", "leave_balance"),),
        (say("tôi muốn nghỉ phép từ 14/12 đến 18/12", "leave_request"), say("không", "deny")),
        (say("tôi cần nghỉ ốm ngày mai", "leave_request"), say("hủy", "cancel")),
        (say("xem phiếu lương", "payslip_show"), say("cảm ơn nhiều", "thanks")),
        (say("xem ticket của tôi", "ticket_status"),),
        (say("còn giấy A4 không", "stock_query"),),
    ),
}
ENGLISH_SHARE = 0.2
"""How often someone whose language is not English runs an English script instead."""


def misunderstood_steps(interpreter: Interpreter) -> list[str]:
    """Scripted phrases the model does not read as the script means them (the run still counts their replies)."""
    wrong = []
    for language, conversations in CONVERSATIONS.items():
        for conversation in conversations:
            for step in conversation:
                if step.press is None:
                    got = interpreter.parse(step.text, today=NOW.date(), language_hint=language)["intent"]["name"]
                    if got != step.intent:
                        wrong.append(f"{language}: {step.text!r} read as {got}, meant {step.intent}")
    return wrong


# --- simulated users ------------------------------------------------------------------------------------------


@dataclass
class Results:
    latencies_ms: list[float] = field(default_factory=list)
    messages: int = 0
    retries: int = 0
    errors: int = 0
    error_kinds: Counter[str] = field(default_factory=Counter)
    started: float = 0.0
    finished: float = 0.0
    cpu_seconds: float = 0.0
    """CPU time of the whole process (every thread, so the database driver's too) during the phase."""

    def error(self, kind: str) -> None:
        self.errors += 1
        self.error_kinds[kind] += 1


class Budget:
    """How many messages a phase may still send, and until when."""

    def __init__(self, messages: int, deadline: float) -> None:
        self.left = messages
        self.deadline = deadline

    def take(self) -> bool:
        if self.left <= 0 or time.perf_counter() >= self.deadline:
            return False
        self.left -= 1
        return True


class SimulatedUser:
    def __init__(self, email: str, language: str, chat_id: str, seed: int, retry_share: float) -> None:
        self.email = email
        self.chat_id = chat_id
        self.random = random.Random(seed)
        self.retry_share = retry_share
        self.events = 0
        self.last: list[Reply] = []
        own = CONVERSATIONS.get(language, CONVERSATIONS["en"])
        self.steps = self._steps(own)

    def _steps(self, own: tuple[Conversation, ...]) -> Iterator[Step]:
        while True:
            pool = CONVERSATIONS["en"] if self.random.random() < ENGLISH_SHARE else own
            yield from self.random.choice(pool)

    def next_incoming(self) -> Incoming:
        step = next(self.steps)
        payload = None
        if step.press is not None:
            # Form buttons carry their form instance ("form:no:<instance>"): press the one shown last time.
            shown = [button.payload for reply in self.last for button in reply.buttons]
            payload = next((shown_payload for shown_payload in shown if shown_payload.startswith(step.press)), None)
        self.events += 1
        return Incoming(
            platform=PLATFORM,
            chat_id=self.chat_id,
            user_id=self.email,
            private=True,
            text=step.text,
            payload=payload,
            at=NOW,
            event_id=f"bench:{self.chat_id}:{self.events}",
        )

    async def run(self, router: Router, budget: Budget, results: Results, rate_per_user: float) -> None:
        next_at = time.perf_counter() + (self.random.expovariate(rate_per_user) if rate_per_user else 0.0)
        while True:
            if rate_per_user:
                await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
                next_at += self.random.expovariate(rate_per_user)
            if not budget.take():
                return
            incoming = self.next_incoming()
            self.last = await self._send(router, incoming, results, retry=False)
            if self.random.random() < self.retry_share and budget.take():
                await self._send(router, incoming, results, retry=True)

    async def _send(self, router: Router, incoming: Incoming, results: Results, *, retry: bool) -> list[Reply]:
        started = time.perf_counter()
        try:
            receipt = await router.receive(incoming, COUNTING_CHANNEL)
        except Exception as error:  # noqa: BLE001 - any failure of the core is what we count
            replies = []
            results.error(f"{type(error).__name__}: {str(error)[:120]}")
        else:
            turn, replies = receipt.turn, receipt.replies
            if turn.error_id is not None:
                results.error("a turn failed (apology with an error id)")
            elif retry and not turn.replayed:
                results.error("a retried delivery was run again")
            elif not retry and not replies:
                results.error("no reply to a new message")
        results.latencies_ms.append((time.perf_counter() - started) * 1000)
        results.messages += 1
        results.retries += retry
        return replies


class CountingChannel:
    """A channel that only counts what it is asked to send: the platform's own time is not ours to measure."""

    platform = PLATFORM

    def __init__(self) -> None:
        self.sent = 0

    async def send(self, address: Address, reply: Reply) -> str:
        self.sent += 1
        return str(self.sent)

    async def edit(self, reference: str, reply: Reply) -> None:
        return None

    async def private_address(self, user_id: str) -> Address | None:
        return Address(self.platform, f"dm:{user_id}")


COUNTING_CHANNEL = CountingChannel()


async def run_phase(
    router: Router, users: list[SimulatedUser], *, messages: int, rate: float, seconds: float
) -> Results:
    results = Results(started=time.perf_counter())
    cpu_started = time.process_time()
    budget = Budget(messages, results.started + seconds)
    rate_per_user = rate / len(users) if rate else 0.0
    await asyncio.gather(*(user.run(router, budget, results, rate_per_user) for user in users))
    results.finished = time.perf_counter()
    results.cpu_seconds = time.process_time() - cpu_started
    return results


# --- databases ------------------------------------------------------------------------------------------------


def check_loopback(url: str) -> None:
    host = make_url(url).host
    if host in (None, "", "localhost"):
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise SystemExit(f"refusing a non-loopback database host {host!r}: this benchmark runs on this machine only")


def check_databases(parser: argparse.ArgumentParser, choices: list[str]) -> None:
    """`--database-url` values of the channel and scheduler benchmarks: `sqlite`, or a loopback PostgreSQL URL."""
    for choice in choices:
        if choice != "sqlite":
            if make_url(choice).get_backend_name() != "postgresql":
                parser.error(f"--database-url takes `sqlite` or a postgresql:// URL, not {choice!r}")
            check_loopback(choice)


def in_schema(url: str, schema: str) -> str:
    return async_url(url).update_query_dict({"search_path": schema}).render_as_string(hide_password=False)


async def execute(url: str, statement: str) -> None:
    database = Database(url)
    try:
        async with database.engine.begin() as connection:
            await connection.execute(text(statement))
    finally:
        await database.dispose()


async def prepare(url: str) -> None:
    """Migrate, seed the demo company and link everyone's console identity (the demo does that)."""
    database = Database(url)
    try:
        await migrate.upgrade(database)
        async with database.transaction() as session:
            await seed_demo(session, today=NOW.date())
    finally:
        await database.dispose()


async def demo_people(database: Database) -> list[tuple[str, str]]:
    async with database.sessions() as session:
        found = await session.execute(select(Employee.email, Employee.language).order_by(Employee.id))
        return [(email, language or "en") for email, language in found]


def make_users(people: list[tuple[str, str]], count: int, *, offset: int, seed: int, retry_share: float) -> list[SimulatedUser]:
    """`count` users from the demo staff starting at `offset`; beyond the staff, people open more chats."""
    users = []
    for n in range(offset, offset + count):
        email, language = people[n % len(people)]
        chat_id = f"dm:{email}" if n < len(people) else f"dm:{email}:{n // len(people)}"
        users.append(SimulatedUser(email, language, chat_id, seed=seed * 100_003 + n, retry_share=retry_share))
    return users


# --- one process ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkerPlan:
    url: str
    model: Path
    users: int
    user_offset: int
    messages: int
    warmup: int
    rate: float
    seconds: float
    retry_share: float
    seed: int


async def run_worker(plan: WorkerPlan, ready: Any = None) -> Results:
    """Open the core as the assistant does, warm it up, then measure (after `ready`, a barrier, if given)."""
    settings = Settings(database_url=plan.url, timezone="Asia/Tashkent")
    assistant = await open_assistant(settings, interpreter=Interpreter.load(plan.model), clock=lambda: NOW)
    try:
        people = await demo_people(assistant.database)
        users = make_users(people, plan.users, offset=plan.user_offset, seed=plan.seed, retry_share=plan.retry_share)
        router = Router(assistant.database, assistant.dialogue, clock=lambda: NOW)
        if plan.warmup:
            await run_phase(router, users, messages=plan.warmup, rate=0.0, seconds=plan.seconds)
        if ready is not None:
            await asyncio.to_thread(ready.wait)
        return await run_phase(router, users, messages=plan.messages, rate=plan.rate, seconds=plan.seconds)
    finally:
        await assistant.close()


def worker_process(plan: WorkerPlan, ready: Any, results: Any) -> None:
    """Entry point of a spawned worker: its results (or its failure) go back on the queue."""
    try:
        results.put(asyncio.run(run_worker(plan, ready)))
    except BaseException as error:
        ready.abort()
        results.put(f"{type(error).__name__}: {error}")
        raise


def run_processes(plans: list[WorkerPlan]) -> list[Results]:
    context = multiprocessing.get_context("spawn")
    ready = context.Barrier(len(plans))
    queue = context.Queue()
    workers = [context.Process(target=worker_process, args=(plan, ready, queue)) for plan in plans]
    for worker in workers:
        worker.start()
    outcomes = [queue.get() for _ in workers]
    for worker in workers:
        worker.join()
    failures = [outcome for outcome in outcomes if isinstance(outcome, str)]
    if failures:
        raise RuntimeError("a worker failed: " + "; ".join(failures))
    return outcomes


# --- modes and the report -------------------------------------------------------------------------------------


@dataclass
class Row:
    backend: str
    processes: int
    users: int
    per_process: list[Results]

    @property
    def messages(self) -> int:
        return sum(result.messages for result in self.per_process)

    @property
    def total_rate(self) -> float:
        window = max(r.finished for r in self.per_process) - min(r.started for r in self.per_process)
        return self.messages / window if window > 0 else 0.0

    def process_rates(self) -> list[float]:
        return [r.messages / (r.finished - r.started) if r.finished > r.started else 0.0 for r in self.per_process]

    def latency(self, q: float) -> float:
        merged = [ms for result in self.per_process for ms in result.latencies_ms]
        return float(np.percentile(merged, q)) if merged else float("nan")

    @property
    def cpu_ms_per_message(self) -> float:
        """The benchmark process's CPU per message (a PostgreSQL server's own CPU is not counted)."""
        return 1000 * sum(r.cpu_seconds for r in self.per_process) / self.messages if self.messages else float("nan")

    @property
    def errors(self) -> int:
        return sum(result.errors for result in self.per_process)

    @property
    def target_met(self) -> bool:
        return min(self.process_rates()) >= TARGET_RATE and self.latency(99) < TARGET_P99_MS and self.errors == 0


def plans_for(args: argparse.Namespace, url: str, processes: int) -> list[WorkerPlan]:
    users, messages = split(args.users, processes), split(args.messages, processes)
    return [
        WorkerPlan(
            url=url,
            model=args.model,
            users=users[n],
            user_offset=sum(users[:n]),
            messages=messages[n],
            warmup=args.warmup,
            rate=args.rate,
            seconds=args.seconds,
            retry_share=args.retries,
            seed=args.seed + n,
        )
        for n in range(processes)
    ]


def split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if n < total % parts else 0) for n in range(parts)]


def run_mode(mode: str, args: argparse.Namespace) -> Row:
    processes = 2 if mode == "postgres-2proc" else 1
    if mode == "sqlite":
        directory = Path(tempfile.mkdtemp(prefix="backoffice-bench-"))
        url = f"sqlite:///{directory / 'bench.sqlite3'}"
        try:
            asyncio.run(prepare(url))
            per_process = [asyncio.run(run_worker(plan)) for plan in plans_for(args, url, processes)]
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        return Row("sqlite", processes, args.users, per_process)
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    asyncio.run(execute(args.postgres, f'CREATE SCHEMA "{schema}"'))
    url = in_schema(args.postgres, schema)
    try:
        asyncio.run(prepare(url))
        plans = plans_for(args, url, processes)
        per_process = run_processes(plans) if processes > 1 else [asyncio.run(run_worker(plans[0]))]
    finally:
        asyncio.run(execute(args.postgres, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    return Row("postgresql", processes, args.users, per_process)


def table(rows: list[Row]) -> str:
    header = ("backend", "procs", "users", "messages", "msg/s per proc", "msg/s total", "p50 ms", "p99 ms", "max ms", "CPU ms/msg", "errors", "target")
    lines = [header]
    for row in rows:
        lines.append(
            (
                row.backend,
                str(row.processes),
                str(row.users),
                str(row.messages),
                " + ".join(f"{rate:.0f}" for rate in row.process_rates()),
                f"{row.total_rate:.0f}",
                f"{row.latency(50):.1f}",
                f"{row.latency(99):.1f}",
                f"{row.latency(100):.1f}",
                f"{row.cpu_ms_per_message:.2f}",
                str(row.errors),
                "met" if row.target_met else "not met",
            )
        )
    return markdown(header, lines[1:])


def markdown(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    """A Markdown table, columns padded to line up in a terminal too (every benchmark's tables)."""
    lines = [header, *rows]
    widths = [max(len(line[n]) for line in lines) for n in range(len(header))]
    rendered = ["| " + " | ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)) + " |" for line in lines]
    rendered.insert(1, "|" + "|".join("-" * (width + 2) for width in widths) + "|")
    return "\n".join(rendered)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--mode", choices=("all", "sqlite", "postgres", "postgres-2proc"), default="all", help="all = sqlite, then both PostgreSQL modes when a URL is given")
    parser.add_argument("--postgres", help="server URL (loopback only), else $TEST_DATABASE_URL; a fresh schema is made and dropped")
    parser.add_argument("--users", type=int, default=50, help="concurrent simulated users in all (split between processes)")
    parser.add_argument("--messages", type=int, default=6000, help="measured messages in all (split between processes)")
    parser.add_argument("--warmup", type=int, default=300, help="messages per process sent before measuring (not counted)")
    parser.add_argument("--rate", type=float, default=320.0, help="offered messages/s per process (a little above the 300/s target so Poisson noise can't decide the verdict); 0 = as fast as replies come")
    parser.add_argument("--seconds", type=float, default=30.0, help="cap on each measured phase")
    parser.add_argument("--retries", type=float, default=0.02, help="share of messages delivered twice with the same event id")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="NLU model file (trained here if missing or stale)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--sentence-encoder",
        action=argparse.BooleanOptionalAction,
        default=ClassifierConfig().sentence_encoder,
        help="the NLU model with its sentence encoder (the default) or the word models alone",
    )
    args = parser.parse_args(argv)
    args.postgres = args.postgres or os.environ.get("TEST_DATABASE_URL")
    if args.users < 1 or args.messages < 1:
        parser.error("--users and --messages must be at least 1")
    if args.mode in ("postgres", "postgres-2proc") and not args.postgres:
        parser.error(f"--mode {args.mode} needs --postgres URL or TEST_DATABASE_URL")
    if args.postgres:
        check_loopback(args.postgres)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    modes = [args.mode] if args.mode != "all" else ["sqlite", *(["postgres", "postgres-2proc"] if args.postgres else [])]
    if args.mode == "all" and not args.postgres:
        print("no --postgres URL or TEST_DATABASE_URL: SQLite only")
    started = time.perf_counter()
    args.model = model_file(args.model, args.sentence_encoder)  # models with and without it never replace each other
    config = ClassifierConfig(sentence_encoder=args.sentence_encoder)
    interpreter = Interpreter.load_or_train(args.model, PACKAGE_DATA, config=config)
    for problem in misunderstood_steps(interpreter):
        print(f"note: scripted phrase misunderstood by the model: {problem}")
    del interpreter
    rows = []
    for mode in modes:
        row = run_mode(mode, args)
        rows.append(row)
        print(f"{mode}: {row.messages} messages in {time.perf_counter() - started:.0f} s so far", flush=True)
    offered = f"{args.rate:g} msg/s offered per process" if args.rate else "as fast as replies come"
    print(f"\n{args.users} users, {offered}, warm-up {args.warmup} per process, {os.cpu_count()} CPUs")
    print(host.describe())
    print(table(rows))
    print(f"target: >= {TARGET_RATE:g} messages/s per process with p99 < {TARGET_P99_MS:g} ms and no errors")
    for row in rows:
        kinds = Counter[str]()
        for result in row.per_process:
            kinds.update(result.error_kinds)
        for kind, count in kinds.most_common(5):
            print(f"  {row.backend} x{row.processes} error x{count}: {kind}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

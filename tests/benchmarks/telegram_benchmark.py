"""Telegram: how fast webhook updates are accepted, and how fast replies can go out — Telegram's limits, not our code.

Run: ``python tests/benchmarks/telegram_benchmark.py [--rate 100] [--seconds 10] [--users 500]
[--database-url sqlite|postgresql://…] [--outbound 300] [--skip-webhook] [--skip-outbound]`` (about a minute and a
half with the defaults on an idle 2-core machine; `--rate 50 --seconds 4 --users 200 --outbound 150` for a short run).

Three processes, as in tests/benchmarks/slack_benchmark.py (both run on tests/benchmarks/load.py):
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
import sys
import time
import uuid
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import aiohttp  # noqa: E402

from actions.replies import Reply  # noqa: E402
from bot.channels.base import Address  # noqa: E402
from bot.channels.telegram import TelegramChannel  # noqa: E402
from bot.channels.telegram.client import Client, Identity  # noqa: E402
from bot.channels.telegram.receiving import Receiver  # noqa: E402
from nlu import Interpreter  # noqa: E402
from nlu.cli import PACKAGE_DATA  # noqa: E402
from storage import people  # noqa: E402
from tests.benchmarks import host  # noqa: E402
from tests.benchmarks.conversation_benchmark import DEFAULT_MODEL, check_databases, markdown  # noqa: E402
from tests.benchmarks.load import (  # noqa: E402
    FakeReport,
    Plan,
    ServiceReport,
    cpu_between,
    database_for,
    fake_in_process,
    match_replies,
    percentiles,
    prepare,
    run_service,
    sampling_cpu,
)
from tests.channels.telegram_fake import TOKEN, FakeTelegram  # noqa: E402

SECRET = "benchmark-webhook-secret"
WEBHOOK_URL = "https://bench.example.test/telegram/webhook"
FIRST_USER = 10_000_000
GROUP = -1_000_000_001
PER_CHAT_SECONDS = 1.0
"""The fake's rule for one chat: one message a second (Telegram: "avoid sending more than one message per second")."""
WARMUP_TIMEOUT_S = 180.0
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


def fake_telegram_process(connection: Connection) -> None:
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


# --- the load generator's requests --------------------------------------------------------------------------------


def update_body(update_id: int, user: int, language: str, text: str) -> bytes:
    """A private message as Telegram posts it to a webhook."""
    person = {"id": user_id(user), "is_bot": False, "first_name": f"Staff {user}", "language_code": language}
    return json.dumps({"update_id": update_id, "message": {
        "message_id": update_id, "date": int(time.time()), "chat": {"id": user_id(user), "type": "private", "first_name": f"Staff {user}"},
        "from": person, "text": text}}).encode()


@dataclass(frozen=True)
class TelegramUpdates:
    """Private messages as Telegram posts them to the webhook, with the secret header."""

    path = "/telegram/webhook"
    warmup_timeout_s = WARMUP_TIMEOUT_S
    first_update: int = field(default_factory=lambda: int(uuid.uuid4().int % 10**8) * 100)

    def request(self, number: int, user: int, language: str, text: str) -> tuple[bytes, dict[str, str]]:
        headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET}
        return update_body(self.first_update + number, user, language, text), headers

    async def bench_count(self, session: aiohttp.ClientSession, fake_url: str) -> dict[str, int]:
        return await bench_count(session, fake_url)


# --- webhook: the service in this process -------------------------------------------------------------------------


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


def webhook_figures(backend: str, plan: Plan, service: ServiceReport, fake: FakeReport[int]) -> WebhookRow:
    report = service.generator
    matched, unmatched = match_replies(report.samples, fake.arrivals, user_id)
    e2e = [matched[index] - sample.due for index, sample in enumerate(report.samples) if not sample.warmup and index in matched]
    measured = [sample for sample in report.samples if not sample.warmup]
    ok = [sample for sample in measured if sample.status == 200]
    window = max(max((sample.answered for sample in ok), default=report.last_due), report.last_due) - report.started
    answers = sorted(at for _, at in fake.arrivals if at >= report.started)
    return WebhookRow(
        backend=backend, offered=plan.rate, updates=len(measured), accepted_rate=len(ok) / window if window > 0 else float("nan"),
        webhook_ms=percentiles([sample.answered - sample.due for sample in measured]),
        non_200=sum(1 for sample in measured if sample.status not in (0, 200)), no_answer=sum(1 for sample in measured if sample.status == 0),
        reply_rate=len(answers) / (answers[-1] - report.started) if answers and answers[-1] > report.started else float("nan"),
        e2e_ms=percentiles(e2e), unmatched=unmatched, limited=fake.limited, drained=service.drained,
        cpu_ms=1000 * cpu_between(service.cpu, report.started, answers[-1] if answers else report.last_due) / max(len(measured), 1),
        inbox=service.inbox,
    )


def run_webhook(choice: str, args: argparse.Namespace, interpreter: Interpreter) -> WebhookRow:
    with database_for(choice) as (backend, url, directory):
        languages, _ = asyncio.run(prepare(url, args.users, args.seed, people.Platform.TELEGRAM, lambda n: str(user_id(n))))
        with fake_in_process(fake_telegram_process, name="fake telegram") as fake:
            api_url, file_url = fake.address

            def plan_of(service_url: str) -> Plan:
                return Plan(service_url, api_url, args.users, args.rate, args.seconds, args.seed, languages, TelegramUpdates())

            channel_settings: dict[str, object] = {
                "telegram_bot_token": TOKEN, "telegram_api_url": api_url, "telegram_file_url": file_url,
                "telegram_webhook_url": WEBHOOK_URL, "telegram_webhook_secret": SECRET,
            }
            service = asyncio.run(run_service(url, directory, channel_settings, plan_of, interpreter))
            fake_report: FakeReport[int] = fake.stop()
        return webhook_figures(backend, plan_of(""), service, fake_report)


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


def run_outbound(count: int) -> tuple[list[OutboundRow], FakeReport[int]]:
    with fake_in_process(fake_telegram_process, name="fake telegram") as fake:
        api_url, file_url = fake.address
        rows = asyncio.run(outbound(api_url, file_url, count))
        report: FakeReport[int] = fake.stop()
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

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
import sys
import time
import uuid
from bisect import bisect_right
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402

from nlu import Interpreter  # noqa: E402
from nlu.cli import PACKAGE_DATA  # noqa: E402
from storage import people  # noqa: E402
from tests.benchmarks import host  # noqa: E402
from tests.benchmarks.conversation_benchmark import DEFAULT_MODEL, check_databases, markdown  # noqa: E402
from tests.benchmarks.load import (  # noqa: E402
    DRAIN_TIMEOUT_S,
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
from tests.channels.slack_fake import TEAM_ID, TOKEN, FakeSlack  # noqa: E402

SECRET = "benchmark-signing-secret"
TARGET_RATE = 200.0
TARGET_P99_MS = 300.0
SLACK_PATIENCE_S = 3.0
"""Slack counts an event not acknowledged within 3 s as failed and delivers it again."""
PER_CHANNEL_SECONDS = 1.0
PER_CHANNEL_BURST = 3.0
"""Slack's limit for chat.postMessage: "1 message per second to a specific channel", with short bursts allowed
(how short it doesn't say: 3 here)."""


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


# --- the load generator's requests --------------------------------------------------------------------------------


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


@dataclass(frozen=True)
class SignedEvents:
    """Direct messages as Slack posts them: signed Events API requests."""

    path = "/slack/events"
    warmup_timeout_s = DRAIN_TIMEOUT_S
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    def request(self, number: int, user: int, language: str, text: str) -> tuple[bytes, dict[str, str]]:
        body = dm_body(f"Ev{self.run}{number:07d}", user, text)
        return body, signed(body, int(time.time()))

    async def bench_count(self, session: aiohttp.ClientSession, fake_url: str) -> dict[str, int]:
        return await bench_count(session, fake_url)


async def bench_count(session: aiohttp.ClientSession, fake_url: str) -> dict[str, int]:
    """The messages the fake took so far ("count") and the ones it refused with 429 ("limited")."""
    async with session.post(f"{fake_url}bench.count", headers={"Authorization": f"Bearer {TOKEN}"}) as response:
        answer = await response.json()
        return {"count": int(answer["count"]), "limited": int(answer["limited"])}


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


def figures(backend: str, plan: Plan, service: ServiceReport, fake: FakeReport[str]) -> Row:
    report = service.generator
    samples = report.samples
    matched, unmatched = match_replies(samples, fake.arrivals, dm_channel)
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


def run_once(choice: str, args: argparse.Namespace, interpreter: Interpreter) -> Row:
    with database_for(choice) as (backend, url, directory):
        languages, emails = asyncio.run(prepare(url, args.users, args.seed, people.Platform.SLACK, slack_user))
        profiles = {slack_user(n): email for n, email in enumerate(emails)}
        with fake_in_process(fake_slack_process, profiles, args.slack_delay_ms / 1000, name="fake slack") as fake:
            fake_url = fake.address

            def plan_of(service_url: str) -> Plan:
                return Plan(service_url, fake_url, args.users, args.rate, args.seconds, args.seed, languages, SignedEvents())

            channel_settings: dict[str, object] = {"slack_bot_token": TOKEN, "slack_signing_secret": SECRET, "slack_api_url": fake_url}
            service = asyncio.run(run_service(url, directory, channel_settings, plan_of, interpreter))
            report: FakeReport[str] = fake.stop()
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

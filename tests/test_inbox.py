"""The inbox of inbound updates on SQLite and PostgreSQL: stored once before the platform is acknowledged, run
through the router by the inbox worker — one chat in order, chats side by side —, retried, dead-lettered, leased."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict, deque
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from actions import default_routes
from actions.replies import Reply
from bot.assistant import load_catalogue
from bot.channels.base import Address, Channel, TransientDeliveryError
from bot.dialogue import Dialogue
from bot.inbox import WAIT_FOR_CHANNEL, Inbox, InboxWorker
from bot.messages import Incoming
from bot.router import Router
from nlu import Interpreter
from storage import inbox, people
from storage.conversations import SeenEvent
from storage.database import Database
from storage.inbox import MAX_ATTEMPTS, InboxStatus, InboxUpdate
from tests.channels.recording import RecordingChannel
from tests.factories import Company, make_company
from tests.running import NOW, Clock


class Recorder:
    """A router that answers each update by echoing its text through the channel, and can fail or be slow."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.seen: list[tuple[str, str]] = []
        """(chat, text) of every update run to the end, in the order they finished."""
        self.failures: defaultdict[str, deque[Exception]] = defaultdict(deque)
        self.started = 0
        self.running = 0
        self.most_at_once = 0

    async def receive(self, incoming: Incoming, channel: Channel) -> object:
        self.started += 1
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            queued = self.failures.get(incoming.text)
            if queued:
                raise queued.popleft()
            self.seen.append((incoming.chat_id, incoming.text))
            await channel.send(Address(incoming.platform, incoming.chat_id), Reply(incoming.text))
            return None
        finally:
            self.running -= 1


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def channel() -> RecordingChannel:
    return RecordingChannel("telegram")


def message(chat: str, text: str, *, platform: str = "telegram") -> Incoming:
    return Incoming(platform, chat, f"user-{chat}", private=True, text=text)


def worker(database: Database, router: object, clock: Clock, *channels: RecordingChannel, **options: object) -> InboxWorker:
    return InboxWorker(database, router, {c.platform: c for c in channels}, clock=clock, **options)  # type: ignore[arg-type]


async def drain(worker: InboxWorker) -> int:
    rounds = 0
    while (await worker.run_once()).claimed:
        rounds += 1
    return rounds


async def rows(database: Database) -> list[InboxUpdate]:
    async with database.sessions() as session:
        return list(await session.scalars(select(InboxUpdate).order_by(InboxUpdate.id)))


def test_an_incoming_survives_a_round_trip_through_a_dict() -> None:
    full = Incoming("slack", "C1", "U1", private=False, text="hi", payload="la:7", at=datetime(2026, 11, 23, 6, 0, 5),
                    event_id="Ev1", thread_id="171.2", team_id="T1", language="uz")
    assert full.to_dict()["at"] == "2026-11-23T06:00:05"
    assert Incoming.from_dict(full.to_dict()) == full
    bare = Incoming("telegram", "1", "2", private=True)
    assert Incoming.from_dict(bare.to_dict()) == bare and bare.to_dict()["at"] is None


async def test_a_retried_delivery_makes_no_second_row_and_gets_one_answer(
    database: Database, interpreter: Interpreter, clock: Clock
) -> None:
    async with database.transaction() as session:
        company: Company = await make_company(session)
        await people.link_identity(session, company.alice, "telegram", "1001")
    await load_catalogue(database, interpreter)
    dialogue = Dialogue(database, interpreter, default_routes(), clock=clock)
    channel = RecordingChannel("telegram")
    accepted: list[bool] = []
    box = Inbox(database, clock=clock, on_accepted=lambda: accepted.append(True))
    hello = Incoming("telegram", "dm:1001", "1001", private=True, text="Hello!")

    assert await box.accept(hello, "update-7") is True
    assert await box.accept(hello, "update-7") is False  # the platform delivered it again before our ack reached it
    assert accepted == [True]
    [row] = await rows(database)
    assert (row.platform, row.key, row.chat_id, row.status) == ("telegram", "update-7", "dm:1001", InboxStatus.PENDING)
    stored = Incoming.from_dict(row.incoming)
    assert (stored.event_id, stored.at, stored.text) == ("update-7", NOW, "Hello!")  # the dialogue de-duplicates by it too

    done = await worker(database, Router(database, dialogue, clock=clock), clock, channel).run_once()
    assert done.done == [row.id]
    assert len(channel.to("dm:1001")) == 1
    assert await box.accept(hello, "update-7") is False  # a late retry, after processing
    assert (await worker(database, Recorder(), clock, channel).run_once()).claimed == 0
    assert len(channel.to("dm:1001")) == 1
    [done_row] = await rows(database)
    assert (done_row.status, done_row.processed_at, done_row.claimed_by) == (InboxStatus.DONE, NOW, None)


async def test_a_chats_updates_run_in_order_and_different_chats_side_by_side(
    database: Database, clock: Clock, channel: RecordingChannel
) -> None:
    box = Inbox(database, clock=clock)
    for n in range(12):
        await box.accept(message(f"chat-{n % 3}", f"message {n}"), f"u{n}")
    router = Recorder(delay=0.02)
    first = await worker(database, router, clock, channel).run_once()
    assert first.claimed == 3  # the oldest update of each chat, none of a chat's later ones
    assert router.most_at_once == 3
    await drain(worker(database, router, clock, channel))
    for chat in range(3):
        expected = [f"message {n}" for n in range(12) if n % 3 == chat]
        assert [reply.text for reply in channel.to(f"chat-{chat}")] == expected


async def test_an_update_left_by_a_worker_that_died_is_processed_by_another(
    database: Database, clock: Clock, channel: RecordingChannel
) -> None:
    box = Inbox(database, clock=clock)
    await box.accept(message("chat-1", "never claimed"), "u1")  # accepted, acknowledged, then the process died
    await box.accept(message("chat-2", "claimed, then died"), "u2")
    async with database.transaction() as session:
        [held] = await inbox.claim(session, now=clock.now, limit=1, worker="dead-worker")
    assert held.key == "u1"
    router = Recorder()
    survivor = worker(database, router, clock, channel, name="survivor")
    assert len((await survivor.run_once()).done) == 1  # the other one; the dead worker's lease still runs
    assert router.seen == [("chat-2", "claimed, then died")]
    clock.advance(seconds=inbox.LEASE.total_seconds())
    assert len((await survivor.run_once()).done) == 1
    assert router.seen[-1] == ("chat-1", "never claimed")
    assert [row.status for row in await rows(database)] == [InboxStatus.DONE, InboxStatus.DONE]


async def test_two_workers_never_process_one_update_twice(database: Database, clock: Clock, channel: RecordingChannel) -> None:
    box = Inbox(database, clock=clock)
    for n in range(30):
        await box.accept(message(f"chat-{n % 5}", f"message {n}"), f"u{n}")
    router = Recorder(delay=0.01)
    workers = [worker(database, router, clock, channel, batch_size=2, name=name) for name in ("one", "two")]
    await asyncio.gather(*(drain(each) for each in workers))
    assert sorted(text for _, text in router.seen) == sorted(f"message {n}" for n in range(30))  # each exactly once
    assert router.started == 30
    for chat in range(5):
        assert [reply.text for reply in channel.to(f"chat-{chat}")] == [f"message {n}" for n in range(30) if n % 5 == chat]


async def test_a_failing_update_is_retried_after_a_back_off_then_dead_lettered_and_its_chat_goes_on(
    database: Database, clock: Clock, channel: RecordingChannel
) -> None:
    box = Inbox(database, clock=clock)
    await box.accept(message("chat-a", "breaks"), "a1")
    await box.accept(message("chat-b", "fine"), "b1")
    await box.accept(message("chat-a", "after it"), "a2")
    router = Recorder()
    router.failures["breaks"].extend(ValueError("could not parse 'my salary is 5000'") for _ in range(MAX_ATTEMPTS))
    work = worker(database, router, clock, channel)

    first = await work.run_once()
    assert (len(first.retried), len(first.done)) == (1, 1)  # the other chat was not held up
    [broken, _, later] = await rows(database)
    assert (broken.attempts, broken.status, broken.due_at) == (1, InboxStatus.PENDING, NOW + timedelta(seconds=5))
    assert broken.last_error == "ValueError"  # never the exception's text: it may quote the message
    assert (await work.run_once()).claimed == 0  # not before the back-off ends; "after it" waits behind it
    for wait in (5, 10, 20, 40):
        clock.advance(seconds=wait - 1)
        assert (await work.run_once()).claimed == 0
        clock.advance(seconds=1)
        outcome = await work.run_once()
        assert outcome.retried == [broken.id] if wait < 40 else outcome.dead == [broken.id]
    [broken, _, later] = await rows(database)
    assert (broken.status, broken.attempts, broken.processed_at, broken.last_error) == (
        InboxStatus.DEAD, MAX_ATTEMPTS, clock.now, "ValueError",
    )
    assert later.status is InboxStatus.PENDING
    assert (await work.run_once()).done == [later.id]  # the chat goes on, in order
    assert router.seen == [("chat-b", "fine"), ("chat-a", "after it")]


async def test_a_channel_failure_is_retried_and_the_turn_runs_once(
    database: Database, interpreter: Interpreter, clock: Clock, channel: RecordingChannel
) -> None:
    async with database.transaction() as session:
        company = await make_company(session)
        await people.link_identity(session, company.alice, "telegram", "1001")
    dialogue = Dialogue(database, interpreter, default_routes(), clock=clock)
    router = Router(database, dialogue, clock=clock)
    token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
    channel.fail_next("dm:1001", TransientDeliveryError(f"ConnectError: https://api.telegram.org/bot{token}/sendMessage"))
    await Inbox(database, clock=clock).accept(Incoming("telegram", "dm:1001", "1001", private=True, text="Hello!"), "update-1")
    work = worker(database, router, clock, channel)

    assert len((await work.run_once()).retried) == 1
    [row] = await rows(database)
    assert token not in row.last_error and row.last_error.startswith("TransientDeliveryError: ConnectError")
    clock.advance(seconds=5)
    assert len((await work.run_once()).done) == 1
    assert len(channel.to("dm:1001")) == 1
    async with database.sessions() as session:  # the retry replayed the recorded turn: it ran once
        assert await session.scalar(select(func.count()).select_from(SeenEvent).where(SeenEvent.event_id == "update-1")) == 1


async def test_an_update_for_a_platform_without_a_channel_here_waits_without_using_attempts(
    database: Database, clock: Clock, channel: RecordingChannel
) -> None:
    await Inbox(database, clock=clock).accept(message("C1", "from slack", platform="slack"), "Ev1")
    router = Recorder()
    assert len((await worker(database, router, clock, channel).run_once()).waiting) == 1
    [row] = await rows(database)
    assert (row.status, row.attempts, row.due_at, row.claimed_by) == (InboxStatus.PENDING, 0, NOW + WAIT_FOR_CHANNEL, None)
    slack = RecordingChannel("slack")
    assert (await worker(database, router, clock, slack).run_once()).claimed == 0  # not due yet
    clock.advance(seconds=WAIT_FOR_CHANNEL.total_seconds())
    assert len((await worker(database, router, clock, slack).run_once()).done) == 1
    assert [reply.text for reply in slack.to("C1")] == ["from slack"]


async def test_an_unreadable_update_is_dead_lettered(database: Database, clock: Clock, channel: RecordingChannel) -> None:
    async with database.transaction() as session:
        await inbox.accept(session, platform="telegram", key="u1", chat_id="c", incoming={"text": "no chat"}, now=NOW)
    assert len((await worker(database, Recorder(), clock, channel).run_once()).dead) == 1
    [row] = await rows(database)
    assert (row.status, row.last_error) == (InboxStatus.DEAD, "unreadable update (KeyError)")


async def test_a_running_worker_processes_at_once_when_woken_and_releases_its_claims_on_stop(
    database: Database, clock: Clock, channel: RecordingChannel
) -> None:
    router = Recorder(delay=30)  # the second update hangs: the service stops mid-turn
    work = worker(database, router, clock, channel, poll_interval=3600)
    box = Inbox(database, clock=clock, on_accepted=work.wake)
    stop = asyncio.Event()
    running = asyncio.create_task(work.run(stop))
    await asyncio.sleep(0.05)  # into its hour-long pause
    router.delay = 0
    await box.accept(message("chat-1", "quick"), "u1")
    async with asyncio.timeout(5):
        while not router.seen:
            await asyncio.sleep(0.01)
    router.delay = 30
    await box.accept(message("chat-2", "stuck"), "u2")
    async with asyncio.timeout(5):
        while router.started < 2:
            await asyncio.sleep(0.01)
    assert (await rows(database))[1].claimed_by == work.name
    stop.set()
    running.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await running
    quick, stuck = await rows(database)
    assert quick.status is InboxStatus.DONE
    assert (stuck.status, stuck.claimed_by, stuck.locked_until, stuck.attempts) == (InboxStatus.PENDING, None, None, 0)
    router.delay = 0
    assert len((await worker(database, router, clock, channel).run_once()).done) == 1  # another worker takes it at once


async def test_processed_updates_are_forgotten_after_a_while_pending_and_dead_ones_kept(database: Database, clock: Clock) -> None:
    async with database.transaction() as session:
        for key, status, processed in (
            ("old", InboxStatus.DONE, NOW - timedelta(days=3)),
            ("recent", InboxStatus.DONE, NOW - timedelta(hours=1)),
            ("dead", InboxStatus.DEAD, NOW - timedelta(days=3)),
            ("pending", InboxStatus.PENDING, None),
        ):
            session.add(InboxUpdate(platform="telegram", key=key, chat_id="c", incoming={}, status=status, processed_at=processed))
    async with database.transaction() as session:
        assert await inbox.forget_done(session, before=NOW - timedelta(days=2)) == 1
    assert [row.key for row in await rows(database)] == ["recent", "dead", "pending"]

"""The inbox of inbound updates on SQLite and PostgreSQL: stored once before the platform is acknowledged, run
through the router by the inbox worker — one chat in order, chats side by side —, retried, dead-lettered, leased."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import event, func, select

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
from tests.running import NOW, Clock, until


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
        self.gates: dict[str, asyncio.Event] = {}
        """Texts whose update waits until its event is set (a turn or a platform that is slow this time)."""
        self.chats_running: set[str] = set()
        self.overlapping: list[str] = []
        """Chats that had two updates running at once (never allowed)."""

    async def receive(self, incoming: Incoming, channel: Channel) -> object:
        self.started += 1
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        if incoming.chat_id in self.chats_running:
            self.overlapping.append(incoming.chat_id)
        self.chats_running.add(incoming.chat_id)
        try:
            if incoming.text in self.gates:
                await self.gates[incoming.text].wait()
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
            self.chats_running.discard(incoming.chat_id)

    def texts(self) -> list[str]:
        return [text for _, text in self.seen]


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


@contextlib.asynccontextmanager
async def working(work: InboxWorker) -> AsyncIterator[asyncio.Task[None]]:
    """Run the worker for the block, then stop it (the updates in flight finish first) and wait for it to end."""
    stop = asyncio.Event()
    running = asyncio.create_task(work.run(stop))
    try:
        yield running
    finally:
        stop.set()
        async with asyncio.timeout(10):
            await running


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


async def test_a_running_worker_keeps_at_most_its_limit_in_flight_and_claims_more_as_they_finish(
    database: Database, clock: Clock, channel: RecordingChannel
) -> None:
    box = Inbox(database, clock=clock)
    for n in range(12):
        await box.accept(message(f"chat-{n}", f"message {n}"), f"u{n}")
    router = Recorder(delay=0.01)
    work = worker(database, router, clock, channel, max_in_flight=3, claim_interval=0, poll_interval=3600)
    async with working(work):
        await until(lambda: len(router.seen) == 12)
    assert router.most_at_once == 3  # the limit reached, never passed, and every update of the 12 chats run
    assert sorted(router.texts()) == sorted(f"message {n}" for n in range(12))
    assert all(row.status is InboxStatus.DONE for row in await rows(database))


async def test_a_slow_update_holds_up_its_own_chat_only(database: Database, clock: Clock, channel: RecordingChannel) -> None:
    box = Inbox(database, clock=clock)
    await box.accept(message("chat-slow", "slow"), "s1")
    await box.accept(message("chat-slow", "after the slow one"), "s2")
    for n in range(3):
        await box.accept(message("chat-a", f"a{n}"), f"a{n}")
        await box.accept(message("chat-b", f"b{n}"), f"b{n}")
    router = Recorder()
    router.gates["slow"] = asyncio.Event()
    work = worker(database, router, clock, channel, claim_interval=0, poll_interval=3600)
    async with working(work):
        # The other chats go on, one update after the other, while the slow one is still running ...
        await until(lambda: len(router.seen) == 6)
        assert (router.running, router.chats_running) == (1, {"chat-slow"})
        assert "after the slow one" not in router.texts()  # ... but not its own chat's next update
        router.gates["slow"].set()
        await until(lambda: len(router.seen) == 8)
    for chat, texts in (("chat-slow", ["slow", "after the slow one"]), ("chat-a", ["a0", "a1", "a2"]), ("chat-b", ["b0", "b1", "b2"])):
        assert [reply.text for reply in channel.to(chat)] == texts


async def test_a_running_worker_runs_each_chats_updates_in_order_one_at_a_time(
    database: Database, clock: Clock, channel: RecordingChannel
) -> None:
    box = Inbox(database, clock=clock)
    router = Recorder(delay=0.002)
    work = worker(database, router, clock, channel, max_in_flight=4, batch_size=2, claim_interval=0.001, poll_interval=3600)
    box.on_accepted = work.wake
    async with working(work):
        for n in range(48):  # accepted while it works, as a platform delivers them
            await box.accept(message(f"chat-{n % 6}", f"message {n}"), f"u{n}")
        await until(lambda: len(router.seen) == 48)
    assert router.started == 48 and router.overlapping == []
    assert router.most_at_once <= 4
    for chat in range(6):
        assert [reply.text for reply in channel.to(f"chat-{chat}")] == [f"message {n}" for n in range(48) if n % 6 == chat]


async def test_stopping_a_running_worker_lets_the_updates_in_flight_finish_and_claims_nothing_more(
    database: Database, clock: Clock, channel: RecordingChannel
) -> None:
    box = Inbox(database, clock=clock)
    await box.accept(message("chat-1", "in flight"), "u1")
    await box.accept(message("chat-2", "waiting for a slot"), "u2")
    router = Recorder()
    router.gates["in flight"] = asyncio.Event()
    work = worker(database, router, clock, channel, max_in_flight=1, claim_interval=0, poll_interval=3600)
    stop = asyncio.Event()
    running = asyncio.create_task(work.run(stop))
    await until(lambda: router.running == 1)
    stop.set()
    router.gates["in flight"].set()
    async with asyncio.timeout(10):
        await running
    assert router.texts() == ["in flight"]
    in_flight, waiting = await rows(database)
    assert (in_flight.status, in_flight.claimed_by) == (InboxStatus.DONE, None)  # finished and recorded before the stop
    assert (waiting.status, waiting.claimed_by, waiting.locked_until, waiting.attempts) == (InboxStatus.PENDING, None, None, 0)


async def test_updates_that_finish_together_are_recorded_in_one_statement(
    database: Database, clock: Clock, channel: RecordingChannel
) -> None:
    box = Inbox(database, clock=clock)
    for n in range(5):
        await box.accept(message(f"chat-{n}", "together"), f"u{n}")
    router = Recorder()
    router.gates["together"] = asyncio.Event()
    recorded: list[str] = []

    def note(_connection: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.startswith("UPDATE inbox SET status"):
            recorded.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", note)
    try:
        work = worker(database, router, clock, channel, claim_interval=0, poll_interval=3600)
        async with working(work):
            await until(lambda: router.running == 5)
            router.gates["together"].set()
            await until(lambda: len(router.seen) == 5 and work.in_flight == 0)
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", note)
    assert len(recorded) == 1
    assert [row.status for row in await rows(database)] == [InboxStatus.DONE] * 5


async def test_results_are_recorded_only_for_updates_still_leased_to_the_worker(database: Database, clock: Clock) -> None:
    box = Inbox(database, clock=clock)
    for n in range(3):
        await box.accept(message(f"chat-{n}", f"message {n}"), f"u{n}")
    async with database.transaction() as session:
        mine = [row.id for row in await inbox.claim(session, now=clock.now, limit=2, worker="me")]
    clock.advance(seconds=inbox.LEASE.total_seconds())  # my leases ran out: another worker takes one of them
    async with database.transaction() as session:
        [taken] = await inbox.claim(session, now=clock.now, limit=1, worker="other")
    [never_claimed] = [row.id for row in await rows(database) if row.id not in mine]
    async with database.transaction() as session:
        recorded = await inbox.mark_done_many(session, [*mine, never_claimed], worker="me", now=clock.now)
    [still_mine] = set(mine) - {taken.id}
    assert recorded == {still_mine}
    assert {row.id: row.status for row in await rows(database)} == {
        still_mine: InboxStatus.DONE, taken.id: InboxStatus.PENDING, never_claimed: InboxStatus.PENDING,
    }

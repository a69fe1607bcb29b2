"""The outbox delivery worker on SQLite and PostgreSQL, through recording channels: where a message goes, what
happens when a platform fails for a while or for good, dead letters, live messages edited after a decision, leases."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import date, timedelta

import pytest
from sqlalchemy.pool import QueuePool

from actions.context import ActionContext, Understanding
from actions.i18n import Translator
from actions.replies import Button, Reply
from bot.channels.base import Address, PermanentDeliveryError, TransientDeliveryError
from bot.delivery import MAX_WAIT_FOR_CHANNEL, WAIT_FOR_CHANNEL, DeliveryWorker
from storage import live, outbox, people
from storage.database import Database
from storage.outbox import MAX_ATTEMPTS, OutboxMessage, OutboxStatus
from storage.people import ChatIdentity, Employee
from tests.channels.recording import RecordingChannel
from tests.factories import Company, make_company
from tests.running import NOW, Clock


@pytest.fixture
async def company(database: Database) -> Company:
    async with database.transaction() as session:
        return await make_company(session)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def telegram() -> RecordingChannel:
    return RecordingChannel("telegram")


@pytest.fixture
def slack() -> RecordingChannel:
    return RecordingChannel("slack")


async def link(database: Database, employee: Employee, platform: str, external_id: str) -> int:
    async with database.transaction() as session:
        return (await people.link_identity(session, employee, platform, external_id)).id


async def queue(database: Database, recipient: Employee, text: str, **options: object) -> int:
    async with database.transaction() as session:
        reply = Reply(text, **options)  # type: ignore[arg-type]
        message = await outbox.enqueue(session, recipient.id, reply.to_dict(), due_at=NOW, live_key=reply.live_key)
        return message.id


async def stored(database: Database, message_id: int) -> OutboxMessage:
    async with database.sessions() as session:
        found = await session.get(OutboxMessage, message_id)
        assert found is not None
        return found


async def identity(database: Database, identity_id: int) -> ChatIdentity:
    async with database.sessions() as session:
        found = await session.get(ChatIdentity, identity_id)
        assert found is not None
        return found


async def decide(database: Database, decider: Employee, key: str) -> None:
    """What a decision site does (actions/approvals.py): close the live messages about the record."""
    async with database.transaction() as session:
        ctx = ActionContext(
            session=session,
            employee=decider,
            t=Translator(decider.language),
            now=NOW,
            today=date(2026, 11, 23),
            private_chat=True,
            message=Understanding(text="approve 7", intent="approvals_pending", confidence=1.0),
        )
        await ctx.close_live(key, lambda t: Reply(f"Closed in {t.language}", live_key=key))


def worker(database: Database, clock: Clock, *channels: RecordingChannel, **options: object) -> DeliveryWorker:
    return DeliveryWorker(database, {channel.platform: channel for channel in channels}, clock=clock, **options)  # type: ignore[arg-type]


async def test_a_message_goes_to_the_persons_private_chat_and_where_it_went_is_kept(
    database: Database, company: Company, clock: Clock, telegram: RecordingChannel
) -> None:
    alice = await link(database, company.alice, "telegram", "1001")
    message_id = await queue(database, company.alice, "Your leave was approved")
    done = await worker(database, clock, telegram).run_once()
    assert done.delivered == [message_id]
    [sent] = telegram.sent
    assert (sent.address, sent.reply.text) == (Address("telegram", "dm:1001"), "Your leave was approved")
    row = await stored(database, message_id)
    assert (row.status, row.delivered_at, row.platform, row.chat_id, row.identity_id, row.reference) == (
        OutboxStatus.DELIVERED, NOW, "telegram", "dm:1001", alice, sent.reference,
    )
    assert (await identity(database, alice)).private_address == "dm:1001"  # found once, not asked again
    assert (await worker(database, clock, telegram).run_once()).claimed == 0


async def test_a_transient_failure_is_retried_after_a_growing_back_off(
    database: Database, company: Company, clock: Clock, telegram: RecordingChannel
) -> None:
    await link(database, company.alice, "telegram", "1001")
    message_id = await queue(database, company.alice, "hi")
    token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
    telegram.fail_next("dm:1001", TransientDeliveryError(f"ConnectError: https://api.telegram.org/bot{token}/sendMessage"))
    telegram.fail_next("dm:1001", TransientDeliveryError("timed out"))
    failures: list[tuple[str, str]] = []
    delivery = worker(database, clock, telegram, on_failure=lambda platform, kind: failures.append((platform, kind)))

    assert (await delivery.run_once()).retried == [message_id]
    row = await stored(database, message_id)
    assert (row.status, row.attempts, row.due_at) == (OutboxStatus.PENDING, 1, NOW + timedelta(minutes=1))
    assert token not in row.last_error and "bot[redacted]/sendMessage" in row.last_error
    clock.advance(seconds=59)
    assert (await delivery.run_once()).claimed == 0  # not before the back-off ends
    clock.advance(seconds=1)
    assert (await delivery.run_once()).retried == [message_id]
    assert (await stored(database, message_id)).due_at == clock.now + timedelta(minutes=2)  # twice as long
    clock.advance(minutes=2)
    assert (await delivery.run_once()).delivered == [message_id]
    assert [reply.text for reply in telegram.to("dm:1001")] == ["hi"]
    assert failures == [("telegram", "transient"), ("telegram", "transient")]


async def test_a_platforms_retry_after_is_honoured(database: Database, company: Company, clock: Clock, telegram: RecordingChannel) -> None:
    await link(database, company.alice, "telegram", "1001")
    message_id = await queue(database, company.alice, "hi")
    telegram.fail_next("dm:1001", TransientDeliveryError("Too Many Requests", retry_after=5))
    delivery = worker(database, clock, telegram)
    await delivery.run_once()
    assert (await stored(database, message_id)).due_at == NOW + timedelta(seconds=5)
    clock.advance(seconds=4)
    assert (await delivery.run_once()).claimed == 0
    clock.advance(seconds=1)
    assert (await delivery.run_once()).delivered == [message_id]


async def test_a_permanent_failure_falls_back_to_the_persons_other_platform(
    database: Database, company: Company, clock: Clock, telegram: RecordingChannel, slack: RecordingChannel
) -> None:
    on_telegram = await link(database, company.alice, "telegram", "1001")
    on_slack = await link(database, company.alice, "slack", "U0ALICE")
    first = await queue(database, company.alice, "first")
    telegram.blocked.add("dm:1001")
    delivery = worker(database, clock, telegram, slack)

    assert (await delivery.run_once()).delivered == [first]  # in the same round, on Slack
    assert [reply.text for reply in slack.to("dm:U0ALICE")] == ["first"]
    row = await stored(database, first)
    assert (row.platform, row.identity_id, row.attempts) == ("slack", on_slack, 0)
    blocked = await identity(database, on_telegram)
    assert (blocked.unreachable_at, blocked.unreachable_reason) == (NOW, "the bot was blocked")

    second = await queue(database, company.alice, "second")
    tried = telegram.attempts
    assert (await delivery.run_once()).delivered == [second]
    assert telegram.attempts == tried  # Telegram is not tried again until she writes there
    assert [reply.text for reply in slack.to("dm:U0ALICE")] == ["first", "second"]


async def test_with_no_other_platform_a_message_is_dead_lettered_with_its_reason(
    database: Database, company: Company, clock: Clock, telegram: RecordingChannel, slack: RecordingChannel
) -> None:
    await link(database, company.alice, "telegram", "1001")
    message_id = await queue(database, company.alice, "hi")
    telegram.blocked.add("dm:1001")
    failures: list[tuple[str, str]] = []
    delivery = worker(database, clock, telegram, slack, on_failure=lambda platform, kind: failures.append((platform, kind)))

    assert (await delivery.run_once()).dead == [message_id]
    row = await stored(database, message_id)
    assert (row.status, row.last_error) == (OutboxStatus.DEAD, "unreachable on every platform (telegram: the bot was blocked)")
    assert failures == [("telegram", "permanent"), ("telegram", "dead")]
    clock.advance(days=1)
    assert (await delivery.run_once()).claimed == 0  # never dropped, never retried by itself

    await link(database, company.alice, "slack", "U0ALICE")  # she links Slack; someone retries it by hand
    async with database.transaction() as session:
        await outbox.requeue(session, message_id, now=clock.now)
    assert (await delivery.run_once()).delivered == [message_id]
    assert [reply.text for reply in slack.to("dm:U0ALICE")] == ["hi"]


async def test_no_private_chat_counts_as_unreachable(database: Database, company: Company, clock: Clock, telegram: RecordingChannel) -> None:
    on_telegram = await link(database, company.alice, "telegram", "1001")
    message_id = await queue(database, company.alice, "hi")
    telegram.no_private_chat.add("1001")
    assert (await worker(database, clock, telegram).run_once()).dead == [message_id]
    assert (await identity(database, on_telegram)).unreachable_reason == "no private chat with the assistant yet"
    assert telegram.sent == []


async def test_a_person_linked_nowhere_gets_a_dead_letter_not_a_silent_drop(
    database: Database, company: Company, clock: Clock, telegram: RecordingChannel
) -> None:
    message_id = await queue(database, company.outsider, "hi")
    assert (await worker(database, clock, telegram).run_once()).dead == [message_id]
    assert (await stored(database, message_id)).last_error == "not linked on any chat platform"


async def test_a_message_for_a_platform_no_channel_here_runs_waits_without_using_attempts(
    database: Database, company: Company, clock: Clock, telegram: RecordingChannel
) -> None:
    await link(database, company.alice, "slack", "U0ALICE")
    message_id = await queue(database, company.alice, "hi")
    assert (await worker(database, clock, telegram).run_once()).waiting == [message_id]
    row = await stored(database, message_id)
    assert (row.status, row.attempts, row.due_at) == (OutboxStatus.PENDING, 0, NOW + WAIT_FOR_CHANNEL)
    clock.advance(seconds=WAIT_FOR_CHANNEL.total_seconds())
    slack = RecordingChannel("slack")
    assert (await worker(database, clock, slack).run_once()).delivered == [message_id]  # a replica running Slack


async def test_after_the_last_attempt_a_message_is_dead_lettered(
    database: Database, company: Company, clock: Clock, telegram: RecordingChannel
) -> None:
    await link(database, company.alice, "telegram", "1001")
    message_id = await queue(database, company.alice, "hi")
    telegram.fail_next("dm:1001", *(TransientDeliveryError("Bad Gateway") for _ in range(MAX_ATTEMPTS)))
    delivery = worker(database, clock, telegram)
    for _ in range(MAX_ATTEMPTS - 1):
        assert (await delivery.run_once()).retried == [message_id]
        clock.now = (await stored(database, message_id)).due_at
    assert (await delivery.run_once()).dead == [message_id]
    row = await stored(database, message_id)
    assert (row.status, row.attempts, row.last_error) == (OutboxStatus.DEAD, MAX_ATTEMPTS, "Bad Gateway")
    assert telegram.sent == []


async def test_two_workers_never_send_the_same_message(database: Database, company: Company, clock: Clock) -> None:
    people_ = [company.alice, company.bob, company.manager, company.hr, company.it_agent]
    for number, employee in enumerate(people_):
        await link(database, employee, "telegram", str(1000 + number))
    for n in range(30):
        await queue(database, people_[n % len(people_)], f"message {n}")
    channel = RecordingChannel("telegram", delay=0.01)
    workers = [worker(database, clock, channel, batch_size=4, name=name) for name in ("one", "two")]

    async def drain(delivery: DeliveryWorker) -> None:
        while (await delivery.run_once()).claimed:
            pass

    await asyncio.gather(*(drain(delivery) for delivery in workers))
    texts = [message.reply.text for message in channel.sent]
    assert sorted(texts) == sorted(f"message {n}" for n in range(30))  # each exactly once


async def test_a_persons_messages_arrive_in_the_order_they_were_queued(database: Database, company: Company, clock: Clock) -> None:
    for number, employee in enumerate((company.alice, company.bob)):
        await link(database, employee, "telegram", str(1000 + number))
    for n in range(10):
        await queue(database, company.alice if n % 3 else company.bob, f"message {n}")
    channel = RecordingChannel("telegram", delay=0.01)  # two people's sends interleave
    delivery = worker(database, clock, channel, batch_size=4)
    while (await delivery.run_once()).claimed:
        pass
    assert [reply.text for reply in channel.to("dm:1000")] == [f"message {n}" for n in range(10) if n % 3]
    assert [reply.text for reply in channel.to("dm:1001")] == [f"message {n}" for n in range(10) if not n % 3]


async def test_a_slow_send_holds_no_database_lock(database: Database, company: Company, clock: Clock) -> None:
    await link(database, company.alice, "telegram", "1001")
    await queue(database, company.alice, "hi")
    slow = RecordingChannel("telegram", delay=2.0)
    sending = asyncio.create_task(worker(database, clock, slow).run_once())
    while slow.attempts == 0:  # the send has started
        await asyncio.sleep(0.01)
    pool = database.engine.pool
    assert isinstance(pool, QueuePool) and pool.checkedout() == 0  # no connection held, let alone a transaction
    started = time.monotonic()
    async with database.transaction() as session:  # what a turn does: write, and commit
        await outbox.enqueue(session, company.bob.id, {"text": "meanwhile"}, due_at=NOW)
    assert time.monotonic() - started < 0.5
    assert not sending.done()
    assert len((await sending).delivered) == 1


async def test_a_decision_edits_every_live_message_about_it_in_each_readers_language(
    database: Database, company: Company, clock: Clock, telegram: RecordingChannel
) -> None:
    await link(database, company.manager, "telegram", "2001")
    await link(database, company.bob, "telegram", "2002")  # reads Russian
    buttons = (Button("Approve", "la:7"), Button("Reject", "lr:7"))
    for reader in (company.manager, company.bob):
        await queue(database, reader, "Request #7: approve?", buttons=buttons, live_key="leave:7")
    await queue(database, company.manager, "Request #8: approve?", buttons=buttons, live_key="leave:8")
    delivery = worker(database, clock, telegram)
    await delivery.run_once()
    references = {message.address.chat_id: message.reference for message in telegram.sent if "#7" in message.reply.text}

    await decide(database, company.hr, "leave:7")
    assert len((await delivery.run_once()).delivered) == 2
    edits = {edit.reference: edit.reply for edit in telegram.edits}
    assert set(edits) == set(references.values())
    assert edits[references["dm:2001"]] == Reply("Closed in en")
    assert edits[references["dm:2002"]] == Reply("Closed in ru")
    assert [m.reply.buttons for m in telegram.current.values() if "#8" in m.reply.text] == [buttons]  # untouched

    await decide(database, company.hr, "leave:7")  # a second decision finds nothing open
    assert (await delivery.run_once()).claimed == 0


async def test_a_message_decided_before_it_was_sent_goes_out_as_the_outcome(
    database: Database, company: Company, clock: Clock, telegram: RecordingChannel
) -> None:
    await link(database, company.manager, "telegram", "2001")
    await queue(database, company.manager, "Request #7: approve?", buttons=(Button("Approve", "la:7"),), live_key="leave:7")
    await decide(database, company.hr, "leave:7")
    await worker(database, clock, telegram).run_once()
    assert [message.reply for message in telegram.sent] == [Reply("Closed in en")]
    async with database.sessions() as session:
        assert await live.open_messages(session, "leave:7") == []


async def test_a_message_decided_while_on_its_way_is_edited_right_after(
    database: Database, company: Company, clock: Clock
) -> None:
    await link(database, company.manager, "telegram", "2001")
    await queue(database, company.manager, "Request #7: approve?", buttons=(Button("Approve", "la:7"),), live_key="leave:7")
    slow = RecordingChannel("telegram", delay=0.3)
    delivery = worker(database, clock, slow)
    sending = asyncio.create_task(delivery.run_once())
    while slow.attempts == 0:
        await asyncio.sleep(0.01)
    await decide(database, company.hr, "leave:7")  # the buttons are on their way meanwhile
    await sending
    assert (await delivery.run_once()).delivered  # the edit
    [sent] = slow.sent
    assert slow.current[sent.reference].reply == Reply("Closed in en")
    async with database.sessions() as session:
        assert await live.open_messages(session, "leave:7") == []


async def test_an_edit_that_is_refused_for_good_is_dead_lettered_and_blames_no_identity(
    database: Database, company: Company, clock: Clock, telegram: RecordingChannel
) -> None:
    manager = await link(database, company.manager, "telegram", "2001")
    await queue(database, company.manager, "Request #7: approve?", buttons=(Button("Approve", "la:7"),), live_key="leave:7")
    delivery = worker(database, clock, telegram)
    await delivery.run_once()
    telegram.current.clear()  # the message is gone (deleted, or too old to edit)
    await decide(database, company.hr, "leave:7")
    [edit] = (await delivery.run_once()).dead
    assert (await stored(database, edit)).last_error == "telegram: no message telegram:1"
    assert (await identity(database, manager)).unreachable_at is None


async def test_stopping_releases_the_claims_in_hand(database: Database, company: Company, clock: Clock) -> None:
    await link(database, company.alice, "telegram", "1001")
    message_id = await queue(database, company.alice, "hi")
    stuck = RecordingChannel("telegram", delay=30)
    delivery = worker(database, clock, stuck)
    running = asyncio.create_task(delivery.run(asyncio.Event()))
    while stuck.attempts == 0:
        await asyncio.sleep(0.01)
    assert (await stored(database, message_id)).claimed_by == delivery.name
    running.cancel()  # the service is shutting down mid-send
    with contextlib.suppress(asyncio.CancelledError):
        await running
    row = await stored(database, message_id)
    assert (row.status, row.claimed_by, row.locked_until) == (OutboxStatus.PENDING, None, None)  # another worker may take it now


async def test_a_running_worker_delivers_when_woken_and_stops_when_asked(
    database: Database, company: Company, clock: Clock, telegram: RecordingChannel
) -> None:
    await link(database, company.alice, "telegram", "1001")
    stop = asyncio.Event()
    delivery = worker(database, clock, telegram, poll_interval=60)
    running = asyncio.create_task(delivery.run(stop))
    await asyncio.sleep(0.05)
    await queue(database, company.alice, "hi")
    delivery.wake()
    async with asyncio.timeout(5):
        while not telegram.sent:
            await asyncio.sleep(0.01)
        stop.set()
        await running
    assert [reply.text for reply in telegram.to("dm:1001")] == ["hi"]


async def test_the_permanent_error_type_is_what_marks_an_identity(database: Database, company: Company, clock: Clock) -> None:
    # Any other exception from a channel (a bug, an unwrapped network error) is treated as transient.
    on_telegram = await link(database, company.alice, "telegram", "1001")
    message_id = await queue(database, company.alice, "hi")
    flaky = RecordingChannel("telegram")
    flaky.fail_next("dm:1001", PermanentDeliveryError("chat not found"))
    assert (await worker(database, clock, flaky).run_once()).dead == [message_id]
    assert (await identity(database, on_telegram)).unreachable_reason == "chat not found"

    other = await queue(database, company.bob, "hi")
    await link(database, company.bob, "telegram", "1002")

    class Broken(RecordingChannel):
        async def send(self, address: Address, reply: Reply) -> str:
            raise RuntimeError("unexpected")

    assert (await worker(database, clock, Broken("telegram")).run_once()).retried == [other]
    assert (await stored(database, other)).last_error == "RuntimeError: unexpected"


async def test_a_message_no_running_channel_takes_for_a_day_is_dead_lettered_not_kept_waiting(
    database: Database, company: Company, clock: Clock, telegram: RecordingChannel
) -> None:
    await link(database, company.alice, "console", "alice@example.com")  # e.g. signed in once at the terminal
    message_id = await queue(database, company.alice, "hi")
    async with database.transaction() as session:
        (await session.get(OutboxMessage, message_id)).created_at = NOW  # type: ignore[union-attr]
    delivery = worker(database, clock, telegram)
    assert (await delivery.run_once()).waiting == [message_id]
    clock.now = NOW + MAX_WAIT_FOR_CHANNEL + WAIT_FOR_CHANNEL
    assert (await delivery.run_once()).dead == [message_id]
    row = await stored(database, message_id)
    assert (row.status, row.attempts) == (OutboxStatus.DEAD, 0)
    assert row.last_error == "no channel running here for console, for over 1 day(s)"


async def test_retrying_a_dead_letter_tries_the_chats_that_were_unreachable_again(
    database: Database, company: Company, clock: Clock, telegram: RecordingChannel
) -> None:
    on_telegram = await link(database, company.alice, "telegram", "1001")
    message_id = await queue(database, company.alice, "hi")
    telegram.blocked.add("dm:1001")
    delivery = worker(database, clock, telegram)
    assert (await delivery.run_once()).dead == [message_id]
    telegram.blocked.clear()  # she unblocks the bot; the operator retries the message
    async with database.transaction() as session:
        await outbox.requeue(session, message_id, now=clock.now)
    assert (await identity(database, on_telegram)).unreachable_at is None
    assert (await delivery.run_once()).delivered == [message_id]
    assert [reply.text for reply in telegram.to("dm:1001")] == ["hi"]

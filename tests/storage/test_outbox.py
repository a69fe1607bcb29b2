"""Outbox rules on SQLite and PostgreSQL: queuing, idempotency, due times, leases, back-off, dead letters, concurrent claimers."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from storage import audit, live, migrate, outbox
from storage.database import Database
from storage.errors import InvalidRequest, NotFound
from storage.outbox import LEASE, MAX_ATTEMPTS, OutboxKind, OutboxMessage, OutboxStatus, Target
from storage.people import ChatIdentity, Platform, link_identity
from tests.factories import Company

NOW = datetime(2026, 11, 23, 9, 0)


async def enqueue(database: Database, recipient_id: int, text: str, **options: object) -> OutboxMessage:
    async with database.transaction() as session:
        return await outbox.enqueue(session, recipient_id, {"text": text}, **options)  # type: ignore[arg-type]


async def claim(database: Database, now: datetime, limit: int = 50) -> list[int]:
    async with database.transaction() as session:
        return [message.id for message in await outbox.claim_due(session, now=now, limit=limit)]


async def fetch(database: Database, message_id: int) -> OutboxMessage:
    async with database.sessions() as session:
        message = await session.get(OutboxMessage, message_id)
        assert message is not None
        return message


async def count(database: Database) -> int:
    async with database.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(OutboxMessage)) or 0)


async def test_a_queued_message_waits_for_its_recipient(database: Database, company: Company) -> None:
    message = await enqueue(database, company.alice.id, "Your leave was approved", due_at=NOW)
    found = await fetch(database, message.id)
    assert found.payload == {"text": "Your leave was approved"}
    assert (found.due_at, found.attempts, found.delivered_at, found.locked_until) == (NOW, 0, None, None)
    async with database.sessions() as session:
        assert [m.id for m in await outbox.pending_for(session, company.alice.id)] == [message.id]
        assert await outbox.pending_for(session, company.bob.id) == []


async def test_the_same_idempotency_key_queues_only_once(database: Database, company: Company) -> None:
    first = await enqueue(database, company.alice.id, "reminder", idempotency_key="leave:7:approved")
    again = await enqueue(database, company.alice.id, "reminder again", idempotency_key="leave:7:approved")
    other = await enqueue(database, company.alice.id, "other", idempotency_key="leave:8:approved")
    assert again.id == first.id and other.id != first.id
    assert (await fetch(database, first.id)).payload == {"text": "reminder"}
    assert await count(database) == 2


async def test_simultaneous_enqueues_with_one_key_store_one_message(database: Database, company: Company) -> None:
    results = await asyncio.gather(
        *(enqueue(database, company.alice.id, f"copy {n}", idempotency_key="ticket:1:resolved") for n in range(4)),
        return_exceptions=True,
    )
    assert all(isinstance(r, OutboxMessage) for r in results), results
    assert len({r.id for r in results if isinstance(r, OutboxMessage)}) == 1
    assert await count(database) == 1


async def test_queue_once_queues_a_key_once_even_from_simultaneous_transactions(database: Database, company: Company) -> None:
    async def queue(text: str, key: str) -> bool:
        async with database.transaction() as session:
            return await outbox.queue_once(session, company.alice.id, {"text": text}, due_at=NOW, idempotency_key=key, live_key="leave:7")

    assert await queue("first", "digest:1:20261123T0400")
    assert not await queue("again", "digest:1:20261123T0400")
    assert sorted(await asyncio.gather(*(queue(f"copy {n}", "digest:1:20261124T0400") for n in range(4)))) == [False, False, False, True]
    async with database.sessions() as session:
        rows = list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    assert [(row.payload["text"], row.status, row.kind, row.due_at, row.live_key, row.attempts) for row in rows] == [
        ("first", OutboxStatus.PENDING, OutboxKind.SEND, NOW, "leave:7", 0),
        (rows[1].payload["text"], OutboxStatus.PENDING, OutboxKind.SEND, NOW, "leave:7", 0),
    ]
    assert rows[1].payload["text"].startswith("copy ")


async def test_only_due_messages_are_claimed(database: Database, company: Company) -> None:
    now_due = await enqueue(database, company.alice.id, "now", due_at=NOW)
    later = await enqueue(database, company.alice.id, "later", due_at=NOW + timedelta(hours=1))
    assert await claim(database, NOW) == [now_due.id]
    assert await claim(database, NOW + timedelta(minutes=1)) == []
    # An hour on, the later one is due and the first one's lease has run out undelivered.
    assert await claim(database, NOW + timedelta(hours=1)) == [now_due.id, later.id]


async def test_claims_are_oldest_first_and_limited(database: Database, company: Company) -> None:
    ids = [(await enqueue(database, company.alice.id, str(n), due_at=NOW - timedelta(minutes=n))).id for n in range(5)]
    assert await claim(database, NOW, limit=2) == [ids[4], ids[3]]
    assert await claim(database, NOW, limit=10) == [ids[2], ids[1], ids[0]]


async def test_a_claimed_message_is_leased_until_the_lease_ends(database: Database, company: Company) -> None:
    message = await enqueue(database, company.alice.id, "hi", due_at=NOW)
    assert await claim(database, NOW) == [message.id]
    assert (await fetch(database, message.id)).locked_until == NOW + LEASE
    assert await claim(database, NOW + LEASE - timedelta(seconds=1)) == []  # the first worker is still sending
    assert await claim(database, NOW + LEASE) == [message.id]  # it died: another worker takes over


async def test_a_delivered_message_is_never_claimed_again(database: Database, company: Company) -> None:
    message = await enqueue(database, company.alice.id, "hi", due_at=NOW)
    await claim(database, NOW)
    async with database.transaction() as session:
        await outbox.mark_delivered(session, message.id, now=NOW + timedelta(seconds=3))
    found = await fetch(database, message.id)
    assert (found.delivered_at, found.locked_until) == (NOW + timedelta(seconds=3), None)
    assert await claim(database, NOW + timedelta(days=1)) == []
    async with database.sessions() as session:
        assert await outbox.pending_for(session, company.alice.id) == []


async def test_a_failed_delivery_is_retried_with_growing_back_off(database: Database, company: Company) -> None:
    message = await enqueue(database, company.alice.id, "hi", due_at=NOW)
    at = NOW
    waits = []
    for _ in range(3):
        assert await claim(database, at) == [message.id]
        async with database.transaction() as session:
            await outbox.mark_failed(session, message.id, "timeout " * 300, now=at)
        found = await fetch(database, message.id)
        assert found.locked_until is None and found.last_error.startswith("timeout") and len(found.last_error) == 1000
        waits.append(found.due_at - at)
        assert await claim(database, found.due_at - timedelta(seconds=1)) == []  # not before the back-off ends
        at = found.due_at
    assert waits == [timedelta(seconds=60), timedelta(seconds=120), timedelta(seconds=240)]
    assert (await fetch(database, message.id)).attempts == 3


async def test_tokens_in_a_delivery_error_are_not_stored(database: Database, company: Company) -> None:
    message = await enqueue(database, company.alice.id, "hi", due_at=NOW)
    telegram = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
    slack = "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp"
    error = f"ConnectError: POST https://api.telegram.org/bot{telegram}/sendMessage; {slack}; Authorization: Bearer s3cr3t-t0ken"
    async with database.transaction() as session:
        await outbox.mark_failed(session, message.id, error, now=NOW)
    stored = (await fetch(database, message.id)).last_error
    assert telegram not in stored and slack not in stored and "s3cr3t" not in stored
    assert stored.startswith("ConnectError: POST https://api.telegram.org/bot[redacted]/sendMessage")
    assert outbox.redact_secrets("retry at 10:30 for 12345 items") == "retry at 10:30 for 12345 items"


async def test_a_message_that_keeps_failing_is_given_up(database: Database, company: Company) -> None:
    message = await enqueue(database, company.alice.id, "hi", due_at=NOW)
    async with database.transaction() as session:
        statuses = [await outbox.mark_failed(session, message.id, "timed out", now=NOW) for _ in range(MAX_ATTEMPTS)]
    assert statuses == [OutboxStatus.PENDING] * (MAX_ATTEMPTS - 1) + [OutboxStatus.DEAD]
    found = await fetch(database, message.id)
    assert (found.status, found.last_error, found.delivered_at) == (OutboxStatus.DEAD, "timed out", None)
    assert await claim(database, NOW + timedelta(days=30)) == []
    async with database.transaction() as session:
        await outbox.mark_failed(session, 987654, "gone", now=NOW)  # an unknown id is ignored


async def test_concurrent_claimers_never_share_a_message(database: Database, company: Company) -> None:
    ids = {(await enqueue(database, company.alice.id, str(n), due_at=NOW)).id for n in range(10)}
    batches = await asyncio.gather(*(claim(database, NOW, limit=3) for _ in range(5)))
    claimed = [message_id for batch in batches for message_id in batch]
    assert len(claimed) == len(set(claimed)) == 10
    assert set(claimed) == ids


async def test_a_claimer_skips_what_another_holds_in_an_open_transaction(database: Database, company: Company) -> None:
    ids = [(await enqueue(database, company.alice.id, str(n), due_at=NOW)).id for n in range(6)]
    async with database.transaction() as session:
        held = [message.id for message in await outbox.claim_due(session, now=NOW, limit=2)]
        # PostgreSQL skips the locked rows at once; SQLite makes the second claimer wait for this commit.
        other = asyncio.create_task(claim(database, NOW))
        await asyncio.sleep(0.05)
    assert held == ids[:2]
    assert await other == ids[2:]


async def test_a_delivery_records_where_the_message_went(database: Database, company: Company) -> None:
    message = await enqueue(database, company.alice.id, "hi", due_at=NOW)
    await claim(database, NOW)
    async with database.transaction() as session:
        identity = await link_identity(session, company.alice, Platform.TELEGRAM, "4242")
        target = Target("telegram", "4242", identity.id, "telegram:4242:17")
        delivered = await outbox.mark_delivered(session, message.id, now=NOW, target=target)
        assert delivered is not None and delivered.status is OutboxStatus.DELIVERED
        assert await outbox.mark_delivered(session, message.id, now=NOW) is None  # recorded once
    found = await fetch(database, message.id)
    assert (found.platform, found.chat_id, found.identity_id, found.reference) == ("telegram", "4242", identity.id, "telegram:4242:17")


async def test_a_platform_asking_to_wait_is_obeyed_instead_of_the_back_off(database: Database, company: Company) -> None:
    message = await enqueue(database, company.alice.id, "hi", due_at=NOW)
    async with database.transaction() as session:
        await outbox.mark_failed(session, message.id, "429 too many requests", now=NOW, retry_after=7)
    assert (await fetch(database, message.id)).due_at == NOW + timedelta(seconds=7)
    assert await claim(database, NOW + timedelta(seconds=6)) == []
    assert await claim(database, NOW + timedelta(seconds=7)) == [message.id]


async def test_a_dead_message_is_kept_with_its_reason_and_can_be_retried(database: Database, company: Company) -> None:
    message = await enqueue(database, company.alice.id, "hi", due_at=NOW)
    async with database.transaction() as session:
        await outbox.mark_failed(session, message.id, "timeout", now=NOW)
        await outbox.mark_dead(session, message.id, "not linked on any chat platform")
    async with database.sessions() as session:
        assert await outbox.depth(session) == {OutboxStatus.PENDING: 0, OutboxStatus.DEAD: 1}
        [listed] = await outbox.listing(session)
    assert (listed.id, listed.status, listed.recipient, listed.attempts, listed.reason) == (
        message.id, OutboxStatus.DEAD, company.alice.email, 1, "not linked on any chat platform",
    )
    assert await claim(database, NOW + timedelta(days=1)) == []

    later = NOW + timedelta(days=1)
    async with database.transaction() as session:
        await outbox.requeue(session, message.id, now=later)
    found = await fetch(database, message.id)
    assert (found.status, found.attempts, found.due_at) == (OutboxStatus.PENDING, 0, later)
    assert await claim(database, later) == [message.id]
    async with database.sessions() as session:
        [entry] = await audit.entries_for(session, "outbox", message.id)
    assert entry.action == "outbox.retry" and entry.details == {"last_error": "not linked on any chat platform"}


async def test_only_a_dead_message_can_be_retried(database: Database, company: Company) -> None:
    message = await enqueue(database, company.alice.id, "hi", due_at=NOW)
    async with database.transaction() as session:
        with pytest.raises(InvalidRequest) as not_dead:
            await outbox.requeue(session, message.id, now=NOW)
        with pytest.raises(NotFound) as unknown:
            await outbox.requeue(session, 987654, now=NOW)
    assert (not_dead.value.code, unknown.value.code) == ("outbox_not_dead", "outbox_not_found")
    assert (await fetch(database, message.id)).status is OutboxStatus.PENDING


async def test_a_stopping_worker_gives_back_only_its_own_claims(database: Database, company: Company) -> None:
    ids = [(await enqueue(database, company.alice.id, str(n), due_at=NOW)).id for n in range(4)]
    async with database.transaction() as session:
        mine = [m.id for m in await outbox.claim_due(session, now=NOW, limit=3, worker="a")]
        theirs = [m.id for m in await outbox.claim_due(session, now=NOW, limit=3, worker="b")]
    assert (mine, theirs) == (ids[:3], ids[3:])
    async with database.transaction() as session:
        assert await outbox.release(session, "a", ids=[ids[0]]) == 1
        assert await outbox.release(session, "a") == 2
    assert await claim(database, NOW) == ids[:3]  # free at once, long before the lease would end


async def test_has_due_sees_only_what_a_claim_would_take(database: Database, company: Company) -> None:
    async with database.reading() as session:
        assert not await outbox.has_due(session, now=NOW)
    await enqueue(database, company.alice.id, "later", due_at=NOW + timedelta(hours=1))
    async with database.reading() as session:
        assert not await outbox.has_due(session, now=NOW)
        assert await outbox.has_due(session, now=NOW + timedelta(hours=1))


async def test_pending_messages_about_a_record_are_found_by_their_live_key(database: Database, company: Company) -> None:
    async with database.transaction() as session:
        buttons = await outbox.enqueue(session, company.manager.id, {"text": "approve?"}, live_key="leave:7", due_at=NOW)
        await outbox.enqueue(session, company.hr.id, {"text": "other"}, live_key="leave:8", due_at=NOW)
    async with database.transaction() as session:
        found = await outbox.queued_with_live_key(session, "leave:7")
    assert [(message.id, language) for message, language in found] == [(buttons.id, company.manager.language)]


async def test_an_edit_job_points_at_the_live_message_it_replaces(database: Database, company: Company) -> None:
    async with database.transaction() as session:
        sent = await live.record(
            session, key="leave:7", employee_id=company.manager.id, platform="slack", chat_id="D1", reference="slack:D1:1.5", now=NOW
        )
        await outbox.enqueue_edit(session, sent, {"text": "approved"}, now=NOW)
    [edit_id] = await claim(database, NOW)
    edit = await fetch(database, edit_id)
    assert (edit.kind, edit.recipient_id, edit.live_message_id) == (OutboxKind.EDIT, company.manager.id, sent.id)
    assert (edit.platform, edit.chat_id, edit.reference, edit.payload) == ("slack", "D1", "slack:D1:1.5", {"text": "approved"})
    async with database.sessions() as session:
        assert await outbox.pending_for(session, company.manager.id) == []  # an edit is no new message for them


async def test_an_unreachable_identity_is_marked_with_a_redacted_reason(database: Database, company: Company) -> None:
    async with database.transaction() as session:
        identity = await link_identity(session, company.alice, Platform.TELEGRAM, "4242")
        await outbox.mark_unreachable(session, identity.id, "Forbidden: bot 123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw blocked", now=NOW)
        await outbox.learn_private_address(session, identity.id, "4242")
    async with database.sessions() as session:
        stored = await session.get(ChatIdentity, identity.id)
        assert stored is not None
        assert (stored.unreachable_at, stored.unreachable_reason, stored.private_address) == (NOW, "Forbidden: bot [redacted] blocked", "4242")


async def test_upgrading_keeps_what_was_delivered_and_what_was_given_up(database_url: str) -> None:
    database = Database(database_url)
    try:
        await migrate.upgrade(database, "0003")
        async with database.engine.begin() as connection:
            await connection.execute(text(
                "INSERT INTO employees (id, email, name, department, job_title, language, timezone, calendar, active,"
                " created_at, updated_at) VALUES (1, 'a@example.com', 'A', '', '', 'en', 'UTC', '', true, '2026-11-23 06:00:00',"
                " '2026-11-23 06:00:00')"
            ))
            for message_id, delivered_at, attempts in [(1, "'2026-11-23 06:01:00'", 1), (2, "NULL", MAX_ATTEMPTS), (3, "NULL", 2)]:
                await connection.execute(text(
                    "INSERT INTO outbox (id, recipient_id, payload, created_at, due_at, delivered_at, attempts, last_error)"
                    f" VALUES ({message_id}, 1, '{{\"text\": \"hi\"}}', '2026-11-23 06:00:00', '2026-11-23 06:00:00',"
                    f" {delivered_at}, {attempts}, '')"
                ))
        await migrate.upgrade(database)
        async with database.sessions() as session:
            statuses = {row.id: row.status for row in await session.execute(select(OutboxMessage.id, OutboxMessage.status))}
        assert statuses == {1: OutboxStatus.DELIVERED, 2: OutboxStatus.DEAD, 3: OutboxStatus.PENDING}

        async with database.transaction() as session:
            await outbox.mark_dead(session, 3, "not linked on any chat platform")
        await migrate.downgrade(database, "0003")
        async with database.engine.connect() as connection:
            after = {row.id: row.attempts for row in await connection.execute(text("SELECT id, attempts FROM outbox"))}
        assert after == {1: 1, 2: MAX_ATTEMPTS, 3: MAX_ATTEMPTS}  # the older code leaves a given-up message alone
    finally:
        await database.dispose()

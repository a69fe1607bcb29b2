"""Outbox rules on SQLite and PostgreSQL: queuing, idempotency, due times, leases, back-off, concurrent claimers."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy import func, select

from storage import outbox
from storage.database import Database
from storage.outbox import LEASE, MAX_ATTEMPTS, OutboxMessage
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
        for _ in range(MAX_ATTEMPTS):
            await outbox.mark_failed(session, message.id, "blocked by the user", now=NOW)
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

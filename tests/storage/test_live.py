"""Live messages on SQLite and PostgreSQL: remembered once sent, closed once when their record is decided."""

from __future__ import annotations

from datetime import datetime, timedelta

from storage import live
from storage.database import Database
from tests.factories import Company

NOW = datetime(2026, 11, 23, 9, 0)


async def remember(database: Database, employee_id: int, key: str, reference: str) -> int:
    async with database.transaction() as session:
        sent = await live.record(
            session, key=key, employee_id=employee_id, platform="telegram", chat_id="100", reference=reference, now=NOW
        )
        return sent.id


async def test_a_sent_message_is_remembered_once(database: Database, company: Company) -> None:
    first = await remember(database, company.manager.id, "leave:7", "telegram:100:1")
    again = await remember(database, company.manager.id, "leave:7", "telegram:100:1")  # a retried record
    other = await remember(database, company.hr.id, "leave:7", "telegram:100:2")
    assert again == first != other
    async with database.sessions() as session:
        assert [m.id for m in await live.open_messages(session, "leave:7")] == [first, other]
        assert await live.open_messages(session, "leave:8") == []


async def test_closing_a_key_returns_each_open_message_once_with_its_readers_language(database: Database, company: Company) -> None:
    manager = await remember(database, company.manager.id, "leave:7", "telegram:100:1")
    bob = await remember(database, company.bob.id, "leave:7", "telegram:100:2")
    await remember(database, company.hr.id, "leave:8", "telegram:100:3")
    later = NOW + timedelta(minutes=5)
    async with database.transaction() as session:
        closed = await live.close(session, "leave:7", now=later)
    assert [(message.id, language) for message, language in closed] == [(manager, "en"), (bob, "ru")]
    assert all(message.closed_at == later for message, _ in closed)
    async with database.transaction() as session:
        assert await live.close(session, "leave:7", now=later) == []  # a second decision edits nothing again
        assert [m.reference for m in await live.open_messages(session, "leave:8")] == ["telegram:100:3"]


async def test_a_reference_handed_out_again_names_the_new_message_not_the_old_one(database: Database, company: Company) -> None:
    # A channel whose references restart (or repeat per chat) must not let deciding leave 1 edit the message for 2.
    old = await remember(database, company.manager.id, "leave:1", "console:3")
    async with database.transaction() as session:
        await live.close(session, "leave:1", now=NOW)
    new = await remember(database, company.manager.id, "leave:2", "console:3")
    async with database.sessions() as session:
        assert await live.open_messages(session, "leave:1") == []
        reopened = await live.open_messages(session, "leave:2")
    assert [message.id for message in reopened] == [new] and new == old  # the row now stands for the new message
    assert reopened[0].closed_at is None

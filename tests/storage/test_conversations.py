"""Conversation state and inbound de-duplication on SQLite and PostgreSQL, including simultaneous writers."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from storage import conversations
from storage.conversations import ConversationKey, Snapshot
from storage.database import Database
from storage.errors import StaleState

NOW = datetime(2026, 11, 23, 9, 0)
KEY = ConversationKey("slack", "D042", "U007")


async def load(database: Database, key: ConversationKey = KEY) -> Snapshot:
    async with database.sessions() as session:
        return await conversations.load(session, key)


async def save(database: Database, snapshot: Snapshot) -> Snapshot:
    async with database.transaction() as session:
        return await conversations.save(session, snapshot, now=NOW)


async def seen(database: Database, event_id: str, platform: str = "slack", key: ConversationKey = KEY) -> bool:
    async with database.transaction() as session:
        return await conversations.first_sighting(session, ConversationKey(platform, key.chat_id, key.user_id), event_id, now=NOW)


async def test_an_unknown_conversation_loads_empty(database: Database) -> None:
    snapshot = await load(database)
    assert (snapshot.key, snapshot.data, snapshot.version) == (KEY, {}, 0)


async def test_saved_state_loads_back(database: Database) -> None:
    data = {"intent": "request_leave", "slots": {"start": "2026-12-01", "days": 3}, "langs": ["en", "ru"], "ok": True}
    saved = await save(database, Snapshot(KEY, data))
    assert saved.version == 1
    loaded = await load(database)
    assert (loaded.data, loaded.version) == (data, 1)
    loaded.data["slots"] = {}
    assert (await save(database, loaded)).version == 2
    assert (await load(database)).data == {**data, "slots": {}}


async def test_conversations_are_kept_apart_by_platform_chat_and_user(database: Database) -> None:
    await save(database, Snapshot(KEY, {"who": "slack user"}))
    for other in (ConversationKey("telegram", "D042", "U007"), ConversationKey("slack", "C001", "U007"), ConversationKey("slack", "D042", "U008")):
        assert (await load(database, other)).version == 0
        await save(database, Snapshot(other, {"who": "someone else"}))
    assert (await load(database)).data == {"who": "slack user"}


async def test_saving_an_outdated_snapshot_is_stale(database: Database) -> None:
    first = await save(database, Snapshot(KEY, {"step": 1}))
    await save(database, Snapshot(KEY, {"step": 2}, first.version))
    with pytest.raises(StaleState) as error:
        await save(database, Snapshot(KEY, {"step": "lost update"}, first.version))
    assert error.value.code == "stale_state"
    loaded = await load(database)
    assert (loaded.data, loaded.version) == ({"step": 2}, 2)


async def test_creating_a_conversation_someone_else_created_is_stale(database: Database) -> None:
    await save(database, Snapshot(KEY, {"step": 1}))
    fresh_looking = Snapshot(KEY, {"step": "lost"})
    with pytest.raises(StaleState):
        await save(database, fresh_looking)
    assert (await load(database)).data == {"step": 1}


async def test_simultaneous_saves_of_one_snapshot_let_exactly_one_win(database: Database) -> None:
    base = await save(database, Snapshot(KEY, {"step": 0}))
    results = await asyncio.gather(
        *(save(database, Snapshot(KEY, {"step": n}, base.version)) for n in range(1, 5)), return_exceptions=True
    )
    winners = [r for r in results if isinstance(r, Snapshot)]
    assert len(winners) == 1 and all(isinstance(r, StaleState) for r in results if r not in winners), results
    loaded = await load(database)
    assert (loaded.data, loaded.version) == (winners[0].data, 2)


async def test_simultaneous_first_saves_let_exactly_one_win(database: Database) -> None:
    results = await asyncio.gather(*(save(database, Snapshot(KEY, {"writer": n})) for n in range(4)), return_exceptions=True)
    winners = [r for r in results if isinstance(r, Snapshot)]
    assert len(winners) == 1 and all(isinstance(r, StaleState) for r in results if r not in winners), results
    assert (await load(database)).data == winners[0].data


async def test_an_inbound_id_is_new_only_the_first_time(database: Database) -> None:
    assert await seen(database, "Ev01") is True
    assert await seen(database, "Ev01") is False
    assert await seen(database, "Ev02") is True
    assert await seen(database, "Ev01", platform="telegram") is True  # ids are per platform
    # ... and per sender and chat: an id that comes again from someone else is theirs, never a retry of another's
    assert await seen(database, "Ev01", key=ConversationKey("slack", KEY.chat_id, "U_SOMEONE_ELSE")) is True
    assert await seen(database, "Ev01", key=ConversationKey("slack", "C_OTHER_CHAT", KEY.user_id)) is True


async def test_a_retry_does_not_spoil_the_rest_of_the_transaction(database: Database) -> None:
    await seen(database, "Ev01")
    async with database.transaction() as session:
        assert await conversations.first_sighting(session, KEY, "Ev01") is False
        saved = await conversations.save(session, Snapshot(KEY, {"after": "retry"}))
    assert saved.version == 1 and (await load(database)).data == {"after": "retry"}


async def test_simultaneous_deliveries_of_one_id_are_new_exactly_once(database: Database) -> None:
    results = await asyncio.gather(*(seen(database, "Ev99") for _ in range(5)))
    assert sorted(results) == [False, False, False, False, True]


async def test_an_inbound_id_keeps_the_replies_of_its_turn_and_the_opening_read_finds_them(database: Database) -> None:
    from storage import people
    from tests.factories import make_company

    async with database.transaction() as session:
        alice = (await make_company(session)).alice
        await people.link_identity(session, alice, "slack", "U007")
    recorded = {"language": "ru", "intent": "greet", "outgoing": [{"text": "Привет", "to": "here"}]}
    async with database.transaction() as session:
        assert await conversations.first_sighting(session, KEY, "Ev07", now=NOW, replies=recorded) is True
        assert await conversations.first_sighting(session, KEY, "Ev07", now=NOW, replies={"other": 1}) is False
    async with database.transaction() as session:
        seen = await conversations.open_turn(session, KEY, event_id="Ev07")
        fresh = await conversations.open_turn(session, KEY, event_id="Ev08")
        without = await conversations.open_turn(session, KEY)
        elsewhere = await conversations.open_turn(session, ConversationKey("slack", "C_GROUP", KEY.user_id), event_id="Ev07")
    assert elsewhere is not None and elsewhere.seen is None  # the same id in another chat is not this turn's retry
    assert seen is not None and seen.seen is not None and seen.seen.replies == recorded
    assert fresh is not None and fresh.seen is None
    assert without is not None and without.seen is None and without.employee.id == alice.id


async def test_old_inbound_ids_and_their_replies_are_forgotten(database: Database) -> None:
    async with database.transaction() as session:
        await conversations.first_sighting(session, KEY, "old", now=datetime(2026, 11, 1), replies={"outgoing": []})
        await conversations.first_sighting(session, KEY, "new", now=NOW, replies={"outgoing": []})
        assert await conversations.forget_events(session, seen_before=datetime(2026, 11, 20)) == 1
    assert await seen(database, "new") is False  # still known: a retry of it is still recognised
    assert await seen(database, "old") is True

"""The SQLite engine: driver calls on the event loop's thread, and waits for another process's lock that don't block it."""

from __future__ import annotations

import asyncio
import re
import shutil
import sqlite3
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import OperationalError

from storage import sqlite_engine
from storage.database import Database
from storage.leave import LeaveType


@pytest.fixture
async def sqlite_database(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[Database]:
    path = tmp_path / "engine.sqlite3"
    shutil.copy(sqlite_template, path)
    database = Database(f"sqlite:///{path}")
    yield database
    await database.dispose()


@pytest.fixture
def other_process(sqlite_database: Database) -> Iterator[sqlite3.Connection]:
    """A separate connection, as another process would have: SQLite locks the file between connections alike."""
    connection = sqlite3.connect(str(sqlite_database.url.database), isolation_level=None)
    yield connection
    connection.close()


async def ticking(ticks: list[int], stop: asyncio.Event) -> None:
    while not stop.is_set():
        ticks.append(1)
        await asyncio.sleep(0.005)


async def add_leave_type(database: Database, code: str) -> None:
    async with database.transaction() as session:
        session.add(LeaveType(code=code, name=code.title(), yearly_allowance=None, needs_approval=False))


async def leave_type_codes(database: Database) -> set[str]:
    async with database.reading() as session:
        return set(await session.scalars(select(LeaveType.code)))


async def test_driver_calls_stay_on_the_event_loop_thread(sqlite_database: Database) -> None:
    threads = threading.active_count()
    async with sqlite_database.transaction() as session:
        connection = await session.connection()
        driver = (await connection.get_raw_connection()).driver_connection
        pragmas = [(await session.execute(text(f"PRAGMA {name}"))).scalar() for name in ("journal_mode", "foreign_keys", "busy_timeout")]
    assert isinstance(driver, sqlite_engine.InlineConnection)
    assert threading.active_count() == threads  # aiosqlite would have started a thread for the connection
    assert pragmas == ["wal", 1, 0]  # SQLite's busy handler is off: waits happen in asyncio


async def test_core_connections_work_as_well_as_sessions(sqlite_database: Database) -> None:
    async with sqlite_database.engine.connect() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM leave_types"))).scalar() == len(await leave_type_codes(sqlite_database))
        streamed = await connection.stream(text("SELECT code FROM leave_types ORDER BY code"))
        assert [row.code async for row in streamed] == sorted(await leave_type_codes(sqlite_database))


async def test_waiting_for_another_process_write_lock_leaves_the_event_loop_free(
    sqlite_database: Database, other_process: sqlite3.Connection
) -> None:
    other_process.execute("BEGIN IMMEDIATE")
    ticks: list[int] = []
    stop = asyncio.Event()
    ticker = asyncio.create_task(ticking(ticks, stop))
    writer = asyncio.create_task(add_leave_type(sqlite_database, "waited"))
    await asyncio.sleep(0.3)
    assert not writer.done()  # still waiting for the lock ...
    assert len(ticks) >= 20  # ... while other tasks ran (a busy handler on this thread would have frozen them)
    other_process.execute("COMMIT")
    await asyncio.wait_for(writer, timeout=5)
    stop.set()
    await ticker
    assert "waited" in await leave_type_codes(sqlite_database)


async def test_a_writer_gives_up_when_the_lock_stays_taken_and_the_connection_stays_usable(
    sqlite_database: Database, other_process: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_engine, "LOCK_PATIENCE", 0.3)
    other_process.execute("BEGIN IMMEDIATE")
    with pytest.raises(OperationalError, match="locked"):
        await add_leave_type(sqlite_database, "never")
    other_process.execute("ROLLBACK")
    await add_leave_type(sqlite_database, "later")
    assert {"later"} <= await leave_type_codes(sqlite_database)
    assert "never" not in await leave_type_codes(sqlite_database)


async def test_readers_do_not_wait_for_a_writer(sqlite_database: Database, other_process: sqlite3.Connection) -> None:
    other_process.execute("BEGIN IMMEDIATE")
    other_process.execute("INSERT INTO leave_types (code, name, needs_approval) VALUES ('x', 'X', 0)")
    codes = await asyncio.wait_for(leave_type_codes(sqlite_database), timeout=1)
    assert "x" not in codes  # the snapshot from before the other transaction
    other_process.execute("ROLLBACK")


async def test_a_task_started_inside_a_write_turn_queues_behind_it(sqlite_database: Database) -> None:
    order: list[str] = []

    async def later() -> None:
        await add_leave_type(sqlite_database, "child")
        order.append("child committed")

    async with sqlite_database.transaction() as session:
        session.add(LeaveType(code="parent", name="Parent", yearly_allowance=None, needs_approval=False))
        child = asyncio.create_task(later())
        await asyncio.sleep(0.05)
        order.append("parent finishing")
    await asyncio.wait_for(child, timeout=5)
    assert order == ["parent finishing", "child committed"]
    assert {"parent", "child"} <= await leave_type_codes(sqlite_database)


async def test_an_urgent_transaction_goes_before_those_queued_and_a_cancelled_waiter_is_skipped(sqlite_database: Database) -> None:
    order: list[str] = []

    async def write(code: str, *, urgent: bool = False) -> None:
        async with sqlite_database.transaction(urgent=urgent) as session:
            session.add(LeaveType(code=code, name=code.title(), yearly_allowance=None, needs_approval=False))
            order.append(code)

    async with sqlite_database.transaction():  # the write turn is taken: everyone below queues
        turns = [asyncio.create_task(write(code)) for code in ("turn1", "gone", "turn2")]
        await asyncio.sleep(0)  # they are queued now (no time passes)
        turns[1].cancel()
        ack = asyncio.create_task(write("ack", urgent=True))
        await asyncio.sleep(0)
    async with asyncio.timeout(5):
        await asyncio.gather(ack, turns[0], turns[2])
    assert turns[1].cancelled()
    assert order == ["ack", "turn1", "turn2"]


async def test_sessions_give_their_connection_back_as_they_end_so_concurrent_ones_share_it(sqlite_database: Database) -> None:
    connections: list[object] = []
    event.listen(sqlite_database.engine.sync_engine, "connect", lambda *_: connections.append(1))
    await asyncio.gather(*(leave_type_codes(sqlite_database) for _ in range(30)))
    await asyncio.gather(*(add_leave_type(sqlite_database, f"t{n}") for n in range(30)))
    assert len(connections) == 1  # not one per session that started while another was still being closed


@pytest.mark.parametrize("version", ["2.1.0", "2.1.9", "2.1.10rc1", "2.1.30"])
def test_supported_sqlalchemy_releases_are_accepted(version: str) -> None:
    sqlite_engine.check_sqlalchemy(version)


@pytest.mark.parametrize("version", ["1.4.54", "2.0.36", "2.0.58", "2.2.0", "3.0.0b1"])
def test_other_sqlalchemy_releases_are_refused_with_the_fix_named(version: str) -> None:
    with pytest.raises(sqlite_engine.UnsupportedSQLAlchemy, match=rf"SQLAlchemy {re.escape(version)} is not supported.*constraints\.txt"):
        sqlite_engine.check_sqlalchemy(version)


def test_the_installed_sqlalchemy_is_supported() -> None:
    import sqlalchemy

    sqlite_engine.check_sqlalchemy(sqlalchemy.__version__)

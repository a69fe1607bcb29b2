"""SQLite under the asyncio engine without a thread hop per driver call.

aiosqlite hands every driver call (a chat turn makes dozens) to a worker thread and back; that hop costs more
than the statements themselves, which take microseconds on this data. So SQLAlchemy's aiosqlite dialect is given
connections that offer aiosqlite's interface but call `sqlite3` on the event loop's own thread. The one wait that
could stall the loop, another process holding the write lock, is SQLite's busy handler moved into asyncio: a
statement that meets a lock is retried after an asyncio sleep instead of sleeping inside SQLite.

This leans on how SQLAlchemy's aiosqlite adapter drives its connection (which methods it calls, which it awaits),
and that differs between releases (2.0 awaits `connection.cursor()`, 2.1 enters it with `__aenter__`; 2.0's
async_sessionmaker also lacks `execution_options`). So the engine is bounded to the SQLAlchemy line it is tested
with (`SUPPORTED`) and refuses any other at start-up with a clear error, rather than failing on the first statement.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar

import sqlalchemy
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection
from sqlalchemy.ext.asyncio import AsyncEngine

READ_ONLY = "backoffice_read_only"
"""Execution option of sessions that only read: they need no write lock."""
MIGRATING = "backoffice_migrating"
"""Execution option of a migration's connection: foreign keys are off for it (see storage/migrate.py)."""
LOCK_PATIENCE = 30.0
"""Seconds a statement waits, in asyncio sleeps, for a lock held by another connection before it fails."""
PRAGMAS = ("foreign_keys=ON", "busy_timeout=0", "journal_mode=WAL", "synchronous=NORMAL")
"""busy_timeout=0: SQLite's own busy handler would sleep on the event loop's thread; `_patiently` waits instead."""

SUPPORTED = ((2, 1, 0), (2, 2, 0))
"""SQLAlchemy versions (from, up to but not including) whose aiosqlite adapter this engine is tested with."""

_T = TypeVar("_T")


class UnsupportedSQLAlchemy(RuntimeError):
    """The installed SQLAlchemy drives its aiosqlite adapter in a way this engine was not tested with."""


def _release(version: str) -> tuple[int, ...]:
    numbers = []
    for part in version.split(".")[:3]:
        digits = "".join(char for char in part if char.isdigit()) or "0"
        numbers.append(int(digits))
    return tuple(numbers)


def check_sqlalchemy(version: str = sqlalchemy.__version__) -> None:
    """Refuse to run on a SQLAlchemy release outside `SUPPORTED`, naming the fix."""
    low, high = SUPPORTED
    if not low <= _release(version) < high:
        span = f"{'.'.join(map(str, low))} up to (not including) {'.'.join(map(str, high))}"
        raise UnsupportedSQLAlchemy(
            f"SQLAlchemy {version} is not supported by the embedded SQLite engine (tested with {span}); "
            "install the pinned versions: pip install -c constraints.txt -e ."
        )


async def _patiently(call: Callable[..., _T], *args: Any) -> _T:
    """`call(*args)`, retried after growing asyncio sleeps (1 to 50 ms) while SQLite reports a lock, up to
    `LOCK_PATIENCE` seconds. A statement refused with SQLITE_BUSY did nothing, so it is safe to run again."""
    deadline: float | None = None
    pause = 0.001
    while True:
        try:
            return call(*args)
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:  # extended codes keep the primary one in the low byte
                raise
            now = time.monotonic()
            deadline = deadline or now + LOCK_PATIENCE
            if now >= deadline:
                raise
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.05)


class InlineCursor:
    """aiosqlite's cursor interface over a `sqlite3.Cursor`."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> InlineCursor:
        await _patiently(self._cursor.execute, sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> InlineCursor:
        # Not retried: rows before a lock error would be written twice. Writes run after BEGIN IMMEDIATE, which
        # holds the write lock, so they don't meet one.
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class InlineConnection:
    """The part of aiosqlite's connection interface that SQLAlchemy's aiosqlite dialect uses, without a thread."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection: sqlite3.Connection | None = connection  # the adapter reads this name to tell it is open

    @property
    def _open(self) -> sqlite3.Connection:
        if self._connection is None:
            raise ValueError("Connection closed")  # what aiosqlite says; the dialect reads it as a disconnect
        return self._connection

    @property
    def isolation_level(self) -> str | None:
        return self._open.isolation_level

    def cursor(self) -> InlineCursor:
        return InlineCursor(self._open.cursor())

    async def commit(self) -> None:
        await _patiently(self._open.commit)

    async def rollback(self) -> None:
        await _patiently(self._open.rollback)

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._open.create_function(*args, **kwargs)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def connector(url: URL) -> Callable[[], Awaitable[InlineConnection]]:
    """The engine's `async_creator` for a `sqlite://` URL (on a supported SQLAlchemy only)."""
    check_sqlalchemy()
    database = url.database or ":memory:"
    uri = str(url.query.get("uri", "")).lower() in ("true", "1")

    async def connect() -> InlineConnection:
        # check_same_thread=False: the loop's thread makes every call, but a pool may close leftovers from another.
        connection = sqlite3.connect(database, uri=uri, isolation_level=None, check_same_thread=False)
        for pragma in PRAGMAS:
            await _patiently(connection.execute, f"PRAGMA {pragma}")
        return InlineConnection(connection)

    return connect


def configure(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        options = connection.get_execution_options()
        if options.get(MIGRATING):
            # Before BEGIN: SQLite ignores this pragma inside a transaction.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        # A reader sees a snapshot (WAL) and never waits for writers. A writer takes the write lock at BEGIN, so it
        # never fails half-way when a reader turns writer.
        connection.exec_driver_sql("BEGIN" if options.get(READ_ONLY) else "BEGIN IMMEDIATE")

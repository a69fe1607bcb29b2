"""Engine and session factory for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg", "postgres": "postgresql+asyncpg"}
READ_ONLY = "backoffice_read_only"
"""Execution option of `Database.reading()` sessions."""
ONE_STATEMENT = "backoffice_one_statement"
"""Execution option of `Database.reading(one_statement=True)` sessions."""
_in_write_turn: ContextVar[bool] = ContextVar("in_sqlite_write_turn", default=False)


def async_url(url: str | URL) -> URL:
    """Accept plain `sqlite://` / `postgresql://` URLs and pick the asyncio driver for them."""
    parsed = make_url(url)
    backend = parsed.drivername.split("+", 1)[0]
    if backend not in ASYNC_DRIVERS:
        raise ValueError(f"unsupported database {parsed.drivername!r}: use sqlite or postgresql")
    return parsed.set(drivername=ASYNC_DRIVERS[backend])


_DIALECT_INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


def dialect_insert(session: AsyncSession, table: Any) -> sqlite.Insert | postgresql.Insert:
    """An INSERT in the session's dialect, so it has `on_conflict_do_nothing` (the same SQL on SQLite and
    PostgreSQL): one statement instead of a savepoint around an insert that may meet a unique key."""
    return _DIALECT_INSERTS[session.get_bind().dialect.name](table)


def _configure_sqlite(engine: AsyncEngine) -> None:
    # Take the write lock at BEGIN so concurrent writers queue up (busy_timeout) instead of failing
    # half-way with "database is locked" when a reader tries to become a writer.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        options = connection.get_execution_options()
        if options.get(ONE_STATEMENT):
            return  # one SELECT is its own snapshot in autocommit mode; a BEGIN would be one more driver round trip
        # A read-only session needs no write lock: in WAL mode it reads a snapshot and never waits for writers.
        connection.exec_driver_sql("BEGIN" if options.get(READ_ONLY) else "BEGIN IMMEDIATE")


class Database:
    """Owns one engine and hands out sessions; create one per process and pass it around."""

    def __init__(self, url: str | URL, *, echo: bool = False, **engine_options: Any) -> None:
        self.url = async_url(url)
        schema = self.url.query.get("search_path")
        if schema and self.url.get_backend_name() == "postgresql":
            # asyncpg has no libpq `options`; let `?search_path=name` keep the tables in a schema of their own.
            self.url = self.url.difference_update_query(["search_path"])
            connect_args = engine_options.setdefault("connect_args", {})
            connect_args.setdefault("server_settings", {})["search_path"] = str(schema)
        if self.url.get_backend_name() == "sqlite" and self.url.database not in (None, "", ":memory:"):
            Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)
        self.engine = create_async_engine(self.url, echo=echo, **engine_options)
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._readers = async_sessionmaker(self.engine, expire_on_commit=False, execution_options={READ_ONLY: True})
        self._one_statement_readers = async_sessionmaker(
            self.engine, expire_on_commit=False, execution_options={READ_ONLY: True, ONE_STATEMENT: True}
        )
        self._write_turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on any error."""
        async with self._write_turn(), self.sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def reading(self, *, one_statement: bool = False) -> AsyncIterator[AsyncSession]:
        """A session for reads only: on SQLite it neither takes nor waits for the write lock (don't write in it).

        `one_statement=True` is for a single SELECT: on SQLite it runs without BEGIN, so two statements in such a
        session could see different snapshots.
        """
        async with (self._one_statement_readers if one_statement else self._readers)() as session:
            yield session

    def _write_turn(self) -> AbstractAsyncContextManager[object]:
        """On SQLite, one write transaction at a time per process, queued in asyncio.

        SQLite has one write lock; connections that wait for it in its busy handler poll with sleeps of up to
        100 ms, so under load most of the time goes to sleeping. Queued here, the next writer starts as soon as
        the lock is free; other processes still meet the busy handler. A transaction opened inside another one
        (in the same task) is not queued: it meets SQLite's busy timeout as before instead of waiting forever.
        """
        if not self.is_sqlite or _in_write_turn.get():
            return nullcontext()
        return self._queued_write_turn()

    @asynccontextmanager
    async def _queued_write_turn(self) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        lock = self._write_turns.setdefault(loop, asyncio.Lock())
        async with lock:
            token = _in_write_turn.set(True)
            try:
                yield
            finally:
                _in_write_turn.reset(token)

    async def dispose(self) -> None:
        await self.engine.dispose()

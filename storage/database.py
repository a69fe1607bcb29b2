"""Engine and session factory for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from storage import sqlite_engine

ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg", "postgres": "postgresql+asyncpg"}
_write_turn_owner: ContextVar[asyncio.Task[Any] | None] = ContextVar("sqlite_write_turn_owner", default=None)


def async_url(url: str | URL) -> URL:
    """Accept plain `sqlite://` / `postgresql://` URLs and pick the asyncio driver for them."""
    parsed = make_url(url)
    backend = parsed.drivername.split("+", 1)[0]
    if backend not in ASYNC_DRIVERS:
        raise ValueError(f"unsupported database {parsed.drivername!r}: use sqlite or postgresql")
    return parsed.set(drivername=ASYNC_DRIVERS[backend])


_DIALECT_INSERTS: dict[str, Callable[[Any], sqlite.Insert | postgresql.Insert]] = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


def dialect_insert(session: AsyncSession, table: Any) -> sqlite.Insert | postgresql.Insert:
    """An INSERT in the session's dialect, so it has `on_conflict_do_nothing` (the same SQL on SQLite and
    PostgreSQL): one statement instead of a savepoint around an insert that may meet a unique key."""
    return _DIALECT_INSERTS[session.get_bind().dialect.name](table)


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
        if self.is_sqlite:
            engine_options.setdefault("async_creator", sqlite_engine.connector(self.url))
        self.engine = create_async_engine(self.url, echo=echo, **engine_options)
        if self.is_sqlite:
            sqlite_engine.configure(self.engine)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._readers = async_sessionmaker(self.engine, expire_on_commit=False, execution_options={sqlite_engine.READ_ONLY: True})
        self._write_turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _WriteTurns] = weakref.WeakKeyDictionary()

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @asynccontextmanager
    async def transaction(self, *, urgent: bool = False) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on any error. `urgent`: someone
        is waiting for it with a deadline (a platform for its acknowledgement): on SQLite it takes the write lock
        before the transactions queued here that aren't urgent (chat turns), not after them."""
        async with self._write_turn(urgent), self._session(self.sessions) as session, session.begin():
            yield session

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A session for reads only: on SQLite it neither takes nor waits for the write lock (don't write in it)."""
        async with self._session(self._readers) as session:
            yield session

    @asynccontextmanager
    async def _session(self, maker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
        """A session closed the moment it is left, on SQLite. `AsyncSession`'s own exit closes it in a task of its
        own (so a cancellation can't interrupt the close): the connection goes back to the pool, and the write
        turn to the next writer, only after the event loop has run whatever else was ready — under load, other
        sessions meanwhile take more connections than the pool keeps (each one a new SQLite connection) and
        writers wait for unrelated work. SQLite's close never waits (`sqlite_engine`), so nothing can interrupt
        it there; on PostgreSQL a close is a round trip, left to the protected exit."""
        if not self.is_sqlite:
            async with maker() as session:
                yield session
            return
        session = maker()
        try:
            yield session
        finally:
            await session.close()

    def _write_turn(self, urgent: bool = False) -> AbstractAsyncContextManager[object]:
        """On SQLite, one write transaction at a time per process, queued in asyncio (urgent ones first).

        SQLite has one write lock; queued here, the next writer starts the moment the lock is free instead of
        polling for it (other processes still poll, see `sqlite_engine`). A transaction opened inside another
        one by the same task is not queued (it would wait for itself): it polls for the lock like another process
        would, and fails after `sqlite_engine.LOCK_PATIENCE`. Tasks started inside a turn queue like any other.
        """
        if not self.is_sqlite or _write_turn_owner.get() is asyncio.current_task():
            return nullcontext()
        return self._queued_write_turn(urgent)

    @asynccontextmanager
    async def _queued_write_turn(self, urgent: bool) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        turns = self._write_turns.setdefault(loop, _WriteTurns())
        await turns.acquire(urgent)
        try:
            token = _write_turn_owner.set(asyncio.current_task())
            try:
                yield
            finally:
                _write_turn_owner.reset(token)
        finally:
            turns.release()

    async def dispose(self) -> None:
        await self.engine.dispose()


class _WriteTurns:
    """The write lock of one event loop's SQLite transactions: first come, first served, except that urgent
    waiters (an acknowledgement a platform waits for) go before the others. Released, it is handed straight to
    the next waiter, so no newcomer takes it in between."""

    def __init__(self) -> None:
        self._held = False
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._others: deque[asyncio.Future[None]] = deque()

    async def acquire(self, urgent: bool) -> None:
        if not self._held:
            self._held = True
            return
        turn = asyncio.get_running_loop().create_future()
        (self._urgent if urgent else self._others).append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():  # handed the lock, and cancelled before taking it: pass it on
                self.release()
            raise

    def release(self) -> None:
        for waiting in (self._urgent, self._others):
            while waiting:
                turn = waiting.popleft()
                if not turn.done():  # a cancelled waiter's turn is done already: skipped
                    turn.set_result(None)
                    return
        self._held = False

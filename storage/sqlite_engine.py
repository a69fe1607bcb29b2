"""SQLite under the asyncio engine: the standard library driver, called on the event loop's own thread.

A statement on this data takes microseconds, while handing each driver call to a worker thread (as aiosqlite
does) costs tens of microseconds, and a chat turn makes about sixty driver calls. So the SQLite engine calls
`sqlite3` directly from SQLAlchemy's asyncio greenlets. The one wait that could block the event loop for long, another
process holding the write lock, is done with asyncio sleeps rather than inside SQLite's busy handler.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from typing import Any

from sqlalchemy import event, pool
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import URL, Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import await_only

DRIVER = "sqlite+inline"
"""The engine URL driver name: `sqlite:///path` URLs are given it by `storage.database.async_url`."""
READ_ONLY = "backoffice_read_only"
"""Execution option of sessions that only read: they need no write lock."""
ONE_STATEMENT = "backoffice_one_statement"
"""Execution option of sessions that run one SELECT: no BEGIN at all."""
BUSY_TIMEOUT_MS = 200
"""How long a statement may block in SQLite's busy handler. In WAL mode readers meet a lock only in rare moments
(another connection recovering the log), and writers never do once they hold the write lock."""
WRITE_LOCK_PATIENCE = 30.0
"""Seconds to wait, without blocking the event loop, for another process to release the write lock."""


class _Cursor(sqlite3.Cursor):
    async def _async_soft_close(self) -> None:
        """Called by SQLAlchemy's asyncio results before handing them to sync code; rows stay fetchable here."""


class _Connection(sqlite3.Connection):
    def cursor(self, factory: Any = _Cursor) -> sqlite3.Cursor:  # type: ignore[override]
        return super().cursor(factory)


class SQLiteDialect_inline(SQLiteDialect_pysqlite):  # noqa: N801 - SQLAlchemy's dialect class naming
    """pysqlite declared asyncio-ready: its calls never await, so they run where the awaits would have been."""

    driver = "inline"
    is_async = True
    supports_statement_cache = True

    @classmethod
    def get_pool_class(cls, url: URL) -> type[pool.Pool]:
        return pool.AsyncAdaptedQueuePool if cls._is_url_file_db(url) else pool.StaticPool

    def create_connect_args(self, url: URL) -> Any:
        args, options = super().create_connect_args(url)
        return args, {**options, "factory": _Connection}


registry.register(DRIVER.replace("+", "."), __name__, SQLiteDialect_inline.__name__)


def configure(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" event below issues BEGIN itself
        for pragma in (
            "foreign_keys=ON",
            f"busy_timeout={BUSY_TIMEOUT_MS}",
            "journal_mode=WAL",
            "synchronous=NORMAL",
        ):
            dbapi_connection.execute(f"PRAGMA {pragma}")

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        options = connection.get_execution_options()
        if options.get(ONE_STATEMENT):
            return  # one SELECT is its own snapshot in autocommit mode
        if options.get(READ_ONLY):
            # In WAL mode a reader sees a snapshot and never waits for writers.
            connection.exec_driver_sql("BEGIN")
        else:
            # Take the write lock at BEGIN, so a transaction never fails half-way when a reader turns writer.
            _begin_immediate(connection)


def _begin_immediate(connection: Connection) -> None:
    raw = connection.connection.driver_connection
    assert isinstance(raw, sqlite3.Connection)
    raw.execute("PRAGMA busy_timeout=0")
    try:
        for pause in _pauses(WRITE_LOCK_PATIENCE):
            try:
                raw.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                if error.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:  # extended codes keep the primary code in the low byte
                    raise
            await_only(asyncio.sleep(pause))
    finally:
        raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    connection.exec_driver_sql("BEGIN IMMEDIATE")  # patience is over: a last try that raises SQLAlchemy's error


def _pauses(patience: float) -> Iterator[float]:
    """Growing pauses (1 ms up to 50 ms) until `patience` seconds have passed."""
    deadline = time.monotonic() + patience
    pause = 0.001
    while time.monotonic() < deadline:
        yield pause
        pause = min(pause * 2, 0.05)

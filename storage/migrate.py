"""Schema migrations (Alembic), run over the application's own async engine."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from storage import sqlite_engine
from storage.database import Database

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


async def upgrade(database: Database, revision: str = "head") -> None:
    await _migrate(database, lambda sync: command.upgrade(alembic_config(sync), revision))


async def downgrade(database: Database, revision: str) -> None:
    await _migrate(database, lambda sync: command.downgrade(alembic_config(sync), revision))


async def _migrate(database: Database, work: Callable[[Connection], None]) -> None:
    """Run migration steps in one transaction.

    On SQLite a step that changes a column rebuilds its table (copy, drop, rename). With foreign keys on, dropping
    the old table would delete, through ON DELETE CASCADE, every row of the tables that point at it (stock levels
    and movements when stock_items changes, say). So the migration runs with foreign keys off, as SQLite's own
    procedure for altering tables says, checks them before committing, and its connection is discarded afterwards
    rather than handed out again with them off."""
    async with database.engine.connect() as connection:
        if database.is_sqlite:
            await connection.execution_options(**{sqlite_engine.MIGRATING: True})
        try:
            async with connection.begin():
                await connection.run_sync(work)
                if database.is_sqlite:
                    broken = (await connection.exec_driver_sql("PRAGMA foreign_key_check")).fetchall()
                    if broken:
                        raise RuntimeError(f"the migration left rows pointing at nothing, e.g. in table {broken[0][0]}; nothing was changed")
        finally:
            if database.is_sqlite:
                await connection.invalidate()


async def current_revision(database: Database) -> str | None:
    async with database.engine.connect() as connection:
        return await connection.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def autogenerate(database: Database, message: str) -> None:
    """Developer tool: write a new revision from the difference between the models and the database."""
    async with database.engine.begin() as connection:
        await connection.run_sync(lambda sync: command.revision(alembic_config(sync), message=message, autogenerate=True))

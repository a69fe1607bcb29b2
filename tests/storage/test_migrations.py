"""The Alembic migrations on SQLite and PostgreSQL: up from empty, down to nothing, up again, and no drift from the models."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import CheckConstraint, Table, UniqueConstraint, inspect, text
from sqlalchemy.engine import Connection

from storage import migrate
from storage.database import Database
from storage.models import Base

MODEL_TABLES = set(Base.metadata.tables)


@pytest.fixture
async def empty_database(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    yield database
    await database.dispose()


async def table_names(database: Database) -> set[str]:
    async with database.engine.connect() as connection:
        return set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))


def differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_upgrade_from_empty_creates_every_model_table(empty_database: Database) -> None:
    assert await table_names(empty_database) == set()
    assert await migrate.current_revision(empty_database) is None
    await migrate.upgrade(empty_database)
    assert await table_names(empty_database) == MODEL_TABLES | {"alembic_version"}
    assert await migrate.current_revision(empty_database) == migrate.head_revision() is not None


async def test_downgrade_to_base_removes_everything_and_upgrade_works_again(empty_database: Database) -> None:
    await migrate.upgrade(empty_database)
    await migrate.downgrade(empty_database, "base")
    assert await table_names(empty_database) <= {"alembic_version"}
    assert await migrate.current_revision(empty_database) is None
    await migrate.upgrade(empty_database)
    assert await table_names(empty_database) == MODEL_TABLES | {"alembic_version"}
    assert await migrate.current_revision(empty_database) == migrate.head_revision()


async def test_upgrading_an_up_to_date_database_changes_nothing(empty_database: Database) -> None:
    await migrate.upgrade(empty_database)
    await migrate.upgrade(empty_database)
    assert await migrate.current_revision(empty_database) == migrate.head_revision()


async def test_the_models_match_the_migrations(empty_database: Database) -> None:
    await migrate.upgrade(empty_database)
    async with empty_database.engine.connect() as connection:
        found = await connection.run_sync(differences)
    assert found == []


async def test_columns_indexes_and_constraints_match_the_models(empty_database: Database) -> None:
    # compare_metadata does not look at unique, check or foreign-key constraints; these are the rules the data relies on.
    await migrate.upgrade(empty_database)

    def reflected(connection: Connection) -> dict[str, dict[str, set[Any]]]:
        inspector = inspect(connection)
        return {
            table: {
                "columns": {column["name"] for column in inspector.get_columns(table)},
                # PostgreSQL also lists the index behind each unique constraint; those are compared as constraints.
                "indexes": {index["name"] for index in inspector.get_indexes(table) if "duplicates_constraint" not in index},
                "uniques": {tuple(unique["column_names"]) for unique in inspector.get_unique_constraints(table)},
                "checks": {check["name"] for check in inspector.get_check_constraints(table)},
                "foreign_keys": {
                    (tuple(fk["constrained_columns"]), fk["referred_table"], (fk.get("options") or {}).get("ondelete"))
                    for fk in inspector.get_foreign_keys(table)
                },
            }
            for table in MODEL_TABLES
        }

    def declared(table: Table) -> dict[str, set[Any]]:
        return {
            "columns": set(table.columns.keys()),
            "indexes": {index.name for index in table.indexes},
            "uniques": {
                tuple(constraint.columns.keys()) for constraint in table.constraints if isinstance(constraint, UniqueConstraint)
            }
            | {(column.name,) for column in table.columns if column.unique},
            "checks": {constraint.name for constraint in table.constraints if isinstance(constraint, CheckConstraint)},
            "foreign_keys": {
                ((fk.parent.name,), fk.column.table.name, fk.ondelete.upper() if fk.ondelete else None) for fk in table.foreign_keys
            },
        }

    async with empty_database.engine.connect() as connection:
        found = await connection.run_sync(reflected)
    for name, table in Base.metadata.tables.items():
        assert found[name] == declared(table), name


ROWS_AT_0001 = [
    "INSERT INTO employees (id, email, name, department, job_title, language, timezone, calendar, active, created_at, updated_at)"
    " VALUES (1, 'a@x.example', 'A', '', '', 'en', 'UTC', '', TRUE, '2026-11-01 00:00:00', '2026-11-01 00:00:00')",
    "INSERT INTO chat_identities (id, platform, external_id, employee_id) VALUES (1, 'telegram', '700001', 1)",
    "INSERT INTO stock_items (id, sku, name, aliases, unit, category) VALUES (1, 'A4', 'A4 paper', '[]', 'pcs', '')",
    "INSERT INTO stock_locations (id, code, name, kind) VALUES (1, 'SR-1', 'Supply room', 'supply_room')",
    "INSERT INTO stock_levels (id, item_id, location_id, quantity, reserved, reorder_level, created_at, updated_at)"
    " VALUES (1, 1, 1, 20, 0, 5, '2026-11-01 00:00:00', '2026-11-01 00:00:00')",
    "INSERT INTO stock_movements (id, item_id, location_id, kind, quantity, reason, at)"
    " VALUES (1, 1, 1, 'in', 20, '', '2026-11-01 00:00:00')",
    "INSERT INTO outbox (id, recipient_id, payload, created_at, due_at, attempts, last_error)"
    " VALUES (1, 1, '{\"text\": \"hi\"}', '2026-11-01 00:00:00', '2026-11-01 00:00:00', 0, '')",
]
KEPT = ("employees", "chat_identities", "stock_items", "stock_levels", "stock_movements", "outbox")


async def row_counts(database: Database) -> dict[str, int]:
    async with database.engine.connect() as connection:
        return {table: int((await connection.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()) for table in KEPT}


async def test_upgrading_a_database_with_data_keeps_every_row_and_downgrading_too(empty_database: Database) -> None:
    # On SQLite a column change rebuilds its table; with foreign keys on, dropping the old stock_items would have
    # deleted every stock level and movement through ON DELETE CASCADE.
    await migrate.upgrade(empty_database, "0001")
    async with empty_database.engine.begin() as connection:
        for statement in ROWS_AT_0001:
            await connection.execute(text(statement))
    await migrate.upgrade(empty_database)
    assert await row_counts(empty_database) == dict.fromkeys(KEPT, 1)
    await migrate.downgrade(empty_database, "0001")
    assert await row_counts(empty_database) == dict.fromkeys(KEPT, 1)
    async with empty_database.engine.connect() as connection:  # and the pool still enforces foreign keys
        if empty_database.is_sqlite:
            assert (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar_one() == 1

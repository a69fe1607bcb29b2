"""Shared fixtures: a migrated database per test, on SQLite and (with TEST_DATABASE_URL) PostgreSQL.

SQLite: the schema is migrated once into a template file, copied for every test.
PostgreSQL: each run migrates a fresh schema of its own (dropped at the end), truncated between tests,
so reruns and parallel runs never see each other's rows.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from nlu import Interpreter
from nlu.cli import PACKAGE_DATA
from storage import migrate
from storage.database import Database, async_url
from storage.leave import ensure_leave_types
from storage.models import Base

BACKENDS = ["sqlite", "postgresql"]
NO_POSTGRES = "PostgreSQL tests need TEST_DATABASE_URL (e.g. postgresql://postgres@127.0.0.1:5432/test)"


def run_blocking(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run set-up work on its own loop in a thread: session fixtures may be requested from inside a test's loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coroutine).result()


def in_schema(url: str, schema: str) -> str:
    return async_url(url).update_query_dict({"search_path": schema}).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def nlu_model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The assistant's NLU model, trained once per test session from the shipped data."""
    path = tmp_path_factory.mktemp("nlu") / "model.joblib"
    Interpreter.load_or_train(path, PACKAGE_DATA)
    return path


@pytest.fixture(scope="session")
def interpreter(nlu_model_file: Path) -> Interpreter:
    return Interpreter.load(nlu_model_file)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"

    async def build() -> None:
        database = Database(f"sqlite:///{path}")
        await migrate.upgrade(database)
        await database.dispose()

    run_blocking(build())
    return path


@pytest.fixture(scope="session")
def postgres_schema() -> Iterator[tuple[str, str]]:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip(NO_POSTGRES)
    schema = f"test_{uuid.uuid4().hex[:12]}"

    async def run(statement: str) -> None:
        database = Database(url)
        async with database.engine.begin() as connection:
            await connection.execute(text(statement))
        await database.dispose()

    async def build() -> None:
        await run(f'CREATE SCHEMA "{schema}"')
        database = Database(in_schema(url, schema))
        await migrate.upgrade(database)
        await database.dispose()

    run_blocking(build())
    yield url, schema
    run_blocking(run(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def database(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "test.sqlite3"
        shutil.copy(template, path)
        db = Database(f"sqlite:///{path}")
    else:
        url, schema = request.getfixturevalue("postgres_schema")
        db = Database(in_schema(url, schema))
        tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
        async with db.engine.begin() as connection:
            await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    async with db.transaction() as session:
        await ensure_leave_types(session)
    yield db
    await db.dispose()


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL to an empty, unmigrated database (for migration and command-line tests)."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    url, _ = request.getfixturevalue("postgres_schema")
    schema = f"empty_{uuid.uuid4().hex[:10]}"

    async def create() -> None:
        database = Database(url)
        async with database.engine.begin() as connection:
            await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        await database.dispose()

    run_blocking(create())
    request.addfinalizer(lambda: run_blocking(_drop_schema(url, schema)))
    return in_schema(url, schema)


async def _drop_schema(url: str, schema: str) -> None:
    database = Database(url)
    async with database.engine.begin() as connection:
        await connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    await database.dispose()

"""`backoffice link-code`, `backoffice unlink` and what `backoffice demo` prints, against real databases."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from typer.testing import CliRunner

from bot import cli
from bot.cli import app, printable_url
from storage import people
from storage.audit import AuditEntry
from storage.database import Database
from storage.linking import LinkCode
from storage.people import ChatIdentity, Employee, Platform

CODE = re.compile(r"\b[0-9A-Z]{5}-[0-9A-Z]{5}\b")
T = TypeVar("T")


@pytest.fixture
def runner(database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("TIMEZONE", "Asia/Tashkent")
    upgraded = CliRunner().invoke(app, ["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    return CliRunner()


def in_database(database_url: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def run() -> T:
        database = Database(database_url)
        try:
            async with database.transaction() as session:
                return await work(session)
        finally:
            await database.dispose()

    return asyncio.run(run())


def hire(database_url: str) -> None:
    async def work(session: AsyncSession) -> None:
        employee = Employee(email="nodira@acme.example", name="Nodira Karimova", language="uz", timezone="Asia/Tashkent", role_rows=[])
        session.add(employee)
        await session.flush()
        await people.link_identity(session, employee, Platform.TELEGRAM, "700001")
        await people.link_identity(session, employee, Platform.SLACK, "U0NODIRA")

    in_database(database_url, work)


def test_link_code_prints_a_code_stored_only_as_a_hash(runner: CliRunner, database_url: str) -> None:
    hire(database_url)
    result = runner.invoke(app, ["link-code", "Nodira@acme.example", "--platform", "telegram"])
    assert result.exit_code == 0, result.output
    code = CODE.search(result.output)
    assert code is not None
    assert f"Link code for Nodira Karimova <nodira@acme.example>: {code.group(0)}" in result.output
    assert f"Telegram: /link {code.group(0)}" in result.output and "Slack" not in result.output
    assert "(Asia/Tashkent)" in result.output

    async def stored(session: AsyncSession) -> tuple[Any, str, str]:
        row = (await session.scalars(select(LinkCode))).one()
        audit = (await session.scalars(select(AuditEntry).where(AuditEntry.action == "link_code.issued"))).one()
        return row.platform, row.code_hash, str(audit.details)

    platform, code_hash, audit = in_database(database_url, stored)
    assert platform is Platform.TELEGRAM
    plain = code.group(0).replace("-", "")
    assert plain not in code_hash and plain not in audit and code.group(0) not in audit


def test_link_code_for_someone_unknown_is_one_error_line(runner: CliRunner) -> None:
    result = runner.invoke(app, ["link-code", "nobody@acme.example"])
    assert result.exit_code == 1
    assert result.output.strip() == "error: no employee with the email nobody@acme.example"


def test_unlink_removes_one_platform_and_is_audited(runner: CliRunner, database_url: str) -> None:
    hire(database_url)
    result = runner.invoke(app, ["unlink", "nodira@acme.example", "telegram"])
    assert result.exit_code == 0, result.output
    assert "Unlinked telegram account 700001 from Nodira Karimova <nodira@acme.example>" in result.output

    async def state(session: AsyncSession) -> tuple[list[tuple[str, str]], list[str]]:
        accounts = (await session.execute(select(ChatIdentity.platform, ChatIdentity.external_id))).all()
        actions = list(await session.scalars(select(AuditEntry.action)))
        return sorted((platform.value, external_id) for platform, external_id in accounts), actions

    accounts, actions = in_database(database_url, state)
    assert accounts == [("slack", "U0NODIRA")]
    assert "identity.unlinked" in actions

    again = runner.invoke(app, ["unlink", "nodira@acme.example", "telegram"])
    assert again.exit_code == 1
    assert again.output.strip() == "error: nodira@acme.example has no telegram account linked."


def test_unlink_names_the_platforms_it_knows(runner: CliRunner) -> None:
    result = runner.invoke(app, ["unlink", "nodira@acme.example", "whatsapp"], env={"COLUMNS": "200"})
    assert result.exit_code == 2
    assert "telegram" in result.output and "slack" in result.output


def test_printed_database_urls_have_no_password() -> None:
    assert printable_url("postgresql://bo:s3cr%40t@db.example:5432/backoffice") == "postgresql://bo:***@db.example:5432/backoffice"
    assert printable_url("sqlite:///data/backoffice.sqlite3") == "sqlite:///data/backoffice.sqlite3"
    assert "s3cret" not in printable_url("not a url s3cret")


def test_demo_prints_the_database_without_its_password(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", "postgresql://bo:s3cret@db.example/backoffice")
    monkeypatch.setattr(cli, "run_with_database", lambda settings, work: "demo summary")
    monkeypatch.setattr(cli, "run_chat", lambda *args: None)
    result = CliRunner().invoke(app, ["demo", "--as", "someone@acme.example"])
    assert result.exit_code == 0, result.output
    assert "Demo company ready in postgresql://bo:***@db.example/backoffice" in result.output
    assert "s3cret" not in result.output


def test_a_database_the_commands_cannot_use_is_one_error_line_naming_the_fix(
    backend: str, database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    if backend == "sqlite":
        broken = tmp_path / "not-a-database.sqlite3"
        broken.write_bytes(b"this is not an SQLite file, but someone's notes" * 100)
        url = f"sqlite:///{broken}"
    else:  # a schema that does not exist: nothing can be created in it
        url = re.sub(r"search_path=[^&]+", "search_path=no_such_schema", database_url)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", url)
    result = CliRunner().invoke(app, ["outbox"])
    assert result.exit_code == 1
    assert result.output.startswith("error: the database refused the command (")
    assert result.output.strip().endswith("run `backoffice db upgrade`") and len(result.output.strip().splitlines()) == 1
    assert "SELECT" not in result.output and "CREATE" not in result.output  # the statement is not echoed

"""`backoffice outbox` lists what waits and what failed (never the text) and retries a failed message."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from storage import outbox
from storage.database import Database
from storage.outbox import OutboxMessage, OutboxStatus
from tests.factories import make_company

NOW = datetime(2026, 11, 23, 6, 0)
LATER = datetime(2099, 1, 4, 3, 0)
SECRET_TEXT = "Your payslip: 12,345.67"


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", database_url)
    return CliRunner()


def seed(database_url: str) -> tuple[int, int]:
    """A pending message for Alice, a failed one for Bob, one for Bob due in 2099 (scheduled) and one for Alice that
    failed once and is to be tried again in 2099 (retrying: not scheduled)."""

    async def work() -> tuple[int, int]:
        database = Database(database_url)
        try:
            async with database.transaction() as session:
                company = await make_company(session)
                pending = await outbox.enqueue(session, company.alice.id, {"text": SECRET_TEXT}, due_at=NOW)
                failed = await outbox.enqueue(session, company.bob.id, {"text": SECRET_TEXT}, due_at=NOW)
                await session.flush()
                await outbox.mark_failed(session, failed.id, "timed out", now=NOW)
                await outbox.mark_dead(session, failed.id, "unreachable on every platform (telegram: the bot was blocked)")
                await outbox.enqueue(session, company.bob.id, {"text": SECRET_TEXT}, due_at=LATER)
                retrying = await outbox.enqueue(session, company.alice.id, {"text": SECRET_TEXT}, due_at=NOW)
                await session.flush()
                await outbox.mark_failed(session, retrying.id, "timed out", now=NOW, retry_after=(LATER - NOW).total_seconds())
                return pending.id, failed.id
        finally:
            await database.dispose()

    return asyncio.run(work())


def status_of(database_url: str, message_id: int) -> OutboxStatus:
    async def work() -> OutboxStatus:
        database = Database(database_url)
        try:
            async with database.sessions() as session:
                message = await session.get(OutboxMessage, message_id)
                assert message is not None
                return message.status
        finally:
            await database.dispose()

    return asyncio.run(work())


def test_the_outbox_lists_pending_and_failed_messages_without_their_text(cli: CliRunner, database_url: str) -> None:
    assert cli.invoke(app, ["db", "upgrade"]).exit_code == 0
    pending, failed = seed(database_url)
    listed = cli.invoke(app, ["outbox"], env={"COLUMNS": "250"})
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert lines[0] == "scheduled: 1, pending: 2, failed: 1"
    assert lines[1].split() == ["id", "status", "kind", "recipient", "platform", "attempts", "due", "(UTC)", "reason"]
    rows = {line.split()[0]: line for line in lines[2:]}
    assert set(rows) == {str(pending), str(failed), str(failed + 1), str(failed + 2)}
    assert rows[str(failed + 2)].split()[1:6] == ["retrying", "send", "alice@example.com", "-", "1"]
    assert rows[str(failed + 1)].split()[1:8] == ["scheduled", "send", "bob@example.com", "-", "0", "2099-01-04", "03:00:00"]
    assert rows[str(failed)].split()[1:6] == ["failed", "send", "bob@example.com", "-", "1"]
    assert rows[str(failed)].endswith("unreachable on every platform (telegram: the bot was blocked)")
    assert rows[str(pending)].split()[1:6] == ["pending", "send", "alice@example.com", "-", "0"]
    assert SECRET_TEXT not in listed.output and "12,345" not in listed.output

    only_failed = cli.invoke(app, ["outbox", "--failed"])
    assert [line.split()[0] for line in only_failed.output.splitlines()[2:]] == [str(failed)]


def test_a_failed_message_can_be_retried_once(cli: CliRunner, database_url: str) -> None:
    assert cli.invoke(app, ["db", "upgrade"]).exit_code == 0
    pending, failed = seed(database_url)
    retried = cli.invoke(app, ["outbox", "retry", str(failed)])
    assert retried.exit_code == 0, retried.output
    assert f"outbox message {failed} is queued again" in retried.output
    assert status_of(database_url, failed) is OutboxStatus.PENDING
    assert cli.invoke(app, ["outbox"]).output.splitlines()[0] == "scheduled: 1, pending: 3, failed: 0"

    again = cli.invoke(app, ["outbox", "retry", str(pending)])
    assert again.exit_code == 1 and "only a failed message can be retried" in again.output
    unknown = cli.invoke(app, ["outbox", "retry", "987654"])
    assert unknown.exit_code == 1 and "No outbox message 987654" in unknown.output


def test_the_outbox_commands_have_help() -> None:
    for command in (["outbox"], ["outbox", "retry"]):
        result = CliRunner().invoke(app, [*command, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output, result.output

"""The command line against real databases (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from bot.cli import app
from storage import migrate


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path) -> CliRunner:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", database_url)
    return CliRunner()


def test_db_upgrade_current_and_downgrade(cli: CliRunner) -> None:
    assert "database: empty" in cli.invoke(app, ["db", "current"]).output
    upgraded = cli.invoke(app, ["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    head = migrate.head_revision()
    assert f"database: {head}; code: {head}" in cli.invoke(app, ["db", "current"]).output
    downgraded = cli.invoke(app, ["db", "downgrade", "base"])
    assert downgraded.exit_code == 0, downgraded.output
    assert "database: empty" in cli.invoke(app, ["db", "current"]).output


def test_every_command_has_help() -> None:
    runner = CliRunner()
    for command in ([], ["db"], ["db", "upgrade"], ["db", "seed"], ["import"], ["demo"], ["nlu"]):
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0, (command, result.output)
        assert "Usage" in result.output


def test_seed_without_a_kind_is_a_usage_error(cli: CliRunner) -> None:
    result = cli.invoke(app, ["db", "seed"])
    assert result.exit_code == 2 and "--demo" in result.output


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["db", "seed", "--demo", "--today", "23/11/2026"], "'23/11/2026' is not a date like 2026-11-23"),
        (["demo", "--now", "23/11/2026 9am"], "'23/11/2026 9am' is not a date-time like 2026-11-23T09:00"),
        (["chat", "--as", "a@b.example", "--now", "tomorrow"], "'tomorrow' is not a date-time like 2026-11-23T09:00"),
    ],
)
def test_a_bad_date_is_a_clear_usage_error(cli: CliRunner, arguments: list[str], message: str) -> None:
    result = cli.invoke(app, arguments, env={"COLUMNS": "200"})  # a wide terminal: the error box doesn't wrap
    assert result.exit_code == 2
    assert message in result.output

"""`backoffice chat` in the terminal: a script or piped stdin, numbered buttons, `/as` to switch person.

The command runs for real through Typer's CliRunner against a prepared database (SQLite file or a PostgreSQL
schema); DATA_DIR holds the NLU model, trained once for this module. The console is also driven in-process, as the
channel it is: it goes through the core (router, delivery worker) and never touches the database itself.
"""

from __future__ import annotations

import ast
import io
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from actions import default_routes
from actions.i18n import Translator
from bot.channels import console as console_module
from bot.channels.base import Channel
from bot.channels.console import PLATFORM, ConsoleChat
from bot.cli import app
from bot.delivery import DeliveryWorker
from bot.dialogue import Dialogue
from bot.directory import Directory
from bot.router import Router
from nlu import Interpreter
from storage import people
from storage.database import Database
from tests.conftest import in_schema
from tests.factories import make_company

EN = Translator("en")
NOW = "2026-11-23T09:00"  # Monday morning in Tashkent


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory, nlu_model_file: Path) -> Path:
    """A DATA_DIR holding the session's trained model, as `backoffice chat` expects to find it."""
    directory = tmp_path_factory.mktemp("data")
    (directory / "nlu").mkdir()
    shutil.copy(nlu_model_file, directory / "nlu" / "model.joblib")
    return directory


@pytest.fixture
async def prepared_url(database: Database, backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The test company, in the database the `database` fixture made, as a URL for the command line."""
    async with database.transaction() as session:
        company = await make_company(session)
        # On the console, as in the demo: the outbox reaches people through their chat identities.
        for employee in (company.alice, company.manager):
            await people.link_identity(session, employee, "console", employee.email)
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'test.sqlite3'}"
    url, schema = request.getfixturevalue("postgres_schema")
    return in_schema(url, schema)


@pytest.fixture
def cli(prepared_url: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[CliRunner]:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("DATABASE_URL", prepared_url)
    monkeypatch.setenv("DATA_DIR", str(data_dir))
    monkeypatch.setenv("TIMEZONE", "Asia/Tashkent")
    yield CliRunner()


def test_a_script_shows_replies_numbered_buttons_and_other_people_s_messages(cli: CliRunner, tmp_path: Path) -> None:
    script = tmp_path / "script.txt"
    script.write_text(
        "hello\n"
        "I need annual leave from 1 to 2 December\n"
        "1\n"
        "/as maria@example.com\n"
        "1\n"
        "/as alice@example.com\n",
        encoding="utf-8",
    )
    result = cli.invoke(app, ["chat", "--as", "alice@example.com", "--script", str(script), "--now", NOW])
    assert result.exit_code == 0, result.output
    out = result.output

    assert "(you are now Alice Able <alice@example.com>, roles: employee)" in out
    assert "alice@example.com> hello" in out  # the script is echoed after the prompt
    assert f"bot: {EN('smalltalk.greet', name='Alice')}" in out
    assert "[1] Yes  [2] No" in out  # the leave confirmation, as numbered choices
    assert "(new message for Maria Manager — /as maria@example.com to read it)" in out

    maria = out.split("(you are now Maria Manager")[1]
    assert maria.startswith(" <maria@example.com>, roles: employee, manager)\n(1 new message for you)")
    assert "[1] " in maria.split("maria@example.com> 1")[0]  # the request came with decision buttons
    after_decision = maria.split("maria@example.com> 1")[1]
    assert "bot: " in after_decision
    assert "(new message for Alice Able — /as alice@example.com to read it)" in after_decision

    alice_again = out.split("(you are now Alice Able")[2]
    assert "(1 new message for you)" in alice_again


def test_piped_stdin_is_read_line_by_line(cli: CliRunner) -> None:
    result = cli.invoke(app, ["chat", "--as", "alice@example.com", "--now", NOW], input="hi\nwhat can you do?\n/quit\nhello\n")
    assert result.exit_code == 0, result.output
    assert f"bot: {EN('smalltalk.greet', name='Alice')}" in result.output
    assert EN("smalltalk.help_intro", name="Alice") in result.output
    assert result.output.count("bot: ") == 2  # /quit ended the chat before the last line


def test_an_unknown_person_is_refused(cli: CliRunner) -> None:
    result = cli.invoke(app, ["chat", "--as", "nobody@example.com", "--now", NOW], input="hello\n")
    assert result.exit_code == 1
    assert "(no active employee with the email 'nobody@example.com')" in result.output


def test_the_console_module_does_not_touch_the_database() -> None:
    tree = ast.parse(Path(console_module.__file__).read_text(encoding="utf-8"))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert not {name for name in imported if name.split(".")[0] in ("storage", "sqlalchemy")}, imported


async def test_the_console_is_a_channel_and_shows_a_request_decided_meanwhile_as_updated(
    database: Database, interpreter: Interpreter
) -> None:
    async with database.transaction() as session:
        company = await make_company(session)
        for employee in (company.alice, company.manager):
            await people.link_identity(session, employee, "console", employee.email)
    now = datetime(2026, 11, 23, 4, 0)  # 09:00 in Tashkent
    dialogue = Dialogue(database, interpreter, default_routes(), clock=lambda: now, timezone="Asia/Tashkent")
    out = io.StringIO()
    console = ConsoleChat(Router(database, dialogue, clock=lambda: now), Directory(database), out=out, clock=lambda: now)
    console.deliver_outbox = DeliveryWorker(database, {PLATFORM: console}, clock=lambda: now).run_once
    assert isinstance(console, Channel)

    assert await console.switch("alice@example.com")
    await console.run(["I need annual leave from 1 to 2 December", "1", "/as maria@example.com"], echo=True)
    await console.run(["what do I need to approve?"], echo=True)
    listed = out.getvalue().rsplit("maria@example.com> what do I need to approve?", 1)[1]
    assert "[1] " in listed  # the request, listed with its decision buttons
    await console.run(["1"], echo=True)  # Approve, pressed on the list

    after = out.getvalue().rsplit("maria@example.com> 1", 1)[1]
    assert "(an earlier message was updated)" in after  # the request she was sent first no longer offers buttons
    assert "(new message for Alice Able — /as alice@example.com to read it)" in after

"""`backoffice schedule` shows who leads and every scheduled job with its next run (never a reminder's text)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from storage import schedules
from storage.base import utcnow
from storage.database import Database
from storage.schedules import PERSONAL
from tests.factories import make_company

SECRET = "ask Bob about the salary raise"


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", database_url)
    return CliRunner()


def seed(database_url: str, *, leader: bool) -> tuple[int, int]:
    """Alice's weekly reminder, her one-off one (cancelled), and a leader lease if asked."""

    async def work() -> tuple[int, int]:
        database = Database(database_url)
        now = utcnow()
        try:
            async with database.transaction() as session:
                company = await make_company(session)
                weekly = await schedules.add(
                    session, kind=PERSONAL, owner=company.alice, next_due=datetime(2030, 1, 4, 12, 0), payload={"what": SECRET},
                    rule="DTSTART:20291231T170000\nRRULE:FREQ=WEEKLY;BYDAY=FR", timezone="Asia/Tashkent", explicit_time=True,
                )
                once = await schedules.add(
                    session, kind=PERSONAL, owner=company.alice, next_due=datetime(2030, 1, 1, 4, 0), payload={"what": SECRET},
                    once_at=datetime(2030, 1, 1, 4, 0), timezone="Asia/Tashkent",
                )
                await schedules.cancel(session, company.alice, once.id)
                if leader:
                    await schedules.acquire(session, "host:42:abcdef01", now=now, ttl=timedelta(minutes=10))
                return weekly.id, once.id
        finally:
            await database.dispose()

    return asyncio.run(work())


def test_the_schedule_lists_the_leader_and_the_jobs_with_their_next_run_in_utc_and_local_time(cli: CliRunner, database_url: str) -> None:
    assert cli.invoke(app, ["db", "upgrade"]).exit_code == 0
    weekly, once = seed(database_url, leader=True)
    listed = cli.invoke(app, ["schedule"], env={"COLUMNS": "250"})
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert lines[0].startswith("leader: host:42:abcdef01 (since ")
    assert lines[1] == "jobs: 1"
    assert lines[2].split() == ["id", "kind", "for", "rule", "timezone", "next", "(UTC)", "next", "(local)", "last", "(UTC)", "state"]
    assert lines[3].split() == [
        str(weekly), "personal", "alice@example.com", "FREQ=WEEKLY;BYDAY=FR", "Asia/Tashkent", "2030-01-04", "12:00", "2030-01-04", "17:00", "-", "active",
    ]
    assert SECRET not in listed.output

    everything = cli.invoke(app, ["schedule", "--all"], env={"COLUMNS": "250"})
    rows = {line.split()[0]: line.split() for line in everything.output.splitlines()[3:]}
    assert set(rows) == {str(weekly), str(once)}
    assert rows[str(once)][3:6] == ["once", "2030-01-01", "04:00"] and rows[str(once)][-1] == "done"


def test_with_no_scheduler_running_it_says_nobody_leads(cli: CliRunner, database_url: str) -> None:
    assert cli.invoke(app, ["db", "upgrade"]).exit_code == 0
    seed(database_url, leader=False)
    listed = cli.invoke(app, ["schedule"])
    assert listed.output.splitlines()[0] == "leader: none yet (no `backoffice run` has led)"
    assert cli.invoke(app, ["schedule", "--help"]).exit_code == 0

"""Schedules as data: rules read in local time, quiet hours, the leader lease, and reminders waiting in the outbox
carried over by the migration."""

from __future__ import annotations

import json
import time as clock
from collections.abc import AsyncIterator
from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import text

from storage import migrate, schedules
from storage.database import Database
from storage.schedules import QuietHours, Timing, WorkingDays

TASHKENT = schedules.zone_named("Asia/Tashkent")


def test_quiet_hours_wrap_midnight_and_send_at_their_end() -> None:
    night = QuietHours.parse("21:00-08:00")
    assert (night.start, night.end, str(night)) == (time(21), time(8), "21:00-08:00")
    assert night.morning_after(datetime(2026, 11, 23, 22, 30)) == datetime(2026, 11, 24, 8, 0)
    assert night.morning_after(datetime(2026, 11, 24, 3, 0)) == datetime(2026, 11, 24, 8, 0)
    assert night.morning_after(datetime(2026, 11, 24, 8, 0)) == datetime(2026, 11, 24, 8, 0)
    assert QuietHours.parse("1-5").morning_after(datetime(2026, 11, 24, 2, 0)) == datetime(2026, 11, 24, 5, 0)
    with pytest.raises(ValueError):
        QuietHours.parse("night")


def test_a_rule_with_count_or_until_is_refused_and_a_malformed_one_too() -> None:
    with pytest.raises(ValueError):
        schedules.recurrence(datetime(2026, 11, 23, 9), "FREQ=DAILY;COUNT=3")
    with pytest.raises(ValueError):
        schedules.recurrence(datetime(2026, 11, 23, 9), "FREQ=SOMETIMES")
    assert schedules.recurrence(datetime(2026, 11, 23, 9), "RRULE:FREQ=DAILY") == "DTSTART:20261123T090000\nRRULE:FREQ=DAILY"


def test_a_frequent_rule_created_long_ago_is_read_quickly_and_stays_on_its_grid() -> None:
    every_quarter = Timing("DTSTART:20240101T000000\nRRULE:FREQ=MINUTELY;INTERVAL=15", None, schedules.UTC)
    started = clock.perf_counter()
    assert schedules.next_after(every_quarter, datetime(2026, 11, 23, 10, 7)) == datetime(2026, 11, 23, 10, 15)
    assert schedules.latest_until(every_quarter, datetime(2026, 11, 23, 8, 0), datetime(2026, 11, 23, 10, 7)) == datetime(2026, 11, 23, 10, 0)
    monthly = Timing("DTSTART:20240101T090000\nRRULE:FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=15", None, TASHKENT)
    assert schedules.next_after(monthly, datetime(2026, 11, 23)) == datetime(2027, 1, 15, 4, 0)  # odd months only
    assert clock.perf_counter() - started < 0.5


def test_a_time_skipped_by_the_spring_dst_change_comes_an_hour_later_on_the_clock() -> None:
    berlin = schedules.zone_named("Europe/Berlin")
    nightly = Timing("DTSTART:20270320T023000\nRRULE:FREQ=DAILY", None, berlin, WorkingDays.ANY)
    moments = [schedules.to_local(moment, berlin) for _, moment in zip(range(3), schedules.occurrences(nightly, datetime(2027, 3, 27, 12)), strict=False)]
    assert moments == [datetime(2027, 3, 28, 3, 30), datetime(2027, 3, 29, 2, 30), datetime(2027, 3, 30, 2, 30)]


async def test_the_lease_has_one_holder_until_it_expires_and_is_renewed_by_its_holder(database: Database) -> None:
    now, ttl = datetime(2026, 11, 23, 9), timedelta(seconds=25)
    async with database.transaction() as session:
        assert await schedules.acquire(session, "a", now=now, ttl=ttl)
        assert not await schedules.acquire(session, "b", now=now + timedelta(seconds=10), ttl=ttl)
        assert await schedules.acquire(session, "a", now=now + timedelta(seconds=20), ttl=ttl)  # renewed
        assert not await schedules.acquire(session, "b", now=now + timedelta(seconds=30), ttl=ttl)
        assert await schedules.holds(session, "a", now=now + timedelta(seconds=30))
        assert await schedules.acquire(session, "b", now=now + timedelta(seconds=45), ttl=ttl)
        lease = await schedules.lease_of(session)
        assert lease is not None and (lease.holder, lease.acquired_at) == ("b", now + timedelta(seconds=45))
        assert await schedules.release(session, "a", now=now + timedelta(seconds=50)) == 0  # not a's to give up
        assert await schedules.release(session, "b", now=now + timedelta(seconds=50)) == 1
        assert await schedules.acquire(session, "a", now=now + timedelta(seconds=50), ttl=ttl)


@pytest.fixture
async def empty_database(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    yield database
    await database.dispose()


async def test_reminders_waiting_in_the_outbox_become_schedules_and_go_back_on_downgrade(empty_database: Database) -> None:
    await migrate.upgrade(empty_database, "0006")
    reminder = {"text": "⏰ Reminder: call the bank", "kind": "reminder", "what": "call the bank", "private": True}
    async with empty_database.engine.begin() as connection:
        await connection.execute(text(
            "INSERT INTO employees (id, email, name, department, job_title, language, timezone, calendar, active, created_at, updated_at)"
            " VALUES (1, 'a@x.example', 'A', '', '', 'ru', 'Asia/Tashkent', '', TRUE, '2026-11-01 00:00:00', '2026-11-01 00:00:00')"
        ))
        for message_id, payload, status in ((1, reminder, "pending"), (2, {"text": "hi"}, "pending"), (3, reminder, "delivered")):
            await connection.execute(
                text(
                    "INSERT INTO outbox (id, recipient_id, payload, created_at, due_at, attempts, last_error, kind, status)"
                    " VALUES (:id, 1, :payload, '2026-11-20 00:00:00', '2026-12-01 04:00:00', 0, '', 'send', :status)"
                ),
                {"id": message_id, "payload": json.dumps(payload), "status": status},
            )
    await migrate.upgrade(empty_database)
    async with empty_database.engine.connect() as connection:
        moved = (await connection.execute(text("SELECT kind, owner_id, once_at, next_due, timezone, payload, active FROM schedules"))).all()
        left = (await connection.execute(text("SELECT id FROM outbox ORDER BY id"))).scalars().all()
    assert len(moved) == 1
    kind, owner, once_at, next_due, zone, payload, active = moved[0]
    assert (kind, owner, str(once_at)[:19], str(next_due)[:19], zone, bool(active)) == (
        "personal", 1, "2026-12-01 04:00:00", "2026-12-01 04:00:00", "Asia/Tashkent", True,
    )
    assert (json.loads(payload) if isinstance(payload, str) else payload) == {"what": "call the bank", "language": "ru"}
    assert list(left) == [2, 3]  # the other message and the one already delivered stay

    await migrate.downgrade(empty_database, "0006")
    async with empty_database.engine.connect() as connection:
        back = (await connection.execute(text("SELECT due_at, payload FROM outbox WHERE id NOT IN (2, 3)"))).all()
    assert len(back) == 1 and str(back[0][0])[:19] == "2026-12-01 04:00:00"
    restored = back[0][1] if isinstance(back[0][1], dict) else json.loads(back[0][1])
    assert (restored["kind"], restored["what"]) == ("reminder", "call the bank")

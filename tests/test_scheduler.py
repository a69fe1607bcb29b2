"""The scheduler on SQLite and PostgreSQL with an injected clock (nothing sleeps for time to pass): each kind fires
at the right local time in several time zones, skips weekends and holidays where it should, keeps the night quiet,
fires what fell due while it was down once, and two schedulers — one leading, or even both — never queue a message
twice; a dead leader is replaced once its lease runs out, and a stopping one hands over at once."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from actions import default_jobs
from actions.scheduled import JobContext, ReminderPolicy
from bot.scheduler import LEASE, Firing, Scheduler
from storage import escalations, payroll, schedules, tickets
from storage.base import utcnow
from storage.database import Database
from storage.leave import LeaveRequest, LeaveStatus
from storage.outbox import OutboxMessage
from storage.payroll import LineInput, LineKind
from storage.people import Employee, Role
from storage.schedules import PERSONAL, Schedule, Timing, WorkingDays
from storage.stock import LocationKind, StockItem, StockLevel, StockLocation
from storage.tickets import Priority
from tests.factories import TEST_HOLIDAY, Company, make_company
from tests.running import Clock, count_rows, until

MONDAY = datetime(2026, 11, 23)  # 00:00 UTC
LOW_ALERT = "Running low: HDMI cable in Supply room 2 — 2 left (reorder level 3). Time to order more."


@pytest.fixture
async def company(database: Database) -> Company:
    async with database.transaction() as session:
        return await make_company(session)


@pytest.fixture
def clock() -> Clock:
    made = Clock()
    made.now = MONDAY
    return made


def scheduler(database: Database, clock: Clock, name: str = "one", **options: object) -> Scheduler:
    return Scheduler(database, default_jobs(), clock=clock, name=name, **options)  # type: ignore[arg-type]


async def run_until(scheduler_: Scheduler, clock: Clock, end: datetime, step: timedelta) -> None:
    """Move the clock to `end` in steps, a scheduler round at each (as the real loop polls)."""
    while clock.now < end:
        clock.now = min(clock.now + step, end)
        await scheduler_.run_once()


async def messages(database: Database, kind: str) -> list[OutboxMessage]:
    """The outbox messages a kind queued (the first of each firing: its key is kind:recipient:due…)."""
    async with database.sessions() as session:
        rows = await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        return [row for row in rows if (row.idempotency_key or "").startswith(f"{kind}:") and "/" not in (row.idempotency_key or "")]


async def employee(database: Database, email: str) -> Employee:
    async with database.sessions() as session:
        found = await session.scalar(select(Employee).where(Employee.email == email))
        assert found is not None
        return found


async def set_zone(database: Database, *changes: tuple[Employee, str]) -> None:
    async with database.transaction() as session:
        for person, zone in changes:
            await session.execute(update(Employee).where(Employee.id == person.id).values(timezone=zone))


async def leave_request(
    database: Database, person: Employee, start: date, end: date, *, created_at: datetime,
    status: LeaveStatus = LeaveStatus.PENDING, approver: Employee | None = None,
) -> int:
    async with database.transaction() as session:
        request = LeaveRequest(
            employee_id=person.id, leave_type="annual", start_date=start, end_date=end, days=Decimal(1), status=status,
            approver_id=approver.id if approver else None, created_at=created_at, updated_at=created_at,
        )
        session.add(request)
        await session.flush()
        return request.id


async def personal(database: Database, owner: Employee, *, clock: Clock, what: str, once_at: datetime | None = None,
                   rule: str | None = None, zone: str = "Asia/Tashkent", explicit: bool = True,
                   working_days: WorkingDays = WorkingDays.ANY) -> int:
    """A personal reminder as the chat stores one (its first instant worked out the same way)."""
    timing = Timing(rule, once_at, schedules.zone_named(zone), working_days, None if explicit else ReminderPolicy().quiet)
    first = schedules.next_after(timing, clock.now - timedelta(microseconds=1), {TEST_HOLIDAY})
    assert first is not None
    async with database.transaction() as session:
        made = await schedules.add(
            session, kind=PERSONAL, owner=owner, next_due=first, payload={"what": what, "language": "en"}, rule=rule,
            once_at=once_at, timezone=zone, working_days=working_days, explicit_time=explicit, now=clock.now,
        )
        return made.id


def personal_fired(firing: Firing) -> list[tuple[int, datetime]]:
    return [(schedule_id, due) for schedule_id, kind, due in firing.fired if kind == PERSONAL]


async def schedule_row(database: Database, schedule_id: int) -> Schedule:
    async with database.sessions() as session:
        found = await session.get(Schedule, schedule_id)
        assert found is not None
        return found


# --- the managers' digest ---------------------------------------------------------------------------------------


async def test_the_digest_comes_at_nine_in_each_deciders_own_time_zone_with_the_decision_buttons(
    database: Database, company: Company, clock: Clock
) -> None:
    oleg = await employee(database, "oleg@example.com")
    await set_zone(database, (company.manager, "America/New_York"), (oleg, "Europe/Berlin"), (company.hr, "Asia/Tashkent"))
    two_days_ago = MONDAY - timedelta(days=2)
    alices = await leave_request(database, company.alice, date(2026, 12, 7), date(2026, 12, 8), created_at=two_days_ago)
    await leave_request(database, company.keeper, date(2026, 12, 9), date(2026, 12, 9), created_at=two_days_ago)  # Oleg's report
    await leave_request(database, company.manager, date(2026, 12, 10), date(2026, 12, 10), created_at=two_days_ago)  # HR decides
    await leave_request(database, company.bob, date(2026, 12, 11), date(2026, 12, 11), created_at=MONDAY)  # not waiting long yet

    await run_until(scheduler(database, clock), clock, MONDAY + timedelta(days=1), timedelta(minutes=30))

    sent = {(message.recipient_id, message.due_at) for message in await messages(database, "approval_digest")}
    assert sent == {
        (company.hr.id, datetime(2026, 11, 23, 4, 0)),  # 09:00 in Tashkent
        (oleg.id, datetime(2026, 11, 23, 8, 0)),  # 09:00 in Berlin
        (company.manager.id, datetime(2026, 11, 23, 14, 0)),  # 09:00 in New York
    }
    async with database.sessions() as session:
        to_maria = list(await session.scalars(select(OutboxMessage).where(OutboxMessage.recipient_id == company.manager.id).order_by(OutboxMessage.id)))
    assert [message.payload["text"] for message in to_maria] == [
        "☀️ Good morning! Leave requests waiting for your decision: 1.", f"#{alices} Alice Able: annual leave, Mon 7 Dec – Tue 8 Dec (1 working day).",
    ]
    assert to_maria[1].payload["buttons"] == [["Approve", f"leave:approve:{alices}"], ["Reject", f"leave:reject:{alices}"]]
    assert to_maria[1].live_key == f"leave:{alices}"  # edited to the outcome once decided, like the chat's


async def test_no_digest_on_a_weekend_or_a_holiday_and_one_a_day_whatever_the_rounds(
    database: Database, company: Company, clock: Clock
) -> None:
    await leave_request(database, company.alice, date(2026, 12, 14), date(2026, 12, 14), created_at=MONDAY - timedelta(days=3))
    clock.now = datetime(2026, 11, 28)  # Saturday (05:00 in Tashkent)
    await run_until(scheduler(database, clock), clock, datetime(2026, 12, 5), timedelta(hours=2))
    days = [message.due_at for message in await messages(database, "approval_digest")]
    # Mon 30 Nov to Fri 4 Dec at 09:00 in Tashkent, but not Thursday 3 December (a holiday of the test calendar).
    assert days == [datetime(2026, 11, 30, 4, 0), datetime(2026, 12, 1, 4, 0), datetime(2026, 12, 2, 4, 0), datetime(2026, 12, 4, 4, 0)]
    assert TEST_HOLIDAY == date(2026, 12, 3)


# --- "your leave starts tomorrow" -------------------------------------------------------------------------------


async def test_leave_starting_monday_is_announced_on_friday_and_after_a_holiday_on_the_day_before_it(
    database: Database, company: Company, clock: Clock
) -> None:
    monday = await leave_request(database, company.alice, date(2026, 11, 30), date(2026, 12, 4), created_at=MONDAY,
                                 status=LeaveStatus.APPROVED, approver=company.manager)
    await leave_request(database, company.bob, date(2026, 12, 4), date(2026, 12, 4), created_at=MONDAY,
                        status=LeaveStatus.APPROVED, approver=company.manager)  # Thursday 3 December is a holiday
    await leave_request(database, company.keeper, date(2026, 11, 24), date(2026, 11, 24), created_at=MONDAY,
                        status=LeaveStatus.APPROVED, approver=company.manager)
    await leave_request(database, company.it_agent, date(2026, 11, 30), date(2026, 11, 30), created_at=MONDAY,
                        status=LeaveStatus.PENDING)  # not approved: no reminder
    await run_until(scheduler(database, clock), clock, datetime(2026, 12, 4), timedelta(hours=4))

    sent = {message.recipient_id: message for message in await messages(database, "leave_starts")}
    assert {person: message.due_at for person, message in sent.items()} == {
        company.keeper.id: datetime(2026, 11, 23, 4, 0),  # Monday for Tuesday
        company.alice.id: datetime(2026, 11, 27, 4, 0),  # Friday for Monday
        company.bob.id: datetime(2026, 12, 2, 4, 0),  # Wednesday for Friday, over Thursday's holiday
    }
    assert sent[company.keeper.id].payload["text"].startswith("🌴 Your annual leave starts tomorrow: Tue 24 Nov")
    assert sent[company.alice.id].payload["text"] == (
        "🌴 Your annual leave starts on Mon 30 Nov: Mon 30 Nov – Fri 4 Dec (1 working day), approved by Maria Manager. Enjoy it!"
    )
    assert sent[company.bob.id].payload["text"].startswith("🌴 Ваш ежегодный отпуск начинается пт 4 дек.: ")
    assert sent[company.alice.id].idempotency_key == f"leave_starts:{company.alice.id}:20261127T0400:{monday}"


async def test_leave_start_missed_while_down_is_announced_when_back_and_not_once_the_leave_has_begun(
    database: Database, company: Company, clock: Clock
) -> None:
    await leave_request(database, company.alice, date(2026, 11, 30), date(2026, 12, 4), created_at=MONDAY,
                        status=LeaveStatus.APPROVED, approver=company.manager)
    await leave_request(database, company.keeper, date(2026, 12, 7), date(2026, 12, 7), created_at=MONDAY,
                        status=LeaveStatus.APPROVED, approver=company.manager)
    jobs = scheduler(database, clock)
    await run_until(jobs, clock, datetime(2026, 11, 26, 20), timedelta(hours=4))  # then down all Friday 27 (Tashkent)
    clock.now = datetime(2026, 11, 27, 18)  # back at 23:00 in Tashkent: quiet hours
    await jobs.run_once()
    await run_until(jobs, clock, datetime(2026, 12, 3, 18), timedelta(hours=4))  # down from Thursday night to Monday 01:00
    clock.now = datetime(2026, 12, 6, 20)
    await jobs.run_once()
    await run_until(jobs, clock, datetime(2026, 12, 8), timedelta(hours=4))

    sent = await messages(database, "leave_starts")
    assert [(message.recipient_id, message.due_at) for message in sent] == [
        (company.alice.id, datetime(2026, 11, 28, 3, 0)),  # Saturday 08:00 in Tashkent, once
    ]  # and nothing for the keeper: by the morning after that outage the leave has begun
    assert sent[0].payload["text"].startswith("🌴 Your annual leave starts on Mon 30 Nov: ")  # not "tomorrow"


# --- stock: once per crossing, and quiet at night ---------------------------------------------------------------


async def stock_level(database: Database, quantity: int, reorder: int) -> int:
    async with database.transaction() as session:
        item = StockItem(sku="CBL-HDMI", name="HDMI cable", aliases=[], unit="pcs")
        location = StockLocation(code="SR-2", name="Supply room 2", kind=LocationKind.SUPPLY_ROOM)
        session.add_all([item, location])
        await session.flush()
        level = StockLevel(item_id=item.id, location_id=location.id, quantity=quantity, reserved=0, reorder_level=reorder)
        session.add(level)
        await session.flush()
        return level.id


async def set_quantity(database: Database, level_id: int, quantity: int) -> None:
    async with database.transaction() as session:
        await session.execute(update(StockLevel).where(StockLevel.id == level_id).values(quantity=quantity))


async def test_low_stock_is_told_once_per_crossing_and_a_night_crossing_waits_for_the_morning(
    database: Database, company: Company, clock: Clock
) -> None:
    level = await stock_level(database, quantity=10, reorder=3)
    jobs = scheduler(database, clock)
    clock.now = datetime(2026, 11, 23, 17, 0)  # 22:00 in Tashkent
    await jobs.run_once()
    await set_quantity(database, level, 2)
    await run_until(jobs, clock, datetime(2026, 11, 24, 17, 0), timedelta(minutes=15))
    [alert] = await messages(database, "stock_low")
    assert (alert.recipient_id, alert.due_at) == (company.keeper.id, datetime(2026, 11, 24, 3, 0))  # 08:00 her time
    assert alert.payload["text"] == LOW_ALERT

    await set_quantity(database, level, 1)  # lower still: the same crossing
    await run_until(jobs, clock, datetime(2026, 11, 24, 19, 0), timedelta(minutes=15))
    assert len(await messages(database, "stock_low")) == 1
    await set_quantity(database, level, 20)  # restocked …
    await run_until(jobs, clock, datetime(2026, 11, 25, 5, 0), timedelta(minutes=15))
    await set_quantity(database, level, 3)  # … and down to the level again in the morning: news again, at once
    await run_until(jobs, clock, datetime(2026, 11, 25, 6, 0), timedelta(minutes=15))
    first, second = await messages(database, "stock_low")
    assert second.due_at == datetime(2026, 11, 25, 5, 15)


# --- tickets near and past their SLA ------------------------------------------------------------------------------


async def test_tickets_are_warned_near_and_past_their_sla_once_each(database: Database, company: Company, clock: Clock) -> None:
    clock.now = datetime(2026, 11, 23, 5, 0)  # 10:00 in Tashkent
    async with database.transaction() as session:
        normal = await tickets.create_ticket(session, company.alice, description="The printer jams", priority=Priority.NORMAL, now=clock.now)
        critical = await tickets.create_ticket(session, company.bob, description="Server room is flooding", priority=Priority.CRITICAL, now=clock.now)
    jobs = scheduler(database, clock)
    await run_until(jobs, clock, datetime(2026, 11, 24, 8, 0), timedelta(minutes=5))
    warned = [(message.recipient_id, message.due_at, message.idempotency_key.split(":")[-2:]) for message in await messages(database, "ticket_sla")]  # type: ignore[union-attr]
    it = company.it_agent.id
    assert warned == [
        (it, datetime(2026, 11, 23, 8, 15), [str(critical.id), "near"]),  # 80 % of 4 h; 13:15 in Tashkent
        (it, datetime(2026, 11, 23, 9, 5), [str(critical.id), "past"]),
        (it, datetime(2026, 11, 24, 3, 0), [str(normal.id), "near"]),  # 80 % of 24 h falls at 05:12 in Tashkent: told at 08:00
        (it, datetime(2026, 11, 24, 5, 5), [str(normal.id), "past"]),
    ]
    [first] = [m for m in await messages(database, "ticket_sla") if m.idempotency_key and m.idempotency_key.endswith(f"{critical.id}:near")]
    assert first.payload["buttons"] == [["I'll take it", f"ticket:take:{critical.id}"]]  # nobody has it yet


async def test_a_ticket_both_near_and_past_while_the_scheduler_was_down_gets_one_warning(
    database: Database, company: Company, clock: Clock
) -> None:
    clock.now = datetime(2026, 11, 23, 5, 0)
    async with database.transaction() as session:
        critical = await tickets.create_ticket(session, company.bob, description="VPN is down for everyone", priority=Priority.CRITICAL, now=clock.now)
    jobs = scheduler(database, clock)
    await jobs.run_once()
    clock.now = datetime(2026, 11, 23, 12, 0)  # back after seven hours
    await jobs.run_once()
    [warning] = await messages(database, "ticket_sla")
    assert warning.idempotency_key == f"ticket_sla:{company.it_agent.id}:20261123T0900:{critical.id}:past"


# --- HR cases left unanswered -------------------------------------------------------------------------------------


async def test_an_unanswered_hr_case_is_brought_up_once_per_message_on_working_days(
    database: Database, company: Company, clock: Clock
) -> None:
    clock.now = datetime(2026, 11, 26, 6, 0)  # Thursday, 11:00 in Tashkent
    async with database.transaction() as session:
        case = await escalations.open_escalation(session, company.alice, subject="Question about my contract", message="Can we talk?", now=clock.now)
    jobs = scheduler(database, clock)
    await run_until(jobs, clock, datetime(2026, 11, 30, 6, 0), timedelta(hours=3))
    [first] = await messages(database, "hr_follow_up")
    assert (first.recipient_id, first.due_at) == (company.hr.id, datetime(2026, 11, 27, 6, 0))  # Friday, 24 h later
    assert first.payload["text"] == f"📨 HR case #{case.id} “Question about my contract” from Alice Able has been waiting for an answer since Thu 26 Nov, 11:00."

    async with database.transaction() as session:
        await escalations.reply(session, company.hr, case.id, "Sure, tomorrow?", now=clock.now)
    await run_until(jobs, clock, datetime(2026, 12, 2, 6, 0), timedelta(hours=3))
    assert len(await messages(database, "hr_follow_up")) == 1  # answered: not brought up again
    async with database.transaction() as session:
        await escalations.reply(session, company.alice, case.id, "Tomorrow is fine", now=clock.now)
    await run_until(jobs, clock, datetime(2026, 12, 5), timedelta(hours=3))
    # Her new message waits from Wednesday 11:00; Thursday is a holiday of Hana's calendar: brought up on Friday as
    # soon as the night is over there (08:00).
    assert [message.due_at for message in await messages(database, "hr_follow_up")] == [datetime(2026, 11, 27, 6, 0), datetime(2026, 12, 4, 3, 0)]


# --- payslip notices --------------------------------------------------------------------------------------------


async def publish(database: Database, person: Employee, period: str, *, at: datetime) -> None:
    async with database.transaction() as session:
        employee = await session.get(Employee, person.id)
        assert employee is not None
        await payroll.publish_payslip(session, employee, period=period, currency="EUR", published_at=at, lines=[
            LineInput(LineKind.EARNING, "Base salary", Decimal("2500.00")), LineInput(LineKind.TAX, "Income tax", Decimal("336.00")),
        ])


async def test_a_published_payslip_is_announced_to_its_owner_once_per_period_in_the_morning(
    database: Database, company: Company, clock: Clock,
) -> None:
    await publish(database, company.bob, "2026-09", at=MONDAY - timedelta(days=10))  # long before: not brought up now
    clock.now = datetime(2026, 11, 23, 18, 0)  # 23:00 in Tashkent: the notice waits for 08:00
    await publish(database, company.alice, "2026-10", at=clock.now)
    await publish(database, company.bob, "2026-10", at=clock.now)
    await run_until(scheduler(database, clock), clock, clock.now + timedelta(minutes=30), timedelta(minutes=5))
    notices = await messages(database, "payslip_notice")
    assert [(m.recipient_id, m.idempotency_key, m.due_at) for m in notices] == [
        (company.alice.id, f"payslip_notice:{company.alice.id}:2026-10", datetime(2026, 11, 24, 3, 0)),
        (company.bob.id, f"payslip_notice:{company.bob.id}:2026-10", datetime(2026, 11, 24, 3, 0)),
    ]
    alice, bob = notices[0].payload, notices[1].payload
    assert alice["text"] == "💰 Your payslip is available: October 2026." and alice["private"]
    assert alice["buttons"] == [["Show it", "payslip:show:2026-10"]]
    assert bob["text"].startswith("💰 Ваш расчётный листок готов: октябрь 2026")  # in Bob's language
    assert "2,500" not in alice["text"] + bob["text"] and "2500" not in alice["text"] + bob["text"]  # no figures

    # Payroll re-imports October (a correction) and publishes November: only November is new.
    await publish(database, company.alice, "2026-10", at=clock.now)
    await publish(database, company.alice, "2026-11", at=clock.now)
    await run_until(scheduler(database, clock), clock, clock.now + timedelta(minutes=30), timedelta(minutes=5))
    keys = [m.idempotency_key for m in await messages(database, "payslip_notice")]
    assert keys == [f"payslip_notice:{company.alice.id}:2026-10", f"payslip_notice:{company.bob.id}:2026-10",
                    f"payslip_notice:{company.alice.id}:2026-11"]

# --- personal reminders: restarts, replicas, time zones, DST, quiet hours -----------------------------------------


async def test_a_restart_in_the_middle_sends_what_fell_due_once(database: Database, company: Company, clock: Clock) -> None:
    clock.now = datetime(2026, 11, 23, 3, 0)  # 08:00 in Tashkent
    ids = [
        await personal(database, company.alice, clock=clock, what=f"at {hour}", once_at=datetime(2026, 11, 23, hour - 5, 0))
        for hour in (9, 10, 11)
    ]
    daily = await personal(database, company.alice, clock=clock, what="daily", rule="DTSTART:20261123T120000\nRRULE:FREQ=DAILY")
    first = scheduler(database, clock, "first")
    clock.now = datetime(2026, 11, 23, 4, 0)  # 09:00
    assert personal_fired(await first.run_once()) == [(ids[0], datetime(2026, 11, 23, 4, 0))]
    # `first` dies without giving the lease up; the assistant is back the next day at 13:00.
    clock.now = datetime(2026, 11, 24, 8, 0)
    second = scheduler(database, clock, "second")
    firing = await second.run_once()
    assert firing.leader and sorted(schedule_id for schedule_id, _ in personal_fired(firing)) == [ids[1], ids[2], daily]
    assert (await first.run_once()).leader is False  # it was only paused: it finds the lease taken
    assert (await second.run_once()).fired == []

    texts = sorted(message.payload["text"] for message in await messages(database, PERSONAL))
    assert texts == ["⏰ Reminder: at 10", "⏰ Reminder: at 11", "⏰ Reminder: at 9", "⏰ Reminder: daily"]  # yesterday's and today's daily: one
    row = await schedule_row(database, daily)
    assert (row.last_fired, row.next_due) == (datetime(2026, 11, 24, 7, 0), datetime(2026, 11, 25, 7, 0))


async def test_a_firing_repeated_after_a_crash_queues_nothing_twice(database: Database, company: Company, clock: Clock) -> None:
    reminder = await personal(database, company.alice, clock=clock, what="call", once_at=MONDAY + timedelta(hours=5))
    clock.now = MONDAY + timedelta(hours=5)
    jobs = scheduler(database, clock)
    await jobs.run_once()
    async with database.transaction() as session:  # as if the bookkeeping had been lost after the messages were queued
        await session.execute(update(Schedule).where(Schedule.id == reminder).values(active=True, next_due=clock.now, last_fired=None))
    assert [fired[0] for fired in (await jobs.run_once()).fired] == [reminder]
    assert len(await messages(database, PERSONAL)) == 1


async def test_two_schedulers_on_one_database_queue_every_reminder_once(database: Database, company: Company, clock: Clock) -> None:
    people = [company.alice, company.bob, company.manager, company.hr, company.it_agent]
    clock.now = MONDAY + timedelta(hours=3)
    for n in range(40):
        await personal(database, people[n % len(people)], clock=clock, what=f"r{n}", once_at=MONDAY + timedelta(hours=4, minutes=n % 7))
    clock.now = MONDAY + timedelta(hours=5)
    one, two = scheduler(database, clock, "one", batch_size=6), scheduler(database, clock, "two", batch_size=6)
    leaders: set[str] = set()
    for _ in range(12):
        rounds: list[Firing] = await asyncio.gather(one.run_once(), two.run_once())
        leaders |= {jobs.name for jobs, firing in zip((one, two), rounds, strict=True) if firing.leader}
    assert len(leaders) == 1
    texts = [message.payload["text"] for message in await messages(database, PERSONAL)]
    assert sorted(texts) == sorted(f"⏰ Reminder: r{n}" for n in range(40))


async def test_even_two_leaders_firing_at_once_queue_nothing_twice(database: Database, company: Company, clock: Clock) -> None:
    # Defence in depth: were the lease ever held twice (two lease names here), the due rows are claimed with
    # SKIP LOCKED on PostgreSQL and every message has its idempotency key.
    clock.now = MONDAY + timedelta(hours=3)
    for n in range(30):
        await personal(database, company.alice, clock=clock, what=f"r{n}", once_at=MONDAY + timedelta(hours=4))
    clock.now = MONDAY + timedelta(hours=5)
    one = scheduler(database, clock, "one", batch_size=5, lease_name="a")
    two = scheduler(database, clock, "two", batch_size=5, lease_name="b")
    for _ in range(8):
        await asyncio.gather(one.run_once(), two.run_once())
    texts = [message.payload["text"] for message in await messages(database, PERSONAL)]
    assert sorted(texts) == sorted(f"⏰ Reminder: r{n}" for n in range(30))


async def test_a_dead_leader_is_replaced_once_its_lease_runs_out_and_a_stopping_one_hands_over_at_once(
    database: Database, company: Company, clock: Clock
) -> None:
    one, two = scheduler(database, clock, "one"), scheduler(database, clock, "two")
    assert (await one.run_once()).leader
    assert not (await two.run_once()).leader
    clock.advance(seconds=LEASE.total_seconds() - 1)
    assert not (await two.run_once()).leader  # `one` went silent, but its lease still runs
    clock.advance(seconds=1)
    assert (await two.run_once()).leader  # taken over within the lease (25 s) and a poll (5 s): under 30 s
    assert not (await one.run_once()).leader

    stop = asyncio.Event()
    running = asyncio.create_task(two.run(stop))
    await until(lambda: two.leading)
    stop.set()
    await running  # a clean stop gives the lease up …
    assert (await one.run_once()).leader  # … so another replica leads at once, not after 25 s
    async with database.sessions() as session:
        lease = await schedules.lease_of(session)
    assert lease is not None and (lease.holder, lease.acquired_at) == ("one", clock.now)


async def test_running_it_fires_each_reminder_at_its_instant_not_at_the_next_poll(database: Database, company: Company) -> None:
    # The one test on the wall clock: APScheduler times the rounds, and after each round it arms one at the earliest
    # due instant, so with a round only every 10 minutes reminders one and three seconds ahead still go out on time.
    wall = Clock()
    wall.now = utcnow()
    first = wall.now + timedelta(seconds=1)
    second = first + timedelta(seconds=2)
    await personal(database, company.alice, clock=wall, what="stand-up", once_at=first)
    await personal(database, company.alice, clock=wall, what="coffee", once_at=second)
    timed = Scheduler(database, default_jobs().only(PERSONAL), name="timed", poll_interval=600)
    stop = asyncio.Event()
    running = asyncio.create_task(timed.run(stop))
    queued_at: list[datetime] = []
    try:
        async with asyncio.timeout(30):
            while len(queued_at) < 2:
                count = await count_rows(database, OutboxMessage, OutboxMessage.idempotency_key.startswith(f"{PERSONAL}:"))
                queued_at.extend([utcnow()] * (count - len(queued_at)))
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        await running
    assert queued_at[0] - first < timedelta(seconds=8) and queued_at[1] - second < timedelta(seconds=8)  # not 10 minutes
    queued = {message.payload["text"]: message.created_at for message in await messages(database, PERSONAL)}
    assert queued["⏰ Reminder: stand-up"] >= first and queued["⏰ Reminder: coffee"] >= second  # and not early
    async with database.sessions() as session:
        lease = await schedules.lease_of(session)
    assert lease is not None and lease.holder == "timed" and lease.expires_at <= utcnow()  # given up on stop


async def test_the_assistants_own_jobs_exist_once_with_their_rules(database: Database, company: Company, clock: Clock) -> None:
    await scheduler(database, clock, "one").run_once()
    clock.advance(seconds=LEASE.total_seconds())
    await scheduler(database, clock, "two").run_once()  # a new leader ensures them again: no second row
    async with database.sessions() as session:
        rows = {row.slug: row.rule for row in await session.scalars(select(Schedule).where(Schedule.slug.is_not(None)))}
    assert rows == {
        "approval_digest": "DTSTART:20261123T000000\nRRULE:FREQ=MINUTELY;INTERVAL=15",
        "hr_follow_up": "DTSTART:20261123T000000\nRRULE:FREQ=MINUTELY;INTERVAL=15",
        "leave_starts": "DTSTART:20261123T000000\nRRULE:FREQ=MINUTELY;INTERVAL=15",
        "payslip_notice": "DTSTART:20261123T000000\nRRULE:FREQ=MINUTELY;INTERVAL=15",
        "stock_low": "DTSTART:20261123T000000\nRRULE:FREQ=MINUTELY;INTERVAL=15",
        "ticket_sla": "DTSTART:20261123T000000\nRRULE:FREQ=MINUTELY;INTERVAL=5",
    }


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ("Asia/Tashkent", datetime(2026, 11, 27, 12, 0)),
        ("Europe/Berlin", datetime(2026, 11, 27, 16, 0)),
        ("America/New_York", datetime(2026, 11, 27, 22, 0)),
    ],
)
async def test_a_weekly_reminder_fires_at_its_local_time(database: Database, company: Company, clock: Clock, zone: str, expected: datetime) -> None:
    reminder = await personal(database, company.alice, clock=clock, what="timesheet", zone=zone, rule="DTSTART:20261123T170000\nRRULE:FREQ=WEEKLY;BYDAY=FR")
    assert (await schedule_row(database, reminder)).next_due == expected
    jobs = scheduler(database, clock)
    clock.now = expected - timedelta(minutes=1)
    assert personal_fired(await jobs.run_once()) == []
    clock.now = expected
    assert personal_fired(await jobs.run_once()) == [(reminder, expected)]
    assert (await schedule_row(database, reminder)).next_due == expected + timedelta(days=7)


async def test_a_recurring_reminder_keeps_its_local_time_across_dst_changes(database: Database, company: Company, clock: Clock) -> None:
    clock.now = datetime(2026, 10, 19)
    berlin = await personal(database, company.alice, clock=clock, what="standup", zone="Europe/Berlin",
                            rule="DTSTART:20261019T090000\nRRULE:FREQ=WEEKLY;BYDAY=FR")
    new_york = await personal(database, company.bob, clock=clock, what="water", zone="America/New_York",
                              rule="DTSTART:20270301T080000\nRRULE:FREQ=DAILY")
    jobs = scheduler(database, clock)
    fired: list[tuple[int, datetime]] = []
    for moment in (datetime(2026, 10, 23, 7, 0), datetime(2026, 10, 30, 7, 0), datetime(2026, 10, 30, 8, 0),
                   datetime(2027, 3, 13, 13, 0), datetime(2027, 3, 14, 12, 0), datetime(2027, 3, 15, 12, 0)):
        clock.now = moment
        fired += personal_fired(await jobs.run_once())
    assert fired == [
        (berlin, datetime(2026, 10, 23, 7, 0)),  # 09:00 CEST (UTC+2)
        (berlin, datetime(2026, 10, 30, 8, 0)),  # 09:00 CET (UTC+1): not at 07:00 UTC, one hour earlier on the clock
        (berlin, datetime(2027, 3, 12, 8, 0)),  # the Fridays since, missed while "down", coalesced into the latest
        (new_york, datetime(2027, 3, 13, 13, 0)),  # 08:00 EST (UTC−5); the first since 1 March, the missed ones coalesced
        (new_york, datetime(2027, 3, 14, 12, 0)),  # 08:00 EDT (UTC−4), the day the clocks go forward
        (new_york, datetime(2027, 3, 15, 12, 0)),
    ]


async def test_quiet_hours_hold_back_a_reminder_only_when_its_time_was_not_chosen(database: Database, company: Company, clock: Clock) -> None:
    rule = "DTSTART:20261123T230000\nRRULE:FREQ=DAILY"
    chosen = await personal(database, company.alice, clock=clock, what="night shift", rule=rule)
    defaulted = await personal(database, company.bob, clock=clock, what="nightly", rule=rule, explicit=False)
    assert (await schedule_row(database, chosen)).next_due == datetime(2026, 11, 23, 18, 0)  # 23:00 in Tashkent
    assert (await schedule_row(database, defaulted)).next_due == datetime(2026, 11, 24, 3, 0)  # 08:00 the next morning


async def test_working_day_rules_skip_or_move_past_weekends_and_holidays() -> None:
    zone = schedules.zone_named("Asia/Tashkent")
    workdays = Timing("DTSTART:20261123T090000\nRRULE:FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR", None, zone, WorkingDays.SKIP)
    days = [schedules.to_local(moment, zone).date() for _, moment in zip(range(6), schedules.occurrences(workdays, MONDAY + timedelta(days=7), {TEST_HOLIDAY}), strict=False)]
    assert days == [date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 2), date(2026, 12, 4), date(2026, 12, 7), date(2026, 12, 8)]
    first_working = Timing("DTSTART:20261101T090000\nRRULE:FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=1", None, zone, WorkingDays.NEXT)
    assert schedules.next_after(first_working, datetime(2027, 1, 2), {date(2027, 2, 1)}) == datetime(2027, 2, 2, 4, 0)
    every_day = Timing("DTSTART:20261123T090000\nRRULE:FREQ=DAILY", None, zone, WorkingDays.ANY)
    assert schedules.next_after(every_day, datetime(2026, 12, 2, 5, 0), {TEST_HOLIDAY}) == datetime(2026, 12, 3, 4, 0)  # kept


async def test_a_broken_job_is_retried_later_without_holding_up_the_others(database: Database, company: Company, clock: Clock) -> None:
    ok = await personal(database, company.alice, clock=clock, what="fine", once_at=MONDAY + timedelta(hours=1))
    broken = await personal(database, company.bob, clock=clock, what="broken", once_at=MONDAY + timedelta(hours=1))
    jobs = default_jobs()
    real = jobs.handlers[PERSONAL]

    async def sometimes(ctx: JobContext) -> None:
        if ctx.schedule.id == broken:
            raise RuntimeError("boom")
        await real(ctx)

    jobs.handlers[PERSONAL] = sometimes
    clock.now = MONDAY + timedelta(hours=2)
    firing = await Scheduler(database, jobs, clock=clock, name="one").run_once()
    assert firing.failed == [broken] and ok in [fired[0] for fired in firing.fired]
    assert [message.payload["text"] for message in await messages(database, PERSONAL)] == ["⏰ Reminder: fine"]  # once
    assert not (await schedule_row(database, ok)).active  # a one-off, done (the failed round's undo did not stick)
    row = await schedule_row(database, broken)
    assert (row.active, row.next_due, row.last_error) == (True, clock.now + timedelta(minutes=5), "RuntimeError: boom")


async def test_a_schedule_whose_rule_no_longer_reads_is_retried_later_without_holding_up_the_others(
    database: Database, company: Company, clock: Clock
) -> None:
    ok = await personal(database, company.alice, clock=clock, what="fine", once_at=MONDAY + timedelta(hours=1))
    broken = await personal(database, company.bob, clock=clock, what="weekly", rule="DTSTART:20261123T090000\nRRULE:FREQ=WEEKLY;BYDAY=FR")
    async with database.transaction() as session:  # stored by an older version, say
        await session.execute(update(Schedule).where(Schedule.id == broken).values(rule="RRULE:FREQ=SOMETIMES", next_due=MONDAY))
    clock.now = MONDAY + timedelta(hours=2)
    firing = await scheduler(database, clock).run_once()
    assert broken in firing.failed and ok in [fired[0] for fired in firing.fired]
    assert [message.payload["text"] for message in await messages(database, PERSONAL)] == ["⏰ Reminder: fine"]
    row = await schedule_row(database, broken)
    assert row.active and row.next_due == clock.now + timedelta(minutes=5) and row.last_error.startswith("ValueError")


async def test_an_hr_case_with_nobody_in_hr_reaches_no_one(database: Database, company: Company, clock: Clock) -> None:
    async with database.transaction() as session:
        hana = await session.get(Employee, company.hr.id)
        assert hana is not None
        hana.set_roles([Role.EMPLOYEE])
        await escalations.open_escalation(session, company.alice, subject="Anyone?", message="Hello", now=clock.now)
    await run_until(scheduler(database, clock), clock, clock.now + timedelta(days=2), timedelta(hours=2))
    assert await messages(database, "hr_follow_up") == []

"""The demo company on SQLite and PostgreSQL: believable, complete, consistent, and safe to seed twice."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from pathlib import Path

from sqlalchemy import func, select

from actions.stock_search import find_item
from storage import demo, stock
from storage.database import Database
from storage.escalations import Escalation, EscalationStatus
from storage.holidays import PublicHoliday
from storage.leave import LeaveRequest, LeaveStatus
from storage.models import Base
from storage.payroll import Payslip, totals
from storage.people import LANGUAGES, ChatIdentity, Employee, Platform, Role
from storage.stock import StockItem, StockLevel
from storage.tickets import OPEN_STATUSES, Ticket

TODAY = date(2026, 11, 23)
NLU_README = Path(__file__).parents[2] / "nlu" / "data" / "README.md"
ZONE_AND_CALENDAR = {
    "en": ("Europe/London", "GB"),
    "ru": ("Europe/Moscow", "RU"),
    "uz": ("Asia/Tashkent", "UZ"),
    "az": ("Asia/Baku", "AZ"),
    "el": ("Europe/Athens", "GR"),
    "vi": ("Asia/Ho_Chi_Minh", "VN"),
}


def catalogue_names() -> set[str]:
    text = NLU_README.read_text(encoding="utf-8")
    section = text.split("## Stock catalogue", 1)[1].split("\n", 1)[1]
    return {name.strip().rstrip(".") for name in section.replace("\n", " ").split(",") if name.strip()}


async def seed(database: Database) -> demo.DemoSummary:
    async with database.transaction() as session:
        return await demo.seed_demo(session, today=TODAY)


async def row_counts(database: Database) -> dict[str, int]:
    async with database.sessions() as session:
        return {
            table.name: int(await session.scalar(select(func.count()).select_from(table)) or 0)
            for table in Base.metadata.sorted_tables
        }


def test_payslip_periods_and_lines_are_deterministic() -> None:
    assert demo.previous_periods(TODAY) == [f"2025-{m:02d}" for m in (11, 12)] + [f"2026-{m:02d}" for m in range(1, 11)]
    assert demo.previous_periods(date(2027, 1, 5), 2) == ["2026-11", "2026-12"]
    person = Employee(email="x@silkroad.example", name="X", department="Sales", job_title="Sales Representative", calendar="VN", manager_id=1, role_rows=[])
    assert demo.payslip_lines(person, "2026-03") == demo.payslip_lines(person, "2026-03")
    currency, lines = demo.payslip_lines(person, "2026-03")
    assert currency == "VND" and all(line.amount == line.amount.to_integral_value() for line in lines)


async def test_the_demo_company_is_complete_consistent_and_seeded_only_once(database: Database) -> None:
    # One test, because seeding costs seconds: check what the first run made, then that a second run adds nothing.
    summary = await seed(database)
    assert summary.created and 45 <= summary.employees <= 55 and 4 <= summary.departments <= 5
    assert "Silk Road Trading" in str(summary) and "oliver.bennett@silkroad.example" in str(summary)

    async with database.sessions() as session:
        staff = list(await session.scalars(select(Employee)))
        by_id = {e.id: e for e in staff}
        role_counts = Counter(role for e in staff for role in e.roles)
        assert set(role_counts) == set(Role)
        assert 2 <= role_counts[Role.HR] <= 3 and 2 <= role_counts[Role.IT_AGENT] <= 3
        assert role_counts[Role.STOCK_KEEPER] == 2 and role_counts[Role.ADMIN] == 1
        assert summary.managers == role_counts[Role.MANAGER] and summary.logins["admin"] == ["oliver.bennett@silkroad.example"]
        assert {e.language for e in staff} == set(LANGUAGES)
        for e in staff:
            assert (e.timezone, e.calendar) == ZONE_AND_CALENDAR[e.language], e.email
            assert re.fullmatch(r"[a-z]+\.[a-z]+@silkroad\.example", e.email), e.email
        tops = [e for e in staff if e.manager_id is None]
        assert len(tops) == 1 and all(by_id[e.manager_id].has_role(Role.MANAGER) for e in staff if e.manager_id)
        identities = list(await session.scalars(select(ChatIdentity)))
        assert {(i.platform, i.external_id) for i in identities} == {(Platform.CONSOLE, e.email) for e in staff}
        for calendar in {e.calendar for e in staff}:
            years = await session.scalars(select(PublicHoliday.day).where(PublicHoliday.calendar == calendar))
            assert {day.year for day in years} == {2026, 2027}, calendar

        payslips = list(await session.scalars(select(Payslip)))
        assert len(payslips) == summary.payslips == 12 * len(staff)
        per_person = Counter(p.employee_id for p in payslips)
        assert set(per_person.values()) == {12} and set(per_person) == set(by_id)
        assert {p.period for p in payslips} == set(demo.previous_periods(TODAY))
        for payslip in payslips:
            assert (payslip.gross, payslip.net) == totals(payslip.lines)
            assert 0 < payslip.net < payslip.gross and payslip.currency == demo.CURRENCY[by_id[payslip.employee_id].calendar]
        assert len({p.gross for p in payslips}) > 100, "pay varies between people and months"

        items = list(await session.scalars(select(StockItem)))
        assert {item.name for item in items} == catalogue_names() and len(items) == 45
        assert all(item.aliases and item.sku and item.unit and item.category for item in items)
        assert summary.locations >= 2 and 1 <= len(await stock.low_stock(session)) <= 10
        assert all(level.quantity > 0 for level in await session.scalars(select(StockLevel)))
        assert (await find_item(session, "hdmi cabel")).name == "HDMI cable"
        assert (await find_item(session, "A4 papers")).name == "A4 paper"

        open_tickets = list(await session.scalars(select(Ticket).where(Ticket.status.in_(OPEN_STATUSES))))
        assert len(open_tickets) == summary.tickets >= 3
        requests = list(await session.scalars(select(LeaveRequest)))
        assert {r.status for r in requests} == {LeaveStatus.PENDING, LeaveStatus.APPROVED}
        assert all(r.start_date > TODAY for r in requests) and len(requests) == summary.leave_requests
        cases = list(await session.scalars(select(Escalation)))
        assert [c.status for c in cases] == [EscalationStatus.OPEN]
        stamps = sorted((await session.execute(select(Employee.email, Employee.updated_at))).all())
    before = await row_counts(database)

    again = await seed(database)

    assert not again.created and "nothing added" in str(again)
    assert await row_counts(database) == before
    async with database.sessions() as session:
        assert sorted((await session.execute(select(Employee.email, Employee.updated_at))).all()) == stamps

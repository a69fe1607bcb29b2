"""The demo company, Silk Road Trading: people, holidays, supplies, a year of payslips and some work in progress.

Staff and stock come from the CSV files in `demo_data/` (the same formats the importers read); payslips are drawn
from a seeded `random.Random`, so every run produces the same figures. Everything goes through the rules
(`request_leave`, `publish_payslip`, `create_ticket`, `receive`, ...). Re-running is safe: rows are found by their
natural keys (email, SKU, location code, employee and period) and left alone; the work in progress (tickets, leave,
an HR case) is added only in the run that created the demo staff.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from sqlalchemy import distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import escalations, holidays, leave, payroll, people, stock, tickets
from storage.errors import InvalidRequest
from storage.escalations import Escalation
from storage.importers import import_employees, location_kind, read_stock
from storage.leave import LeaveRequest
from storage.payroll import LineInput, LineKind, Payslip
from storage.people import Employee, EmployeeRole, Role
from storage.stock import StockItem, StockLevel, StockLocation
from storage.tickets import Ticket

DATA = Path(__file__).with_name("demo_data")
EMPLOYEES_FILE = DATA / "employees.csv"
STOCK_FILE = DATA / "stock.csv"
COMPANY = "Silk Road Trading"
PAYSLIP_MONTHS = 12

CURRENCY = {"UZ": "UZS", "RU": "RUB", "AZ": "AZN", "GR": "EUR", "VN": "VND", "GB": "GBP"}
MONTHLY_BASE = {
    "UZS": Decimal(9_000_000),
    "RUB": Decimal(110_000),
    "AZN": Decimal(1_800),
    "EUR": Decimal(1_900),
    "VND": Decimal(22_000_000),
    "GBP": Decimal(3_300),
}
WHOLE_UNITS = frozenset({"UZS", "VND"})
"""Currencies whose payslips show no minor units in practice."""


@dataclass(frozen=True)
class DemoSummary:
    """Row counts after seeding, and a few people to log in as (console identity = email)."""

    created: bool
    employees: int
    departments: int
    managers: int
    items: int
    locations: int
    payslips: int
    tickets: int
    leave_requests: int
    escalations: int
    logins: dict[str, list[str]] = field(default_factory=dict)

    def __str__(self) -> str:
        state = "created" if self.created else "already present; nothing added"
        lines = [
            f"{COMPANY} ({state})",
            f"  {self.employees} employees in {self.departments} departments, {self.managers} managers",
            f"  {self.items} stock items in {self.locations} locations",
            f"  {self.payslips} payslips, {self.tickets} IT tickets, {self.leave_requests} leave requests, "
            f"{self.escalations} HR cases",
            "  log in as (console):",
        ]
        lines += [f"    {role:<13} {', '.join(emails)}" for role, emails in self.logins.items()]
        return "\n".join(lines)


async def seed_demo(session: AsyncSession, *, today: date) -> DemoSummary:
    """Fill the database with the demo company (inside the caller's transaction); safe to run again."""
    await leave.ensure_leave_types(session)
    report = await import_employees(session, EMPLOYEES_FILE, update_existing=False)
    staff = await _demo_staff(session)
    for employee in staff.values():
        await people.link_identity(session, employee, people.Platform.CONSOLE, employee.email)
    for calendar in sorted({e.calendar for e in staff.values() if e.calendar}):
        await holidays.load_calendar(session, calendar, [today.year, today.year + 1])
    keeper = _first_with(staff, Role.STOCK_KEEPER)
    await _seed_stock(session, keeper, today)
    await _seed_payslips(session, list(staff.values()), today)
    created = report.created == report.rows
    if created:
        await _seed_work_in_progress(session, staff, today)
    return await _summary(session, staff, created)


async def _demo_staff(session: AsyncSession) -> dict[str, Employee]:
    with EMPLOYEES_FILE.open(encoding="utf-8") as file:
        emails = [row["email"] for row in csv.DictReader(file)]
    found = {e.email: e for e in await session.scalars(select(Employee).where(Employee.email.in_(emails)))}
    return {email: found[email] for email in emails}


def _first_with(staff: dict[str, Employee], role: Role) -> Employee:
    return next(e for e in staff.values() if role in e.roles)


def _morning(day: date, hour: int = 9) -> datetime:
    return datetime.combine(day, time(hour))


# Stock -------------------------------------------------------------------------------------------------------------


async def _seed_stock(session: AsyncSession, keeper: Employee, today: date) -> None:
    rows = read_stock(STOCK_FILE)
    items = {i.sku: i for i in await session.scalars(select(StockItem).where(StockItem.sku.in_({r.sku for r in rows})))}
    codes = {r.location_code for r in rows}
    locations = {loc.code: loc for loc in await session.scalars(select(StockLocation).where(StockLocation.code.in_(codes)))}
    stocked = {
        (sku, code)
        for sku, code in await session.execute(
            select(StockItem.sku, StockLocation.code).select_from(StockLevel).join(StockItem).join(StockLocation)
        )
    }
    for row in rows:
        if row.sku not in items:
            items[row.sku] = StockItem(sku=row.sku, name=row.name, aliases=list(row.aliases), unit=row.unit, category=row.category)
            session.add(items[row.sku])
        if row.location_code not in locations:
            locations[row.location_code] = StockLocation(
                code=row.location_code, name=row.location_name, kind=location_kind(row.location_name)
            )
            session.add(locations[row.location_code])
    await session.flush()
    opened = _morning(today - timedelta(days=30), 8)
    for row in rows:
        if (row.sku, row.location_code) in stocked:
            continue
        level = await stock.receive(
            session, keeper, items[row.sku], locations[row.location_code], row.quantity, reason="Opening stock", now=opened
        )
        level.reorder_level = row.reorder_level or 0
    await session.flush()


# Payslips ----------------------------------------------------------------------------------------------------------


def previous_periods(today: date, months: int = PAYSLIP_MONTHS) -> list[str]:
    """The `months` months before today's month, oldest first, as YYYY-MM."""
    index = today.year * 12 + today.month - 1
    return [f"{i // 12}-{i % 12 + 1:02d}" for i in range(index - months, index)]


def _rounder(currency: str) -> Callable[[Decimal], Decimal]:
    step = Decimal(1) if currency in WHOLE_UNITS else Decimal("0.01")
    return lambda amount: max(amount, Decimal(0)).quantize(step, rounding=ROUND_HALF_UP)


def _grade(employee: Employee) -> Decimal:
    if employee.manager_id is None or employee.job_title.startswith("Chief"):
        return Decimal("3.5")
    if employee.has_role(Role.MANAGER):
        return Decimal("2.0")
    if employee.roles - {Role.EMPLOYEE} or "Developer" in employee.job_title:
        return Decimal("1.3")
    return Decimal("1.0")


def payslip_lines(employee: Employee, period: str) -> tuple[str, list[LineInput]]:
    """A believable month's pay for the employee, the same on every run."""
    currency = CURRENCY.get(employee.calendar, "USD")
    money = _rounder(currency)
    person = random.Random(f"salary:{employee.email}")
    base = money(MONTHLY_BASE.get(currency, Decimal(3000)) * _grade(employee) * Decimal(person.randint(85, 125)) / 100)
    year, month = (int(part) for part in period.split("-"))
    if month <= 3:
        base = money(base * Decimal("0.95"))  # the yearly raise lands in April
    month_rng = random.Random(f"payslip:{employee.email}:{period}")
    earnings = [LineInput(LineKind.EARNING, "Base salary", base)]
    if not employee.has_role(Role.MANAGER) and month_rng.random() < 0.2:
        earnings.append(LineInput(LineKind.EARNING, "Overtime", money(base * Decimal(month_rng.randint(3, 10)) / 100)))
    if employee.department == "Sales" and month_rng.random() < 0.6:
        earnings.append(LineInput(LineKind.EARNING, "Sales commission", money(base * Decimal(month_rng.randint(5, 30)) / 100)))
    elif month % 3 == 0 and month_rng.random() < 0.5:
        earnings.append(LineInput(LineKind.EARNING, "Quarterly bonus", money(base * Decimal(month_rng.randint(10, 25)) / 100)))
    if currency == "VND":
        earnings.append(LineInput(LineKind.EARNING, "Lunch allowance", Decimal(730_000)))
    gross = sum((line.amount for line in earnings), Decimal(0))
    return currency, earnings + _withholdings(employee.calendar, gross, base, money)


def _withholdings(calendar: str, gross: Decimal, base: Decimal, money: Callable[[Decimal], Decimal]) -> list[LineInput]:
    """Simplified national rates: close enough to look right, not payroll advice."""

    def pct(rate: str, of: Decimal) -> Decimal:
        return money(of * Decimal(rate) / 100)

    def tax(label: str, amount: Decimal) -> LineInput:
        return LineInput(LineKind.TAX, label, amount)

    def deduction(label: str, amount: Decimal) -> LineInput:
        return LineInput(LineKind.DEDUCTION, label, amount)

    if calendar == "UZ":
        return [tax("Personal income tax (12%)", pct("12", gross)), deduction("Pension savings, INPS (0.1%)", pct("0.1", gross))]
    if calendar == "RU":
        return [tax("Personal income tax, NDFL (13%)", pct("13", gross))]
    if calendar == "AZ":
        return [
            tax("Income tax (14%)", pct("14", gross - 200)),
            deduction("Social insurance (3%)", pct("3", gross)),
            deduction("Unemployment insurance (0.5%)", pct("0.5", gross)),
            deduction("Medical insurance (2%)", pct("2", gross)),
        ]
    if calendar == "GR":
        efka = pct("13.87", gross)
        return [deduction("EFKA social security (13.87%)", efka), tax("Income tax", money(pct("22", gross - efka) - 65))]
    if calendar == "VN":
        insurances = [
            deduction("Social insurance (8%)", pct("8", base)),
            deduction("Health insurance (1.5%)", pct("1.5", base)),
            deduction("Unemployment insurance (1%)", pct("1", base)),
        ]
        taxable = gross - 730_000 - sum((line.amount for line in insurances), Decimal(0)) - 11_000_000
        return [*insurances, tax("Personal income tax", pct("10", taxable))]
    if calendar == "GB":
        return [
            tax("Income tax, PAYE", pct("20", gross - Decimal("1047.50"))),
            deduction("National Insurance", pct("8", gross - 1048)),
            deduction("Workplace pension (5%)", pct("5", gross)),
        ]
    return [tax("Income tax (15%)", pct("15", gross))]


async def _seed_payslips(session: AsyncSession, staff: list[Employee], today: date) -> None:
    periods = previous_periods(today)
    published = set(
        await session.execute(
            select(Payslip.employee_id, Payslip.period).where(
                Payslip.employee_id.in_([e.id for e in staff]), Payslip.period.in_(periods)
            )
        )
    )
    # publish_payslip flushes on its own; without autoflush its lookup doesn't first flush the previous audit entry.
    with session.no_autoflush:
        for employee in staff:
            for period in periods:
                if (employee.id, period) in published:
                    continue
                currency, lines = payslip_lines(employee, period)
                year, month = (int(part) for part in period.split("-"))
                await payroll.publish_payslip(
                    session, employee, period=period, currency=currency, lines=lines, published_at=datetime(year, month, 25, 10)
                )
    await session.flush()


# Work in progress --------------------------------------------------------------------------------------------------

TICKETS = (
    # requester, category, priority, hours ago, description (in the requester's language), what IT did so far
    ("sergey.kuznetsov", "hardware", "high", 3, "Ноутбук не включается с утра, индикатор питания мигает оранжевым.", "in_progress"),
    ("maria.georgiou", "access", "normal", 27, "Χρειάζομαι πρόσβαση στο CRM για τους νέους πελάτες της Κύπρου.", "open"),
    ("an.nguyen", "network", "normal", 6, "VPN bị ngắt kết nối mỗi 10 phút khi tôi làm việc ở nhà.", "waiting_on_user"),
    ("otabek.qodirov", "software", "low", 20, "Excel har safar katta faylni ochganda yopilib qolyapti.", "open"),
    ("farid.jafarov", "hardware", "high", 1, "3-cü mərtəbədəki printerdə kağız ilişib, müştəri görüşündən əvvəl çap etməliyəm.", "assigned"),
    ("sophie.turner", "software", "normal", 4, "Please install Adobe Illustrator on my laptop for the new catalogue.", "open"),
)

LEAVE = (
    # employee, leave type, weeks from now, working days, decided by (None: stays pending), reason
    ("elena.smirnova", "annual", 2, 5, None, "Family visit"),
    ("charlotte.evans", "annual", 4, 5, None, "Christmas at home"),
    ("maria.georgiou", "annual", 5, 5, None, ""),
    ("tuan.le", "annual", 10, 5, None, "Tết with my family"),
    ("sardor.rashidov", "study", 14, 2, None, "Certification exam"),
    ("pavel.novikov", "annual", 3, 5, "dmitry.ivanov", "Ski trip"),
    ("aysel.guliyeva", "annual", 8, 4, "irina.lebedeva", ""),
    ("harry.collins", "annual", 4, 3, "rashad.aliyev", ""),
)


def _email(local: str) -> str:
    return f"{local}@silkroad.example"


async def _seed_work_in_progress(session: AsyncSession, staff: dict[str, Employee], today: date) -> None:
    now = _morning(today, 10)
    agents = [e for e in staff.values() if e.has_role(Role.IT_AGENT)]
    for requester, category, priority, hours_ago, text, progress in TICKETS:
        created_at = now - timedelta(hours=hours_ago)
        ticket = await tickets.create_ticket(
            session, staff[_email(requester)], description=text, category=category, priority=priority, now=created_at
        )
        agent = agents[ticket.id % len(agents)]
        later = created_at + timedelta(minutes=40)
        if progress == "assigned":
            await tickets.assign(session, agents[0], ticket.id, agent, now=later)
        elif progress in ("in_progress", "waiting_on_user"):
            await tickets.change_status(session, agent, ticket.id, tickets.TicketStatus.IN_PROGRESS, now=later)
            if progress == "waiting_on_user":
                await tickets.change_status(
                    session, agent, ticket.id, tickets.TicketStatus.WAITING_ON_USER,
                    comment="Which VPN client version do you have? A screenshot of the error would help.",
                    now=later + timedelta(minutes=20),
                )
    for local, kind, weeks, days, decider, reason in LEAVE:
        request = await _file_leave(session, staff[_email(local)], kind, today, weeks, days, reason)
        if decider is not None:
            await leave.decide(session, staff[_email(decider)], request.id, approve=True, comment="Enjoy!", now=now)
    # Sick leave needs no approval: filed for tomorrow, it is approved at once.
    await _file_leave(session, staff[_email("bekzod.nazarov")], "sick", today, 0, 2, "Flu", start=today + timedelta(days=1))
    case = await escalations.open_escalation(
        session,
        staff[_email("natalia.volkova")],
        subject="Relocation allowance",
        message="Здравствуйте! Я переезжаю в Ташкент в январе. Положена ли мне компенсация за переезд?",
        now=now - timedelta(hours=2),
    )
    assert case.status is escalations.EscalationStatus.OPEN


async def _file_leave(
    session: AsyncSession,
    employee: Employee,
    kind: str,
    today: date,
    weeks: int,
    days: int,
    reason: str,
    *,
    start: date | None = None,
) -> LeaveRequest:
    """File from the Monday `weeks` ahead; a week that is all public holidays moves the request one week on."""
    monday = today + timedelta(days=7 - today.weekday() + 7 * (weeks - 1))
    first = start or monday
    for shift in range(4):
        begin = first + timedelta(weeks=shift)
        end = begin + timedelta(days=days - 1)
        try:
            return await leave.request_leave(session, employee, leave_type=kind, start=begin, end=end, today=today, reason=reason)
        except InvalidRequest as error:
            if error.code != "no_working_days":
                raise
    raise InvalidRequest(f"No working days found for {employee.email}'s demo leave.", code="no_working_days")


# Summary -----------------------------------------------------------------------------------------------------------


async def _count(session: AsyncSession, column: object) -> int:
    return int(await session.scalar(select(func.count(column))) or 0)  # type: ignore[arg-type]


async def _summary(session: AsyncSession, staff: dict[str, Employee], created: bool) -> DemoSummary:
    logins: dict[str, list[str]] = {}
    for role in (Role.ADMIN, Role.HR, Role.MANAGER, Role.IT_AGENT, Role.STOCK_KEEPER):
        logins[role.value] = [e.email for e in staff.values() if role in e.roles][:3]
    logins[Role.EMPLOYEE.value] = [e.email for e in staff.values() if e.roles == {Role.EMPLOYEE}][:3]
    return DemoSummary(
        created=created,
        employees=await _count(session, Employee.id),
        departments=int(await session.scalar(select(func.count(distinct(Employee.department)))) or 0),
        managers=int(await session.scalar(select(func.count()).select_from(EmployeeRole).where(EmployeeRole.role == Role.MANAGER)) or 0),
        items=await _count(session, StockItem.id),
        locations=await _count(session, StockLocation.id),
        payslips=await _count(session, Payslip.id),
        tickets=await _count(session, Ticket.id),
        leave_requests=await _count(session, LeaveRequest.id),
        escalations=await _count(session, Escalation.id),
        logins=logins,
    )

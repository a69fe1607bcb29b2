"""Payslip rules on SQLite and PostgreSQL: who may read which payslip, periods, totals, audit, republishing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from storage import audit, payroll
from storage.database import Database
from storage.errors import InvalidRequest, NotFound, PermissionDenied
from storage.payroll import LineInput, LineKind, Payslip, PayslipLine
from storage.people import Employee
from tests.factories import Company

MARCH_LINES = [
    LineInput(LineKind.EARNING, "Base salary", Decimal("4200.00")),
    LineInput(LineKind.EARNING, "Overtime", Decimal("310.55")),
    LineInput(LineKind.DEDUCTION, "Pension", Decimal("225.53")),
    LineInput(LineKind.TAX, "Income tax", Decimal("676.58")),
]
APRIL_LINES = [
    LineInput(LineKind.EARNING, "Base salary", Decimal("4200.00")),
    LineInput(LineKind.TAX, "Income tax", Decimal("630.00")),
]


async def publish(database: Database, who: Employee, period: str, lines: list[LineInput], currency: str = "EUR") -> Payslip:
    async with database.transaction() as session:
        employee = await session.get(Employee, who.id)
        assert employee is not None
        return await payroll.publish_payslip(session, employee, period=period, currency=currency, lines=lines)


async def read(database: Database, viewer: Employee, **options: object) -> Payslip:
    async with database.transaction() as session:
        employee = await session.get(Employee, viewer.id)
        assert employee is not None
        return await payroll.read_payslip(session, employee, **options)  # type: ignore[arg-type]


@pytest.fixture
async def published(database: Database, company: Company) -> tuple[Payslip, Payslip]:
    march = await publish(database, company.alice, "2026-03", MARCH_LINES)
    april = await publish(database, company.alice, "2026-04", APRIL_LINES)
    return march, april


def test_totals_sum_earnings_and_subtract_deductions_and_taxes() -> None:
    gross, net = payroll.totals(MARCH_LINES)
    assert (gross, net) == (Decimal("4510.55"), Decimal("3608.44"))


def test_totals_accept_kinds_given_as_plain_strings() -> None:
    lines = [LineInput("earning", "Salary", Decimal(100)), LineInput("tax", "Tax", Decimal(12))]  # type: ignore[arg-type]
    assert payroll.totals(lines) == (Decimal(100), Decimal(88))


async def test_an_employee_reads_their_latest_payslip(database: Database, company: Company, published: tuple[Payslip, Payslip]) -> None:
    payslip = await read(database, company.alice)
    assert payslip.id == published[1].id and payslip.period == "2026-04"


async def test_an_employee_reads_a_given_period(database: Database, company: Company, published: tuple[Payslip, Payslip]) -> None:
    payslip = await read(database, company.alice, period="2026-03")
    assert payslip.id == published[0].id
    assert [line.label for line in payslip.lines] == ["Base salary", "Overtime", "Pension", "Income tax"]


async def test_amounts_come_back_as_consistent_decimals(database: Database, company: Company, published: tuple[Payslip, Payslip]) -> None:
    payslip = await read(database, company.alice, period="2026-03")
    assert isinstance(payslip.gross, Decimal) and isinstance(payslip.net, Decimal)
    assert all(isinstance(line.amount, Decimal) for line in payslip.lines)
    assert (payslip.gross, payslip.net) == (Decimal("4510.55"), Decimal("3608.44"))
    assert payroll.totals(payslip.lines) == (payslip.gross, payslip.net)
    assert payslip.currency == "EUR"


async def test_hr_reads_anyones_payslip(database: Database, company: Company, published: tuple[Payslip, Payslip]) -> None:
    payslip = await read(database, company.hr, employee_id=company.alice.id, period="2026-03")
    assert payslip.employee_id == company.alice.id and payslip.period == "2026-03"


@pytest.mark.parametrize("viewer", ["bob", "manager", "it_agent", "outsider"])
async def test_anyone_else_is_refused(database: Database, company: Company, published: tuple[Payslip, Payslip], viewer: str) -> None:
    with pytest.raises(PermissionDenied) as error:
        await read(database, getattr(company, viewer), employee_id=company.alice.id)
    assert error.value.code == "not_your_payslip"
    async with database.transaction() as session:
        someone = await session.get(Employee, getattr(company, viewer).id)
        with pytest.raises(PermissionDenied):
            await payroll.periods_of(session, someone, employee_id=company.alice.id)  # type: ignore[arg-type]


@pytest.mark.parametrize("period", ["2026-13", "2026-3", "March", "26-03", "2026-00", "2026-03-01", ""])
async def test_a_badly_written_period_is_refused(database: Database, company: Company, published: tuple[Payslip, Payslip], period: str) -> None:
    with pytest.raises(InvalidRequest) as error:
        await read(database, company.alice, period=period)
    assert error.value.code == "bad_period" and error.value.params["period"] == period


async def test_a_missing_period_is_not_found(database: Database, company: Company, published: tuple[Payslip, Payslip]) -> None:
    with pytest.raises(NotFound) as error:
        await read(database, company.alice, period="2025-12")
    assert error.value.code == "payslip_not_found" and error.value.params["period"] == "2025-12"


async def test_someone_without_payslips_is_told_so(database: Database, company: Company) -> None:
    with pytest.raises(NotFound) as error:
        await read(database, company.bob)
    assert error.value.code == "payslip_not_found" and error.value.params["period"] is None


async def test_every_read_is_audited_without_amounts(database: Database, company: Company, published: tuple[Payslip, Payslip]) -> None:
    await read(database, company.alice, period="2026-03")
    await read(database, company.hr, employee_id=company.alice.id, period="2026-03")
    async with database.sessions() as session:
        entries = await audit.entries_for(session, "payslip", published[0].id)
    views = [entry for entry in entries if entry.action == "payslip.viewed"]
    assert [entry.actor_id for entry in views] == [company.alice.id, company.hr.id]
    amounts = {"4200", "4200.00", "4510.55", "3608.44", "676.58", "225.53", "310.55"}
    for entry in entries:
        assert set(entry.details) <= {"employee_id", "period"}
        assert not amounts & {str(value) for value in entry.details.values()}


async def test_a_refused_read_is_not_audited_as_a_view(database: Database, company: Company, published: tuple[Payslip, Payslip]) -> None:
    with pytest.raises(PermissionDenied):
        await read(database, company.bob, employee_id=company.alice.id)
    async with database.sessions() as session:
        viewed = await session.scalar(select(func.count()).select_from(audit.AuditEntry).where(audit.AuditEntry.action == "payslip.viewed"))
    assert viewed == 0


async def test_republishing_a_period_replaces_it(database: Database, company: Company, published: tuple[Payslip, Payslip]) -> None:
    corrected = [LineInput(LineKind.EARNING, "Base salary", Decimal("4300.00")), LineInput(LineKind.TAX, "Income tax", Decimal("645.00"))]
    await publish(database, company.alice, "2026-03", corrected)
    payslip = await read(database, company.alice, period="2026-03")
    assert (payslip.gross, payslip.net) == (Decimal("4300.00"), Decimal("3655.00"))
    assert [line.label for line in payslip.lines] == ["Base salary", "Income tax"]
    async with database.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Payslip).where(Payslip.employee_id == company.alice.id)) == 2
        # The replaced payslip's lines went with it.
        assert await session.scalar(select(func.count()).select_from(PayslipLine)) == 4
        alice = await session.get(Employee, company.alice.id)
        assert await payroll.periods_of(session, alice) == ["2026-04", "2026-03"]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("currency", "lines", "code"),
    [
        ("eur", APRIL_LINES, "bad_currency"),
        ("EUR", [], "empty_payslip"),
        ("EUR", [LineInput(LineKind.EARNING, "Salary", Decimal("-1"))], "negative_amount"),
        ("EUR", [LineInput("bonus", "Salary", Decimal("1"))], "bad_line_kind"),  # type: ignore[arg-type]
    ],
)
async def test_invalid_payslips_are_not_published(database: Database, company: Company, currency: str, lines: list[LineInput], code: str) -> None:
    with pytest.raises(InvalidRequest) as error:
        await publish(database, company.alice, "2026-05", lines, currency=currency)
    assert error.value.code == code
    async with database.sessions() as session:
        assert await session.scalar(select(Payslip.id)) is None


async def test_line_kinds_given_as_strings_publish_the_right_totals(database: Database, company: Company) -> None:
    lines = [LineInput("earning", "Salary", Decimal("1000.00")), LineInput("deduction", "Canteen", Decimal("40.50"))]  # type: ignore[arg-type]
    await publish(database, company.bob, "2026-05", lines)
    payslip = await read(database, company.bob)
    assert (payslip.gross, payslip.net) == (Decimal("1000.00"), Decimal("959.50"))
    assert [line.kind for line in payslip.lines] == [LineKind.EARNING, LineKind.DEDUCTION]

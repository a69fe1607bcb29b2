"""CSV importers on SQLite and PostgreSQL: the happy paths, and bad files that change nothing and say where and why."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from actions.stock_search import find_item
from storage import importers, stock
from storage.audit import AuditEntry
from storage.database import Database
from storage.errors import InvalidRequest
from storage.importers import ImportFailed, ImportReport
from storage.payroll import Payslip, PayslipLine, totals
from storage.people import Employee, EmployeeRole, Role, find_by_email
from storage.stock import LocationKind, MovementKind, StockItem, StockLevel, StockLocation, StockMovement

FILES = Path(__file__).with_name("files")
Importer = Callable[..., Awaitable[ImportReport]]


async def run(database: Database, importer: Importer, name: str) -> ImportReport:
    async with database.transaction() as session:
        return await importer(session, FILES / name)


async def employee(database: Database, email: str) -> Employee:
    async with database.sessions() as session:
        found = await find_by_email(session, email)
        assert found is not None, email
        return found


async def snapshot(database: Database) -> dict[str, object]:
    """Row counts of everything an import can touch, and the values of one person a bad file tries to change."""
    async with database.sessions() as session:
        counts = {
            table.__name__: await session.scalar(select(func.count()).select_from(table))
            for table in (Employee, EmployeeRole, Payslip, PayslipLine, StockItem, StockLocation, StockLevel, StockMovement, AuditEntry)
        }
        ivan = await find_by_email(session, "ivan.petrov@acme.example")
        assert ivan is not None
        counts["ivan"] = (ivan.job_title, ivan.manager_id, ivan.timezone, ivan.roles, ivan.updated_at)
        payslip = await session.scalar(select(Payslip).where(Payslip.employee_id == ivan.id, Payslip.period == "2026-10"))
        counts["ivan_payslip"] = payslip and (payslip.id, payslip.gross, payslip.net)
        levels = await session.execute(select(StockLevel.id, StockLevel.quantity, StockLevel.reorder_level).order_by(StockLevel.id))
        counts["levels"] = list(levels)
        return counts


@pytest.fixture
async def staffed(database: Database) -> Database:
    await run(database, importers.import_employees, "employees.csv")
    return database


async def test_employees_are_created_with_managers_roles_and_settings(database: Database) -> None:
    report = await run(database, importers.import_employees, "employees.csv")
    assert (report.rows, report.created, report.updated, report.unchanged) == (5, 5, 0, 0)
    assert "5 created" in str(report)

    boss = await employee(database, "lola.boss@acme.example")
    kim = await employee(database, "kim.lead@acme.example")
    ivan = await employee(database, "ivan.petrov@acme.example")
    thu = await employee(database, "thu.nguyen@acme.example")
    nikos = await employee(database, "nikos.k@acme.example")
    assert boss.email == "lola.boss@acme.example" and boss.manager_id is None
    assert boss.roles == {Role.EMPLOYEE, Role.MANAGER, Role.HR}
    assert ivan.manager_id == kim.id, "a manager on a later row of the same file"
    assert (ivan.name, ivan.language, ivan.timezone, ivan.calendar) == ("Иван Петров", "ru", "Europe/Moscow", "RU")
    assert kim.calendar == "GB" and kim.manager_id == boss.id
    assert thu.roles == {Role.EMPLOYEE, Role.IT_AGENT, Role.STOCK_KEEPER} and thu.name == "Nguyễn Thị Thu"
    assert nikos.name == "Νίκος Κ., Jr." and nikos.calendar == ""


async def test_reimporting_updates_only_what_changed(staffed: Database) -> None:
    before = await employee(staffed, "kim.lead@acme.example")
    again = await run(staffed, importers.import_employees, "employees.csv")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 5)
    assert (await employee(staffed, "kim.lead@acme.example")).updated_at == before.updated_at

    report = await run(staffed, importers.import_employees, "employees_update.csv")
    assert (report.created, report.updated, report.unchanged) == (1, 1, 0)
    ivan = await employee(staffed, "ivan.petrov@acme.example")
    boss = await employee(staffed, "lola.boss@acme.example")
    assert ivan.job_title == "Senior Sales Representative" and ivan.manager_id == boss.id
    leyla = await employee(staffed, "leyla.m@acme.example")
    assert leyla.roles == {Role.EMPLOYEE, Role.HR} and leyla.timezone == "Asia/Baku"


async def test_payslips_are_grouped_by_person_and_period(staffed: Database) -> None:
    report = await run(staffed, importers.import_payslips, "payslips.csv")
    assert (report.rows, report.created, report.updated) == (8, 3, 0)
    ivan = await employee(staffed, "ivan.petrov@acme.example")
    kim = await employee(staffed, "kim.lead@acme.example")
    async with staffed.sessions() as session:
        september = await session.scalar(select(Payslip).where(Payslip.employee_id == ivan.id, Payslip.period == "2026-09"))
        october = await session.scalar(select(Payslip).where(Payslip.employee_id == kim.id, Payslip.period == "2026-10"))
    assert september is not None and october is not None
    assert [line.label for line in september.lines] == ["Оклад", "Премия", "НДФЛ 13%"]
    assert (september.currency, september.gross, september.net) == ("RUB", Decimal("135000.50"), Decimal("117450.43"))
    assert (october.currency, october.gross, october.net) == ("GBP", Decimal("4200.00"), Decimal("3317.34"))
    assert totals(october.lines) == (october.gross, october.net)

    again = await run(staffed, importers.import_payslips, "payslips.csv")
    assert (again.created, again.updated) == (0, 3)
    async with staffed.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Payslip)) == 3


async def test_stock_sets_counted_quantities_and_records_the_difference(database: Database) -> None:
    report = await run(database, importers.import_stock, "stock.csv")
    assert (report.rows, report.created) == (3, 3)
    async with database.sessions() as session:
        paper = await find_item(session, "copy paper")
        assert (paper.sku, paper.name, paper.unit, paper.aliases) == ("PAP-A4", "A4 paper", "ream", ["a4", "copy paper"])
        levels = {level.location.code: level for level in await stock.levels_of(session, paper)}
        assert (levels["SR-1"].quantity, levels["SR-1"].reorder_level, levels["WH-1"].quantity) == (40, 10, 300)
        assert levels["WH-1"].location.kind is LocationKind.WAREHOUSE and levels["SR-1"].location.kind is LocationKind.SUPPLY_ROOM
        assert [level.item.sku for level in await stock.low_stock(session)] == ["CBL-HDMI"]

    async with database.transaction() as session:
        keeper = Employee(email="kate@acme.example", name="Kate", role_rows=[])
        keeper.set_roles([Role.STOCK_KEEPER])
        session.add(keeper)
        await session.flush()
        hdmi = await find_item(session, "hdmi cabel")
        shelf = await stock.get_location(session, "SR-1")
        await stock.reserve(session, keeper, hdmi, shelf, 2)
    recount = await run(database, importers.import_stock, "stock.csv")
    assert (recount.created, recount.updated, recount.unchanged) == (0, 0, 3)
    async with database.sessions() as session:
        counts = list(await session.scalars(select(StockMovement).where(StockMovement.reason.like("stock count%"))))
    assert sorted((m.kind, m.quantity) for m in counts) == [(MovementKind.IN, 3), (MovementKind.IN, 40), (MovementKind.IN, 300)]


BAD_FILES = [
    (importers.import_employees, "employees_missing_column.csv", 1, "missing column(s) in the header: timezone"),
    (importers.import_employees, "employees_unknown_manager.csv", 3, "unknown manager nobody@acme.example"),
    (importers.import_employees, "employees_duplicate_email.csv", 4, "duplicate email new.person@acme.example (already on row 3)"),
    (importers.import_employees, "employees_unknown_role.csv", 3, "unknown role 'boss'"),
    (importers.import_employees, "employees_unknown_timezone.csv", 2, "unknown timezone 'Moscow Time'"),
    (importers.import_payslips, "payslips_bad_amount.csv", 3, "amount '12,5x' is not a number"),
    (importers.import_payslips, "payslips_bad_period.csv", 3, "period '11/2026' is not a month like 2026-10"),
    (importers.import_payslips, "payslips_unknown_currency.csv", 2, "unknown currency code 'RUR'"),
    (importers.import_stock, "stock_negative.csv", 3, "quantity -2 is negative"),
]


@pytest.mark.parametrize(("importer", "name", "row", "reason"), BAD_FILES, ids=[case[1] for case in BAD_FILES])
async def test_a_bad_row_names_row_and_reason_and_changes_nothing(
    staffed: Database, importer: Importer, name: str, row: int, reason: str
) -> None:
    await run(staffed, importers.import_payslips, "payslips.csv")
    await run(staffed, importers.import_stock, "stock.csv")
    before = await snapshot(staffed)

    with pytest.raises(ImportFailed) as failure:
        await run(staffed, importer, name)

    assert isinstance(failure.value, InvalidRequest) and failure.value.code == "import_failed"
    assert failure.value.row == row and reason in failure.value.reason
    assert str(failure.value).startswith(f"{name}, row {row}: ")
    assert await snapshot(staffed) == before


async def test_a_manager_loop_is_refused(staffed: Database, tmp_path: Path) -> None:
    loop = tmp_path / "loop.csv"
    loop.write_text(
        "email,name,department,job_title,manager_email,roles,language,timezone,calendar\n"
        "lola.boss@acme.example,Lola Boss,Management,Director,ivan.petrov@acme.example,manager;hr,uz,Asia/Tashkent,UZ\n",
        encoding="utf-8",
    )
    with pytest.raises(ImportFailed) as failure:
        async with staffed.transaction() as session:
            await importers.import_employees(session, loop)
    assert failure.value.row == 2 and "circle" in failure.value.reason
    assert (await employee(staffed, "lola.boss@acme.example")).manager_id is None


async def test_a_file_that_is_not_utf8_is_refused_as_a_whole(database: Database, tmp_path: Path) -> None:
    legacy = tmp_path / "cp1251.csv"
    legacy.write_bytes("email,name\nivan@acme.example,Иван\n".encode("cp1251"))
    with pytest.raises(ImportFailed) as failure:
        await run(database, importers.import_employees, str(legacy))
    assert failure.value.row is None and "not UTF-8" in failure.value.reason

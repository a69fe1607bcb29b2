"""Import employees, payslips and stock from CSV files, all or nothing.

Files are UTF-8 (a spreadsheet's byte-order mark is fine), comma-separated, with a header row naming the columns
in any order; extra columns are ignored and blank lines skipped. Row numbers in errors are the ones a spreadsheet
shows: the header is row 1.

employees: `email,name,department,job_title,manager_email,roles,language,timezone,calendar`
    One row per person; an existing email updates that person, a new one creates them. Required: email, name,
    language, timezone. `manager_email` may be empty (top of the company), an existing employee, or a row anywhere
    in the same file. `roles`: `;`-separated from employee, manager, hr, it_agent, stock_keeper, admin (everyone is
    an employee; empty means no extra role). `language`: en, ru, uz, az, el or vi. `timezone`: an IANA name such as
    Asia/Tashkent. `calendar`: a country code for public holidays (UZ, RU, AZ, GR, VN, GB, ...) or empty.
    Optional columns `slack_user_id` (U… or W…) and `telegram_user_id` (a number) link the person's chat account,
    replacing their earlier one on that platform; empty leaves the link as it is. An account already linked to
    someone else is refused (unlink it first).
payslips: `email,period,currency,kind,label,amount`
    One row per payslip line; the lines of one (email, period) form one payslip, which replaces any earlier one for
    that period. `period`: YYYY-MM. `currency`: an ISO 4217 code (UZS, EUR, ...), the same on every line of a
    payslip. `kind`: earning, deduction or tax. `amount`: a non-negative number with a dot and at most two decimals
    (1234.50), no thousands separators. Every payslip needs at least one earning.
stock: `sku,name,aliases,unit,category,location_code,location_name,quantity,reorder_level`
    One row per item and location; sets the counted quantity there (the difference is recorded as a stock movement).
    Required: sku, name, location_code, quantity. `aliases`: `;`-separated other names for search. `unit` defaults
    to pcs. A new location needs `location_name`; a name containing "warehouse" makes it a warehouse, otherwise a
    supply room. Rows repeating a SKU or location may leave its details empty but must not contradict them.
    `quantity` and `reorder_level` are whole numbers, not negative; the quantity can't go below what is reserved.

Every file is checked completely before anything is written, and the writes happen in a savepoint, so a bad row
(raised as `ImportFailed` with its row number and reason) leaves the caller's transaction as it was.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from zoneinfo import available_timezones

import holidays as holiday_calendars
from babel.core import get_global
from babel.numbers import get_territory_currencies
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit, linking, payroll
from storage.errors import InvalidRequest
from storage.people import LANGUAGES, ChatIdentity, Employee, Platform, Role
from storage.stock import LocationKind, MovementKind, StockItem, StockLevel, StockLocation, StockMovement

EMPLOYEE_COLUMNS = ("email", "name", "department", "job_title", "manager_email", "roles", "language", "timezone", "calendar")
ACCOUNT_COLUMNS = {"slack_user_id": Platform.SLACK, "telegram_user_id": Platform.TELEGRAM}
"""Optional employee columns: the person's chat account on each platform."""
ACCOUNT_FORMATS = {
    Platform.SLACK: (re.compile(r"^[UW][A-Z0-9]{2,30}$"), "a Slack member ID such as U04ABCDE12"),
    Platform.TELEGRAM: (re.compile(r"^[1-9][0-9]{0,15}$"), "a Telegram user id: a positive number such as 123456789"),
}
PAYSLIP_COLUMNS = ("email", "period", "currency", "kind", "label", "amount")
STOCK_COLUMNS = ("sku", "name", "aliases", "unit", "category", "location_code", "location_name", "quantity", "reorder_level")

EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")
DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")
WHOLE = re.compile(r"^-?\d+$")
MAX_MONEY = Decimal("1e14")


class ImportFailed(InvalidRequest):
    """A file that can't be imported: `row` is the spreadsheet row (header = 1), None for the file as a whole."""

    code = "import_failed"

    def __init__(self, reason: str, *, row: int | None, source: str = "") -> None:
        where = ", ".join(part for part in (source, f"row {row}" if row is not None else "") if part)
        super().__init__(f"{where}: {reason}" if where else reason, row=row, reason=reason, source=source)
        self.row = row
        self.reason = reason


@dataclass
class ImportReport:
    """What an import did; `created`/`updated`/`unchanged` count employees, payslips or stock levels."""

    kind: str
    source: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    notes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = (
            f"{self.source}: {self.rows} rows imported as {self.kind} — "
            f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged"
        )
        return "\n".join([text, *self.notes])


@dataclass(frozen=True)
class Row:
    number: int
    values: Mapping[str, str]

    def __getitem__(self, column: str) -> str:
        return self.values.get(column, "")


class Table:
    """A CSV file's rows as column → stripped text, with the columns checked against what is needed."""

    def __init__(self, path: Path, required_columns: Iterable[str]) -> None:
        self.source = path.name
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise ImportFailed("the file is not UTF-8 text (save it as 'CSV UTF-8')", row=None, source=self.source) from None
        except OSError as error:
            raise ImportFailed(f"can't read the file ({error.strerror})", row=None, source=self.source) from None
        records = list(csv.reader(io.StringIO(text, newline="")))
        if not records or not any(cell.strip() for cell in records[0]):
            raise ImportFailed("the file is empty; the first row must name the columns", row=1, source=self.source)
        header = [cell.strip().lower() for cell in records[0]]
        repeated = sorted({name for name in header if name and header.count(name) > 1})
        if repeated:
            raise ImportFailed(f"column(s) named twice in the header: {', '.join(repeated)}", row=1, source=self.source)
        missing = [column for column in required_columns if column not in header]
        if missing:
            raise ImportFailed(f"missing column(s) in the header: {', '.join(missing)}", row=1, source=self.source)
        self.rows: list[Row] = []
        for index, record in enumerate(records[1:], start=2):
            if not any(cell.strip() for cell in record):
                continue
            if len(record) > len(header) and any(cell.strip() for cell in record[len(header):]):
                raise self.fail(index, f"{len(record)} values but the header names {len(header)} columns (is a value with a comma missing its quotes?)")
            values = {name: cell.strip() for name, cell in zip(header, record, strict=False) if name}
            self.rows.append(Row(index, values))

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows)

    def fail(self, row: Row | int, reason: str) -> ImportFailed:
        return ImportFailed(reason, row=row if isinstance(row, int) else row.number, source=self.source)

    def required(self, row: Row, column: str) -> str:
        value = row[column]
        if not value:
            raise self.fail(row, f"{column} is empty")
        return value

    def whole_number(self, row: Row, column: str, *, default: int | None = None) -> int:
        text = row[column]
        if not text and default is not None:
            return default
        if not text:
            raise self.fail(row, f"{column} is empty")
        if not WHOLE.match(text):
            raise self.fail(row, f"{column} {text!r} is not a whole number")
        number = int(text)
        if number < 0:
            raise self.fail(row, f"{column} {text} is negative")
        return number

    def money(self, row: Row, column: str) -> Decimal:
        text = self.required(row, column)
        if not DECIMAL.match(text):
            raise self.fail(row, f"{column} {text!r} is not a number (write it like 1234.50: a dot, no thousands separators)")
        try:
            amount = Decimal(text)
        except InvalidOperation:  # pragma: no cover - the pattern already admits only plain decimals
            raise self.fail(row, f"{column} {text!r} is not a number") from None
        if amount < 0:
            raise self.fail(row, f"{column} {text} is negative")
        if amount != amount.quantize(Decimal("0.01")):
            raise self.fail(row, f"{column} {text} has more than two decimals")
        if amount >= MAX_MONEY:
            raise self.fail(row, f"{column} {text} is too large")
        return amount


def _email(table: Table, row: Row, column: str) -> str:
    email = row[column].lower()
    if email and not EMAIL.match(email):
        raise table.fail(row, f"{column} {row[column]!r} is not an email address")
    return email


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(";") if part.strip()]


@cache
def _timezones() -> frozenset[str]:
    return frozenset(available_timezones())


@cache
def _calendars() -> frozenset[str]:
    return frozenset(holiday_calendars.list_supported_countries())


@cache
def _currencies() -> frozenset[str]:
    """Codes legal tender somewhere today: Babel also knows retired ones such as RUR, which a payslip can't use."""
    return frozenset(code for territory in get_global("territory_currencies") for code in get_territory_currencies(territory))


# Employees ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EmployeeRow:
    row: int
    email: str
    name: str
    department: str
    job_title: str
    manager_email: str
    roles: frozenset[Role]
    language: str
    timezone: str
    calendar: str
    accounts: tuple[tuple[Platform, str], ...] = ()


def _accounts(table: Table, row: Row) -> tuple[tuple[Platform, str], ...]:
    accounts = []
    for column, platform in ACCOUNT_COLUMNS.items():
        value = row[column].upper() if platform is Platform.SLACK else row[column]
        if not value:
            continue
        pattern, what = ACCOUNT_FORMATS[platform]
        if not pattern.match(value):
            raise table.fail(row, f"{column} {row[column]!r} is not {what}")
        accounts.append((platform, value))
    return tuple(accounts)


def _employee_row(table: Table, row: Row) -> EmployeeRow:
    email = _email(table, row, "email")
    if not email:
        raise table.fail(row, "email is empty")
    roles = set()
    for name in _split(row["roles"]):
        try:
            roles.add(Role(name.lower()))
        except ValueError:
            raise table.fail(row, f"unknown role {name!r} (use {', '.join(r.value for r in Role)})") from None
    language = table.required(row, "language").lower()
    if language not in LANGUAGES:
        raise table.fail(row, f"unknown language {row['language']!r} (use {', '.join(LANGUAGES)})")
    timezone = table.required(row, "timezone")
    if timezone not in _timezones():
        raise table.fail(row, f"unknown timezone {timezone!r} (use an IANA name such as Asia/Tashkent)")
    calendar = row["calendar"].upper()
    if calendar and calendar not in _calendars():
        raise table.fail(row, f"unknown holiday calendar {row['calendar']!r} (use a country code such as UZ)")
    name = table.required(row, "name")
    for column, value, limit in (("name", name, 200), ("department", row["department"], 100), ("job_title", row["job_title"], 100)):
        if len(value) > limit:
            raise table.fail(row, f"{column} is longer than {limit} characters")
    return EmployeeRow(
        row=row.number,
        email=email,
        name=name,
        department=row["department"],
        job_title=row["job_title"],
        manager_email=_email(table, row, "manager_email"),
        roles=frozenset(roles | {Role.EMPLOYEE}),
        language=language,
        timezone=timezone,
        calendar=calendar,
        accounts=_accounts(table, row),
    )


async def _employees_by_email(session: AsyncSession, emails: Iterable[str]) -> dict[str, Employee]:
    wanted = sorted(set(emails))
    found: dict[str, Employee] = {}
    for start in range(0, len(wanted), 500):
        rows = await session.scalars(select(Employee).where(func.lower(Employee.email).in_(wanted[start : start + 500])))
        found.update({employee.email.lower(): employee for employee in rows})
    return found


async def _check_employees(session: AsyncSession, table: Table) -> tuple[list[EmployeeRow], dict[str, Employee]]:
    """Every row valid, every manager known, no duplicates or management loops; nothing written."""
    file_emails = {row["email"].lower() for row in table}
    existing = await _employees_by_email(session, file_emails | {row["manager_email"].lower() for row in table} - {""})
    parsed: list[EmployeeRow] = []
    first_seen: dict[str, int] = {}
    for row in table:
        person = _employee_row(table, row)
        if person.email in first_seen:
            raise table.fail(row, f"duplicate email {person.email} (already on row {first_seen[person.email]})")
        first_seen[person.email] = row.number
        if person.manager_email == person.email:
            raise table.fail(row, f"{person.email} can't be their own manager")
        if person.manager_email and person.manager_email not in file_emails and person.manager_email not in existing:
            raise table.fail(row, f"unknown manager {person.manager_email} (not an employee and not in this file)")
        parsed.append(person)
    await _check_no_management_loop(session, table, parsed)
    await _check_accounts(session, table, parsed)
    return parsed, existing


async def _check_no_management_loop(session: AsyncSession, table: Table, people: list[EmployeeRow]) -> None:
    everyone = (await session.execute(select(Employee.id, Employee.email, Employee.manager_id))).all()
    email_of = {employee_id: email.lower() for employee_id, email, _ in everyone}
    manager_of = {email.lower(): email_of.get(manager_id, "") if manager_id else "" for _, email, manager_id in everyone}
    manager_of.update({person.email: person.manager_email for person in people})
    for person in people:
        chain = [person.email]
        boss = person.manager_email
        while boss:
            if boss in chain:
                raise table.fail(person.row, f"managers go round in a circle: {' → '.join([*chain, boss])}")
            chain.append(boss)
            boss = manager_of.get(boss, "")


async def _check_accounts(session: AsyncSession, table: Table, people: list[EmployeeRow]) -> None:
    """A chat account belongs to one person: not two rows of the file, nor someone else already."""
    claimed: dict[tuple[Platform, str], EmployeeRow] = {}
    for person in people:
        for account in person.accounts:
            if account in claimed:
                raise table.fail(person.row, f"{account[0].value} user {account[1]} is also on row {claimed[account].row}")
            claimed[account] = person
    for platform in ACCOUNT_COLUMNS.values():
        ids = sorted(external_id for (where, external_id) in claimed if where is platform)
        for start in range(0, len(ids), 500):
            found = await session.execute(
                select(ChatIdentity.external_id, Employee.email)
                .join(Employee, Employee.id == ChatIdentity.employee_id)
                .where(ChatIdentity.platform == platform, ChatIdentity.external_id.in_(ids[start : start + 500]))
            )
            for external_id, email in found:
                person = claimed[platform, external_id]
                if email.lower() != person.email:
                    raise table.fail(
                        person.row,
                        f"{platform.value} user {external_id} is linked to {email} (first: backoffice unlink {email} {platform.value})",
                    )


def _assign(target: object, values: Mapping[str, object]) -> list[str]:
    """Set only what differs, so an unchanged row issues no UPDATE (and keeps its updated_at)."""
    changed = [name for name, value in values.items() if getattr(target, name) != value]
    for name in changed:
        setattr(target, name, values[name])
    return changed


async def import_employees(
    session: AsyncSession, path: str | Path, *, actor: Employee | None = None, update_existing: bool = True
) -> ImportReport:
    """Create or update employees from a CSV file; `update_existing=False` leaves people already present alone."""
    table = Table(Path(path), EMPLOYEE_COLUMNS)
    people, existing = await _check_employees(session, table)
    report = ImportReport("employees", table.source, rows=len(people))
    actor_id = actor.id if actor else None
    async with session.begin_nested():
        records: dict[str, Employee] = dict(existing)
        fresh: set[str] = set()
        for person in people:
            if person.email not in records:
                employee = Employee(email=person.email, name=person.name, role_rows=[])
                employee.set_roles(person.roles)
                session.add(employee)
                records[person.email] = employee
                fresh.add(person.email)
        await session.flush()
        for person in people:
            employee = records[person.email]
            if person.email not in fresh and not update_existing:
                report.unchanged += 1
                continue
            manager = records.get(person.manager_email)
            changed = _assign(
                employee,
                {
                    "name": person.name,
                    "department": person.department,
                    "job_title": person.job_title,
                    "manager_id": manager.id if manager else None,
                    "language": person.language,
                    "timezone": person.timezone,
                    "calendar": person.calendar,
                },
            )
            if employee.roles != person.roles:
                employee.set_roles(person.roles)
                changed.append("roles")
            for platform, external_id in person.accounts:
                if await linking.link(session, employee, platform, external_id, actor_id=actor_id, via=f"import {table.source}"):
                    changed.append(f"{platform.value}_user_id")
            if person.email in fresh:
                report.created += 1
                await audit.record(session, actor_id=actor_id, action="employee.imported", entity="employee", entity_id=employee.id, details={"created": True})
            elif changed:
                report.updated += 1
                await audit.record(session, actor_id=actor_id, action="employee.imported", entity="employee", entity_id=employee.id, details={"fields": sorted(changed)})
            else:
                report.unchanged += 1
        await session.flush()
    return report


# Payslips ----------------------------------------------------------------------------------------------------------


@dataclass
class PayslipGroup:
    row: int
    email: str
    period: str
    currency: str
    lines: list[payroll.LineInput] = field(default_factory=list)


def _payslip_groups(table: Table, known: Mapping[str, Employee]) -> list[PayslipGroup]:
    groups: dict[tuple[str, str], PayslipGroup] = {}
    for row in table:
        email = _email(table, row, "email")
        if not email:
            raise table.fail(row, "email is empty")
        if email not in known:
            raise table.fail(row, f"unknown employee {email}")
        period = table.required(row, "period")
        try:
            payroll.validate_period(period)
        except InvalidRequest:
            raise table.fail(row, f"period {period!r} is not a month like 2026-10 (YYYY-MM)") from None
        currency = table.required(row, "currency").upper()
        if currency not in _currencies():
            raise table.fail(row, f"unknown currency code {row['currency']!r} (use a current ISO 4217 code such as UZS, RUB, EUR)")
        kind_text = table.required(row, "kind").lower()
        try:
            kind = payroll.LineKind(kind_text)
        except ValueError:
            raise table.fail(row, f"unknown line kind {row['kind']!r} (use earning, deduction or tax)") from None
        label = table.required(row, "label")
        if len(label) > 100:
            raise table.fail(row, "label is longer than 100 characters")
        amount = table.money(row, "amount")
        group = groups.setdefault((email, period), PayslipGroup(row.number, email, period, currency))
        if group.currency != currency:
            raise table.fail(row, f"currency {currency} differs from {group.currency} on row {group.row} for the same payslip")
        group.lines.append(payroll.LineInput(kind=kind, label=label, amount=amount))
    for group in groups.values():
        if not any(line.kind is payroll.LineKind.EARNING for line in group.lines):
            raise table.fail(group.row, f"the payslip of {group.email} for {group.period} has no earning line")
    return list(groups.values())


async def import_payslips(session: AsyncSession, path: str | Path, *, actor: Employee | None = None) -> ImportReport:
    """Publish one payslip per (email, period) from its lines; a period already published is replaced."""
    table = Table(Path(path), PAYSLIP_COLUMNS)
    known = await _employees_by_email(session, {row["email"].lower() for row in table} - {""})
    groups = _payslip_groups(table, known)
    report = ImportReport("payslip lines", table.source, rows=len(table.rows))
    async with session.begin_nested():
        for group in groups:
            employee = known[group.email]
            published_before = await session.scalar(
                select(payroll.Payslip.id).where(payroll.Payslip.employee_id == employee.id, payroll.Payslip.period == group.period)
            )
            await payroll.publish_payslip(
                session, employee, period=group.period, currency=group.currency, lines=group.lines, actor_id=actor.id if actor else None
            )
            if published_before is None:
                report.created += 1
            else:
                report.updated += 1
    return report


# Stock -------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StockRow:
    row: int
    sku: str
    name: str
    aliases: tuple[str, ...]
    unit: str
    category: str
    location_code: str
    location_name: str
    quantity: int
    reorder_level: int | None


def _agree(table: Table, row: Row, what: str, seen: dict[str, tuple[int, str]], value: str) -> str:
    """Repeated SKUs/locations may leave details empty, but a value given must match the first one."""
    if what not in seen:
        seen[what] = (row.number, value)
        return value
    first_row, first = seen[what]
    if value and first and value != first:
        raise table.fail(row, f"{what} is {value!r} here but {first!r} on row {first_row}")
    if not first and value:
        seen[what] = (row.number, value)
    return value or first


def read_stock(path: str | Path) -> list[StockRow]:
    """Parse and check a stock file without touching the database."""
    table = Table(Path(path), STOCK_COLUMNS)
    parsed: list[StockRow] = []
    seen: dict[str, tuple[int, str]] = {}
    levels: dict[tuple[str, str], int] = {}
    for row in table:
        sku = table.required(row, "sku").upper()
        code = table.required(row, "location_code").upper()
        if (sku, code) in levels:
            raise table.fail(row, f"{sku} at {code} is already on row {levels[sku, code]}")
        levels[sku, code] = row.number
        quantity = table.whole_number(row, "quantity")
        reorder_level = table.whole_number(row, "reorder_level", default=-1)
        aliases = ";".join(_split(row["aliases"]))
        name = _agree(table, row, f"the name of {sku}", seen, row["name"])
        if not name:
            raise table.fail(row, "name is empty")
        for column, value, limit in (("sku", sku, 40), ("name", name, 120), ("unit", row["unit"], 20), ("category", row["category"], 60),
                                     ("location_code", code, 40), ("location_name", row["location_name"], 120)):
            if len(value) > limit:
                raise table.fail(row, f"{column} is longer than {limit} characters")
        parsed.append(
            StockRow(
                row=row.number,
                sku=sku,
                name=name,
                aliases=tuple(_split(_agree(table, row, f"the aliases of {sku}", seen, aliases))),
                unit=_agree(table, row, f"the unit of {sku}", seen, row["unit"]) or "pcs",
                category=_agree(table, row, f"the category of {sku}", seen, row["category"]),
                location_code=code,
                location_name=_agree(table, row, f"the name of location {code}", seen, row["location_name"]),
                quantity=quantity,
                reorder_level=None if reorder_level < 0 else reorder_level,
            )
        )
    # Later rows may have filled in a detail the first row left empty: give every row the settled values.
    return [
        replace(
            r,
            name=seen[f"the name of {r.sku}"][1],
            aliases=tuple(_split(seen[f"the aliases of {r.sku}"][1])),
            unit=seen[f"the unit of {r.sku}"][1] or "pcs",
            category=seen[f"the category of {r.sku}"][1],
            location_name=seen[f"the name of location {r.location_code}"][1],
        )
        for r in parsed
    ]


def location_kind(name: str) -> LocationKind:
    return LocationKind.WAREHOUSE if "warehouse" in name.casefold() else LocationKind.SUPPLY_ROOM


async def import_stock(session: AsyncSession, path: str | Path, *, actor: Employee | None = None) -> ImportReport:
    """Create or update items and locations, and set each listed quantity as counted."""
    source = Path(path).name
    rows = read_stock(path)
    items = {i.sku: i for i in await session.scalars(select(StockItem).where(StockItem.sku.in_({r.sku for r in rows})))}
    locations = {
        loc.code: loc
        for loc in await session.scalars(select(StockLocation).where(StockLocation.code.in_({r.location_code for r in rows})))
    }
    levels: dict[tuple[str, str], StockLevel] = {}
    if items and locations:
        found = await session.scalars(
            select(StockLevel).where(
                StockLevel.item_id.in_([i.id for i in items.values()]),
                StockLevel.location_id.in_([loc.id for loc in locations.values()]),
            )
        )
        levels = {(level.item.sku, level.location.code): level for level in found}
    for r in rows:
        if r.location_code not in locations and not r.location_name:
            raise ImportFailed(f"location {r.location_code} is new, so location_name can't be empty", row=r.row, source=source)
        level = levels.get((r.sku, r.location_code))
        if level is not None and r.quantity < level.reserved:
            raise ImportFailed(
                f"quantity {r.quantity} is below the {level.reserved} reserved for people at {r.location_code}", row=r.row, source=source
            )
    report = ImportReport("stock levels", source, rows=len(rows))
    actor_id = actor.id if actor else None
    async with session.begin_nested():
        for r in rows:
            item = items.get(r.sku)
            if item is None:
                item = items[r.sku] = StockItem(sku=r.sku, name=r.name, aliases=list(r.aliases), unit=r.unit, category=r.category)
                session.add(item)
            else:
                _assign(item, {"name": r.name, "aliases": list(r.aliases), "unit": r.unit, "category": r.category})
            location = locations.get(r.location_code)
            if location is None:
                location = locations[r.location_code] = StockLocation(
                    code=r.location_code, name=r.location_name, kind=location_kind(r.location_name)
                )
                session.add(location)
            elif r.location_name:
                _assign(location, {"name": r.location_name})
            await session.flush()
            level = levels.get((r.sku, r.location_code))
            if level is None:
                level = levels[r.sku, r.location_code] = StockLevel(
                    item_id=item.id, location_id=location.id, quantity=0, reserved=0, reorder_level=0
                )
                session.add(level)
                report.created += 1
                changed = True
            else:
                changed = False
            counted_before = level.quantity
            wanted = {"quantity": r.quantity} if r.reorder_level is None else {"quantity": r.quantity, "reorder_level": r.reorder_level}
            if _assign(level, wanted) and not changed:
                report.updated += 1
            elif not changed:
                report.unchanged += 1
            await session.flush()
            difference = r.quantity - counted_before
            if difference:
                await _record_count(session, actor_id, level, r, difference, source)
    return report


async def _record_count(
    session: AsyncSession, actor_id: int | None, level: StockLevel, row: StockRow, difference: int, source: str
) -> None:
    """A count that differs from the books is a movement in or out, like any other."""
    session.add(
        StockMovement(
            item_id=level.item_id,
            location_id=level.location_id,
            kind=MovementKind.IN if difference > 0 else MovementKind.OUT,
            quantity=abs(difference),
            actor_id=actor_id,
            reason=f"stock count imported from {source}"[:500],
        )
    )
    await audit.record(
        session,
        actor_id=actor_id,
        action="stock.counted",
        entity="stock_level",
        entity_id=level.id,
        details={"item": row.sku, "location": row.location_code, "quantity": row.quantity},
    )

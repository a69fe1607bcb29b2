"""A small company for tests: a manager with two reports, HR, IT, a stock keeper and an outsider."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from storage.holidays import PublicHoliday
from storage.people import Employee, Role

TEST_CALENDAR = "TEST"
TEST_HOLIDAY = date(2026, 12, 3)  # a Thursday


@dataclass
class Company:
    manager: Employee
    alice: Employee
    bob: Employee
    hr: Employee
    it_agent: Employee
    keeper: Employee
    outsider: Employee


def person(email: str, name: str, *roles: Role, manager: Employee | None = None, language: str = "en") -> Employee:
    employee = Employee(
        email=email,
        name=name,
        department="Test",
        job_title="Tester",
        manager_id=manager.id if manager else None,
        language=language,
        timezone="Asia/Tashkent",
        calendar=TEST_CALENDAR,
    )
    employee.set_roles(roles)
    return employee


async def make_company(session: AsyncSession) -> Company:
    manager = person("maria@example.com", "Maria Manager", Role.MANAGER)
    hr = person("hana@example.com", "Hana HR", Role.HR)
    other_manager = person("oleg@example.com", "Oleg Other", Role.MANAGER)
    session.add_all([manager, hr, other_manager])
    await session.flush()
    alice = person("alice@example.com", "Alice Able", manager=manager)
    bob = person("bob@example.com", "Bob Baker", manager=manager, language="ru")
    it_agent = person("ivan@example.com", "Ivan IT", Role.IT_AGENT, manager=other_manager)
    keeper = person("kate@example.com", "Kate Keeper", Role.STOCK_KEEPER, manager=other_manager)
    outsider = person("otto@example.com", "Otto Outsider", manager=other_manager)
    session.add_all([alice, bob, it_agent, keeper, outsider])
    session.add(PublicHoliday(calendar=TEST_CALENDAR, day=TEST_HOLIDAY, name="Test Day"))
    await session.flush()
    return Company(manager, alice, bob, hr, it_agent, keeper, outsider)

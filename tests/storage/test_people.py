"""People on SQLite and PostgreSQL: roles, chat identities, look-ups by role, manager and e-mail."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage import people
from storage.database import Database
from storage.errors import NotFound, PermissionDenied
from storage.people import ChatIdentity, Employee, EmployeeRole, Platform, Role
from tests.factories import Company, person


async def fetch(database: Database, employee: Employee) -> Employee:
    async with database.sessions() as session:
        found = await session.get(Employee, employee.id)
        assert found is not None
        return found


def test_every_employee_is_an_employee() -> None:
    plain = person("p@example.com", "Plain Person")
    assert plain.roles == {Role.EMPLOYEE}
    assert plain.has_role(Role.EMPLOYEE) and not plain.has_role(Role.HR, Role.MANAGER)


def test_set_roles_replaces_the_roles_and_accepts_strings() -> None:
    someone = person("s@example.com", "Some One", Role.HR)
    someone.set_roles(["manager", Role.IT_AGENT, "employee", "manager"])
    assert someone.roles == {Role.EMPLOYEE, Role.MANAGER, Role.IT_AGENT}
    assert len(someone.role_rows) == 2
    assert someone.has_role(Role.HR, Role.IT_AGENT) and not someone.has_role(Role.HR)
    someone.set_roles([])
    assert someone.roles == {Role.EMPLOYEE} and someone.role_rows == []


def test_an_unknown_role_is_refused() -> None:
    with pytest.raises(ValueError):
        person("s@example.com", "Some One").set_roles(["wizard"])


async def test_roles_survive_a_round_trip_and_removed_roles_are_deleted(database: Database, company: Company) -> None:
    assert (await fetch(database, company.hr)).roles == {Role.EMPLOYEE, Role.HR}
    async with database.transaction() as session:
        hr = await session.get(Employee, company.hr.id)
        assert hr is not None
        hr.set_roles([Role.MANAGER, Role.ADMIN])
    assert (await fetch(database, company.hr)).roles == {Role.EMPLOYEE, Role.MANAGER, Role.ADMIN}
    async with database.transaction() as session:
        hr = await session.get(Employee, company.hr.id)
        assert hr is not None
        hr.set_roles([Role.MANAGER])
    async with database.sessions() as session:
        rows = list(await session.scalars(select(EmployeeRole.role).where(EmployeeRole.employee_id == company.hr.id)))
    assert rows == [Role.MANAGER]


async def test_require_role_lets_admins_through(database: Database, company: Company) -> None:
    alice = await fetch(database, company.alice)
    with pytest.raises(PermissionDenied) as error:
        people.require_role(alice, Role.HR, action="read payslips")
    assert (error.value.code, error.value.params["roles"]) == ("role_required", ["hr"])
    alice.set_roles([Role.ADMIN])
    people.require_role(alice, Role.HR, action="read payslips")


async def test_a_chat_identity_points_at_its_employee(database: Database, company: Company) -> None:
    async with database.transaction() as session:
        alice = await session.get(Employee, company.alice.id)
        assert alice is not None
        await people.link_identity(session, alice, "slack", "U001")
        await people.link_identity(session, alice, Platform.TELEGRAM, "123456")
    async with database.sessions() as session:
        assert (await people.employee_for_identity(session, "slack", "U001")).id == company.alice.id  # type: ignore[union-attr]
        assert (await people.employee_for_identity(session, Platform.TELEGRAM, "123456")).id == company.alice.id  # type: ignore[union-attr]
        assert await people.employee_for_identity(session, "telegram", "U001") is None  # ids are per platform
        assert await people.employee_for_identity(session, "slack", "U999") is None
        assert {i.platform for i in await people.identities_of(session, company.alice.id)} == {Platform.SLACK, Platform.TELEGRAM}


async def test_relinking_a_chat_user_moves_it(database: Database, company: Company) -> None:
    async with database.transaction() as session:
        alice = await session.get(Employee, company.alice.id)
        bob = await session.get(Employee, company.bob.id)
        assert alice is not None and bob is not None
        first = await people.link_identity(session, alice, "slack", "U001")
        second = await people.link_identity(session, bob, "slack", "U001")
    assert first.id == second.id
    async with database.sessions() as session:
        assert (await people.employee_for_identity(session, "slack", "U001")).id == company.bob.id  # type: ignore[union-attr]
        assert len(list(await session.scalars(select(ChatIdentity)))) == 1


async def test_an_inactive_employee_is_not_found_by_chat_identity(database: Database, company: Company) -> None:
    async with database.transaction() as session:
        alice = await session.get(Employee, company.alice.id)
        assert alice is not None
        await people.link_identity(session, alice, "slack", "U001")
        alice.active = False
    async with database.sessions() as session:
        assert await people.employee_for_identity(session, "slack", "U001") is None


async def test_with_role_lists_active_holders_of_the_role(database: Database, company: Company) -> None:
    async with database.transaction() as session:
        second_manager = await session.get(Employee, company.hr.id)
        assert second_manager is not None
        second_manager.set_roles([Role.HR, Role.MANAGER])
        session.add(person("gone@example.com", "Gone Manager", Role.MANAGER))
        await session.flush()
        gone = await people.find_by_email(session, "gone@example.com")
        assert gone is not None
        gone.active = False
    async with database.sessions() as session:
        managers = [e.email for e in await people.with_role(session, Role.MANAGER)]
        keepers = [e.id for e in await people.with_role(session, Role.STOCK_KEEPER)]
        everyone = await people.with_role(session, Role.EMPLOYEE)
    assert managers == ["maria@example.com", "hana@example.com", "oleg@example.com"]
    assert keepers == [company.keeper.id]
    assert len(everyone) == 8 and "gone@example.com" not in {e.email for e in everyone}


async def test_direct_reports_are_the_active_people_reporting_to_a_manager(database: Database, company: Company) -> None:
    async with database.transaction() as session:
        manager = await session.get(Employee, company.manager.id)
        assert manager is not None
        session.add(person("left@example.com", "Aaron Left", manager=manager))
        await session.flush()
        left = await people.find_by_email(session, "left@example.com")
        assert left is not None
        left.active = False
    async with database.sessions() as session:
        reports = await people.direct_reports(session, company.manager.id)
        assert await people.direct_reports(session, company.alice.id) == []
    assert [e.name for e in reports] == ["Alice Able", "Bob Baker"]


async def test_find_by_email_ignores_case_and_spaces(database: Database, company: Company) -> None:
    async with database.sessions() as session:
        assert (await people.find_by_email(session, "  Alice@Example.COM ")).id == company.alice.id  # type: ignore[union-attr]
        assert await people.find_by_email(session, "nobody@example.com") is None


async def test_get_employee_by_id(database: Database, company: Company) -> None:
    async with database.sessions() as session:
        assert (await people.get_employee(session, company.bob.id)).language == "ru"
        with pytest.raises(NotFound) as error:
            await people.get_employee(session, 99_999)
    assert error.value.code == "employee_not_found"


async def test_the_directory_lists_active_people_without_loading_them(database: Database, company: Company) -> None:
    async with database.transaction() as session:
        otto = await session.get(Employee, company.outsider.id)
        assert otto is not None
        otto.active = False
    async with database.sessions() as session:
        entries = await people.directory(session)
    assert (company.alice.id, "Alice Able", "alice@example.com") in entries
    assert all(employee_id != company.outsider.id for employee_id, _, _ in entries)
    assert len(entries) == 7  # the company's eight people less the one who left

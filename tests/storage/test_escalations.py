"""HR escalation rules on SQLite and PostgreSQL: opening, replies both ways, who may read, closing."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from storage import audit, escalations
from storage.database import Database
from storage.errors import Conflict, InvalidRequest, NotFound, PermissionDenied
from storage.escalations import Direction, Escalation, EscalationMessage, EscalationStatus
from storage.people import Employee
from tests.factories import Company

NOW = datetime(2026, 11, 23, 9, 0)


async def open_case(database: Database, who: Employee, subject: str = "Question about my contract", message: str = "Can we talk?") -> Escalation:
    async with database.transaction() as session:
        employee = await session.get(Employee, who.id)
        assert employee is not None
        return await escalations.open_escalation(session, employee, subject=subject, message=message, now=NOW)


async def reply(database: Database, who: Employee, case: Escalation, text: str, minutes: int = 5) -> EscalationMessage:
    async with database.transaction() as session:
        author = await session.get(Employee, who.id)
        assert author is not None
        return await escalations.reply(session, author, case.id, text, now=NOW + timedelta(minutes=minutes))


async def close(database: Database, who: Employee, case: Escalation) -> Escalation:
    async with database.transaction() as session:
        actor = await session.get(Employee, who.id)
        assert actor is not None
        return await escalations.close(session, actor, case.id, now=NOW + timedelta(hours=1))


async def view(database: Database, who: Employee, case: Escalation) -> Escalation:
    async with database.sessions() as session:
        viewer = await session.get(Employee, who.id)
        assert viewer is not None
        return await escalations.get_escalation(session, viewer, case.id)


async def test_opening_a_case_keeps_the_first_message(database: Database, company: Company) -> None:
    case = await open_case(database, company.alice)
    assert case.status is EscalationStatus.OPEN and case.employee_id == company.alice.id
    assert case.subject == "Question about my contract" and case.assigned_hr_id is None and case.created_at == NOW
    assert [(m.author_id, m.direction, m.text) for m in case.messages] == [(company.alice.id, Direction.TO_HR, "Can we talk?")]
    async with database.sessions() as session:
        assert [entry.action for entry in await audit.entries_for(session, "escalation", case.id)] == ["escalation.opened"]
        alice = await session.get(Employee, company.alice.id)
        assert [c.id for c in await escalations.open_escalations(session, employee=alice)] == [case.id]
        assert [c.id for c in await escalations.open_escalations(session)] == [case.id]


async def test_a_case_may_open_without_a_message_but_not_without_a_subject(database: Database, company: Company) -> None:
    assert (await open_case(database, company.alice, message="")).messages == []
    with pytest.raises(InvalidRequest) as error:
        await open_case(database, company.alice, subject="  ")
    assert error.value.code == "empty_message"


async def test_replies_go_both_ways_and_the_first_hr_reply_takes_the_case(database: Database, company: Company) -> None:
    case = await open_case(database, company.alice)
    answer = await reply(database, company.hr, case, "Of course, when suits you?", minutes=5)
    assert answer.direction is Direction.TO_EMPLOYEE and answer.author_id == company.hr.id
    back = await reply(database, company.alice, case, "Tomorrow at ten", minutes=10)
    assert back.direction is Direction.TO_HR
    found = await view(database, company.alice, case)
    assert found.assigned_hr_id == company.hr.id and found.updated_at == NOW + timedelta(minutes=10)
    assert [m.text for m in found.messages] == ["Can we talk?", "Of course, when suits you?", "Tomorrow at ten"]
    async with database.sessions() as session:
        entries = await audit.entries_for(session, "escalation", case.id)
    assert [(e.action, e.details) for e in entries[1:]] == [
        ("escalation.replied", {"direction": "to_employee"}),
        ("escalation.replied", {"direction": "to_hr"}),
    ]


async def test_a_later_hr_reply_leaves_the_case_with_whoever_took_it(database: Database, company: Company) -> None:
    case = await open_case(database, company.alice)
    async with database.transaction() as session:
        second = await session.get(Employee, company.outsider.id)
        assert second is not None
        second.set_roles(["hr"])
    await reply(database, company.hr, case, "I'll take this")
    await reply(database, company.outsider, case, "Adding myself", minutes=6)
    assert (await view(database, company.alice, case)).assigned_hr_id == company.hr.id


async def test_an_empty_reply_is_refused(database: Database, company: Company) -> None:
    case = await open_case(database, company.alice)
    with pytest.raises(InvalidRequest) as error:
        await reply(database, company.hr, case, " \n ")
    assert error.value.code == "empty_message"


@pytest.mark.parametrize("outsider", ["bob", "manager", "it_agent", "outsider"])
async def test_only_the_employee_and_hr_see_a_case(database: Database, company: Company, outsider: str) -> None:
    case = await open_case(database, company.alice)
    someone = getattr(company, outsider)
    with pytest.raises(PermissionDenied) as error:
        await view(database, someone, case)
    assert error.value.code == "not_your_escalation"
    with pytest.raises(PermissionDenied):
        await reply(database, someone, case, "let me in")
    with pytest.raises(PermissionDenied):
        await close(database, someone, case)
    found = await view(database, company.hr, case)
    assert found.status is EscalationStatus.OPEN and len(found.messages) == 1


async def test_an_unknown_case_is_not_found(database: Database, company: Company) -> None:
    with pytest.raises(NotFound) as error:
        await view(database, company.hr, Escalation(id=4242))
    assert error.value.code == "escalation_not_found"


@pytest.mark.parametrize("closer", ["hr", "alice"])
async def test_a_closed_case_takes_no_more_replies(database: Database, company: Company, closer: str) -> None:
    case = await open_case(database, company.alice)
    closed = await close(database, getattr(company, closer), case)
    assert closed.status is EscalationStatus.CLOSED and closed.closed_at == NOW + timedelta(hours=1)
    for author in (company.alice, company.hr):
        with pytest.raises(Conflict) as error:
            await reply(database, author, case, "one more thing")
        assert error.value.code == "escalation_closed"
    assert len((await view(database, company.hr, case)).messages) == 1
    async with database.sessions() as session:
        assert await escalations.open_escalations(session) == []
        assert (await audit.entries_for(session, "escalation", case.id))[-1].action == "escalation.closed"


async def test_closing_twice_is_a_conflict(database: Database, company: Company) -> None:
    case = await open_case(database, company.alice)
    await close(database, company.hr, case)
    with pytest.raises(Conflict) as error:
        await close(database, company.alice, case)
    assert error.value.code == "escalation_closed"
    assert (await view(database, company.hr, case)).closed_at == NOW + timedelta(hours=1)

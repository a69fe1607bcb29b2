"""Who is off in my team: a manager sees their reports' approved and pending leave, with its type; anyone else sees
only teammates' approved time off (no type, nothing pending); someone with no team on record is told so.

Maria Manager has Alice (English) and Bob (Russian); Otto Outsider has another manager. Today is Monday 23 Nov 2026.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from actions.i18n import Translator
from actions.leave import span
from actions.replies import Reply, Table
from storage import leave
from storage.database import Database
from storage.leave import LeaveRequest
from storage.people import Employee
from tests.conversations.conftest import Chat
from tests.conversations.test_approvals import TODAY, file_leave
from tests.factories import Company

EN, RU, EL = Translator("en"), Translator("ru"), Translator("el")
NEXT_WEEK = (date(2026, 11, 30), date(2026, 12, 4))


async def approve(database: Database, decider: Employee, request: LeaveRequest) -> None:
    async with database.transaction() as session:
        fresh = await session.get(Employee, decider.id)
        assert fresh is not None
        await leave.decide(session, fresh, request.id, approve=True)


def the_table(replies: list[Reply]) -> Table:
    tables = [block for reply in replies for block in reply.blocks if isinstance(block, Table)]
    assert len(tables) == 1, tables
    return tables[0]


async def _team_with_leave(database: Database, company: Company) -> None:
    """Alice: approved annual leave next week and in January; Bob: a pending request overlapping next week;
    Otto (another team): approved leave next week."""
    alice_next = await file_leave(database, company.alice, date(2026, 11, 30), date(2026, 12, 2))
    await approve(database, company.manager, alice_next)
    await file_leave(database, company.alice, date(2027, 1, 11), date(2027, 1, 12))
    await file_leave(database, company.bob, date(2026, 12, 3), date(2026, 12, 8))
    otto = await file_leave(database, company.outsider, date(2026, 11, 30), date(2026, 12, 1))
    async with database.sessions() as session:
        oleg = await session.scalar(select(Employee).where(Employee.email == "oleg@example.com"))
    assert oleg is not None
    await approve(database, oleg, otto)


async def test_manager_sees_who_is_off_next_week_with_type_and_status(chat: Chat, company: Company, database: Database) -> None:
    await _team_with_leave(database, company)

    said = await chat.say(company.manager, "who's off in my team next week?")
    assert said.replies[0].text == f"Off in your team, {span(EN, *NEXT_WEEK, today=TODAY)}:"
    assert said.replies[0].private
    table = the_table(said.replies)
    assert table.header == ("Who", "Dates", "Type", "Status")
    assert [row[0] for row in table.rows] == ["Alice Able", "Bob Baker"]  # not Otto (another team), not January
    assert table.rows[0][1:] == (span(EN, date(2026, 11, 30), date(2026, 12, 2), today=TODAY), "Annual leave", EN("leave.status.approved"))
    assert table.rows[1][1:] == (span(EN, date(2026, 12, 3), date(2026, 12, 8), today=TODAY), "Annual leave", EN("leave.status.pending"))


async def test_employee_sees_only_teammates_approved_time_off_in_russian(chat: Chat, company: Company, database: Database) -> None:
    await _team_with_leave(database, company)

    said = await chat.say(company.bob, "кто из команды в отпуске на следующей неделе?")
    assert said.replies[0].text.startswith(f"Одобренные отсутствия в вашей команде, {span(RU, *NEXT_WEEK, today=TODAY)}.")
    assert "Вид отпуска и ещё не рассмотренные заявки видит только ваш руководитель." in said.replies[0].text
    assert said.replies[0].private  # colleagues' absences never go to a group
    table = the_table(said.replies)
    assert table.header == ("Кто", RU("leave.col.dates"))  # no type, no status
    assert table.rows == (("Alice Able", span(RU, date(2026, 11, 30), date(2026, 12, 2), today=TODAY)),)


async def test_employee_with_a_quiet_team_and_someone_with_no_team_in_greek(chat: Chat, company: Company, database: Database) -> None:
    await file_leave(database, company.alice, date(2026, 11, 30), date(2026, 12, 2))  # pending: not for Otto's eyes anyway

    said = await chat.say(company.outsider, "ποιος λείπει από την ομάδα μου την επόμενη εβδομάδα;")
    assert said.text == f"Κανείς στην ομάδα σας δεν έχει εγκεκριμένη άδεια ({span(EL, *NEXT_WEEK, today=TODAY)})."

    said = await chat.say(company.hr, "ποιος λείπει αυτή την εβδομάδα;")
    assert said.text == EL("team_absence.no_team")
    assert not said.replies[0].blocks


async def test_manager_with_nobody_off_this_month(chat: Chat, company: Company) -> None:
    said = await chat.say(company.manager, "who is off this month")
    assert said.text == f"Nobody in your team is off {span(EN, TODAY, date(2026, 11, 30), today=TODAY)}: no approved or pending leave."

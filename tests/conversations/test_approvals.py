"""Approvals in chat: a manager (or HR) lists what waits, decides by button or by text; the requester hears back.

Maria Manager decides for Alice (English) and Bob (Russian); Otto Outsider has another manager.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from actions.i18n import Translator
from actions.leave import span
from storage import leave
from storage.audit import AuditEntry
from storage.database import Database
from storage.leave import LeaveBalance, LeaveRequest, LeaveStatus
from storage.people import Employee
from tests.conversations.conftest import Chat
from tests.factories import Company

TODAY = date(2026, 11, 23)
# Dates in the expected texts come from the same formatter (Babel's locale data), so a CLDR update that changes an
# abbreviation changes both sides.
RU, EL = Translator("ru"), Translator("el")


async def file_leave(database: Database, employee: Employee, start: date, end: date, kind: str = "annual") -> LeaveRequest:
    async with database.transaction() as session:
        fresh = await session.get(Employee, employee.id)
        assert fresh is not None
        return await leave.request_leave(session, fresh, leave_type=kind, start=start, end=end, today=TODAY)


async def request_row(database: Database, request_id: int) -> LeaveRequest:
    async with database.sessions() as session:
        found = await session.get(LeaveRequest, request_id)
        assert found is not None
        return found


async def decisions_recorded(database: Database, request_id: int) -> int:
    async with database.sessions() as session:
        return int(
            await session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(
                    AuditEntry.entity == "leave_request",
                    AuditEntry.entity_id == str(request_id),
                    AuditEntry.action.in_(("leave.approved", "leave.rejected")),
                )
            )
            or 0
        )


async def annual_balance(database: Database, employee: Employee) -> tuple[Decimal, Decimal]:
    async with database.sessions() as session:
        row = await session.scalar(
            select(LeaveBalance).where(
                LeaveBalance.employee_id == employee.id, LeaveBalance.leave_type == "annual", LeaveBalance.year == 2026
            )
        )
        assert row is not None
        return row.taken, row.pending


async def test_manager_approves_by_button_and_a_second_click_changes_nothing(
    chat: Chat, company: Company, database: Database
) -> None:
    await chat.say(company.bob, "отпуск с 14 по 18 декабря")
    await chat.say(company.bob, "да")
    [asked] = await chat.inbox(company.manager)
    request_id = int(asked.buttons[0].payload.rsplit(":", 1)[1])

    said = await chat.press(company.manager, "Approve")
    assert said.text == "Approved: Bob Baker, annual leave, Mon 14 Dec – Fri 18 Dec. I've let them know."
    assert said.replies[0].replaces_source

    # Bob reads Russian: the answer reaches him in his language.
    [answer] = await chat.inbox(company.bob)
    assert answer.text == (
        f"Хорошие новости: заявка №{request_id} на ежегодный отпуск, {span(RU, date(2026, 12, 14), date(2026, 12, 18))} (5 рабочих дней), "
        "одобрена. Решение: Maria Manager."
    )

    said = await chat.press_payload(company.manager, f"leave:approve:{request_id}")
    assert "was already approved by Maria Manager. Nothing changed." in said.text
    assert said.replies[0].replaces_source
    said = await chat.press_payload(company.manager, f"leave:reject:{request_id}")
    assert "was already approved by Maria Manager" in said.text

    decided = await request_row(database, request_id)
    assert (decided.status, decided.approver_id) == (LeaveStatus.APPROVED, company.manager.id)
    assert await decisions_recorded(database, request_id) == 1
    assert await annual_balance(database, company.bob) == (Decimal(5), Decimal(0))
    assert len(await chat.inbox(company.bob)) == 1


async def test_manager_lists_pending_requests_with_buttons_in_greek(chat: Chat, company: Company, database: Database) -> None:
    first = await file_leave(database, company.alice, date(2026, 12, 14), date(2026, 12, 18))
    second = await file_leave(database, company.bob, date(2026, 12, 1), date(2026, 12, 4))
    await file_leave(database, company.outsider, date(2026, 12, 7), date(2026, 12, 7))  # another manager's report

    said = await chat.say(company.manager, "τι έχω να εγκρίνω;")
    assert "Περιμένουν την απόφασή σας: 2." in said.text
    assert f"#{first.id} Alice Able: κανονική άδεια, {span(EL, date(2026, 12, 14), date(2026, 12, 18))} (5 εργάσιμες ημέρες)." in said.text
    assert f"#{second.id} Bob Baker: κανονική άδεια, {span(EL, date(2026, 12, 1), date(2026, 12, 4))} (3 εργάσιμες ημέρες)." in said.text
    assert [button.payload for button in said.buttons] == [
        f"leave:approve:{first.id}",
        f"leave:reject:{first.id}",
        f"leave:approve:{second.id}",
        f"leave:reject:{second.id}",
    ]
    assert said.buttons[0].label == "Έγκριση"
    assert (await request_row(database, first.id)).status is LeaveStatus.PENDING


async def test_reject_by_text_with_a_comment_in_english_and_uzbek(chat: Chat, company: Company, database: Database) -> None:
    first = await file_leave(database, company.alice, date(2026, 12, 14), date(2026, 12, 18))
    second = await file_leave(database, company.bob, date(2026, 12, 7), date(2026, 12, 8))

    said = await chat.say(company.manager, f"reject {first.id} overlaps the audit")
    assert said.text == (
        "Rejected: Alice Able, annual leave, Mon 14 Dec – Fri 18 Dec. I've let them know. Comment: “overlaps the audit”"
    )
    rejected = await request_row(database, first.id)
    assert (rejected.status, rejected.decision_comment) == (LeaveStatus.REJECTED, "overlaps the audit")
    [told] = await chat.inbox(company.alice)
    assert told.text == (
        f"Your request #{first.id} for annual leave, Mon 14 Dec – Fri 18 Dec (5 working days) was rejected by "
        "Maria Manager. Comment: “overlaps the audit”"
    )
    assert await annual_balance(database, company.alice) == (Decimal(0), Decimal(0))

    said = await chat.say(company.manager, f"rad et {second.id}, audit bilan to'g'ri keladi")
    assert said.text.startswith("Rad etildi: Bob Baker, yillik ta’til")
    assert "Izoh: “audit bilan to'g'ri keladi”" in said.text
    assert (await request_row(database, second.id)).status is LeaveStatus.REJECTED


async def test_someone_who_is_not_the_manager_cannot_decide(chat: Chat, company: Company, database: Database) -> None:
    request = await file_leave(database, company.alice, date(2026, 12, 14), date(2026, 12, 18))

    said = await chat.say(company.outsider, f"approve {request.id}")
    assert f"Only the employee's manager or HR can decide on request #{request.id}." in said.text
    said = await chat.press_payload(company.bob, f"leave:approve:{request.id}")  # a colleague, in his Russian
    assert said.text == f"Решение по заявке №{request.id} может принять только руководитель сотрудника или отдел кадров."
    said = await chat.say(company.alice, f"εγκρίνω το {request.id}")  # nor can the requester herself
    assert f"Για την αίτηση #{request.id} αποφασίζει μόνο ο προϊστάμενος" in said.text

    assert (await request_row(database, request.id)).status is LeaveStatus.PENDING
    assert await decisions_recorded(database, request.id) == 0
    assert await chat.inbox(company.alice) == []


async def test_an_employee_without_approvals_hears_nothing_is_waiting(chat: Chat, company: Company, database: Database) -> None:
    await file_leave(database, company.alice, date(2026, 12, 14), date(2026, 12, 18))

    said = await chat.say(company.alice, "what do I need to approve?")
    assert said.text == "Nothing is waiting for your decision right now."
    said = await chat.say(company.bob, "что мне нужно согласовать")
    assert said.text == "Сейчас ничего не ждёт вашего решения."


async def test_hr_decides_for_someone_without_a_manager_and_a_withdrawn_request_needs_no_decision(
    chat: Chat, company: Company, database: Database
) -> None:
    assert company.manager.manager_id is None
    own = await file_leave(database, company.manager, date(2026, 12, 21), date(2026, 12, 22))
    withdrawn = await file_leave(database, company.alice, date(2026, 12, 14), date(2026, 12, 18))
    async with database.transaction() as session:
        alice = await session.get(Employee, company.alice.id)
        assert alice is not None
        await leave.cancel(session, alice, withdrawn.id, today=TODAY)

    said = await chat.say(company.hr, "pending approvals")
    assert f"#{own.id} Maria Manager: annual leave" in said.text
    assert f"#{withdrawn.id}" not in said.text

    said = await chat.press(company.hr, "Approve")
    assert said.text.startswith("Approved: Maria Manager, annual leave, Mon 21 Dec – Tue 22 Dec.")
    assert (await request_row(database, own.id)).approver_id == company.hr.id

    said = await chat.press_payload(company.manager, f"leave:approve:{withdrawn.id}")
    assert f"Alice Able has withdrawn request #{withdrawn.id}" in said.text
    assert (await request_row(database, withdrawn.id)).status is LeaveStatus.CANCELLED


async def test_sick_leave_needs_no_decision_in_vietnamese(chat: Chat, company: Company, database: Database) -> None:
    sick = await file_leave(database, company.alice, date(2026, 11, 24), date(2026, 11, 24), kind="sick")

    said = await chat.say(company.manager, f"duyệt {sick.id}")
    day = span(Translator("vi"), date(2026, 11, 24), date(2026, 11, 24))
    assert said.text == f"Đơn #{sick.id} (nghỉ ốm, {day}) không cần duyệt: đơn đã được ghi nhận ngay khi gửi."
    row = await request_row(database, sick.id)
    assert (row.status, row.approver_id) == (LeaveStatus.APPROVED, None)
    assert await decisions_recorded(database, sick.id) == 0

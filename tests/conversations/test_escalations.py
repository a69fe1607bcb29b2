"""HR escalations in chat: an employee's matter reaches every HR person with Reply/Close buttons, messages are
relayed both ways, HR closes the case and the employee is told; strangers and double clicks change nothing."""

from __future__ import annotations

from sqlalchemy import select

from storage.database import Database
from storage.escalations import Direction, Escalation, EscalationStatus
from tests.conversations.conftest import Chat
from tests.factories import Company


async def cases(database: Database) -> list[Escalation]:
    async with database.sessions() as session:
        return list(await session.scalars(select(Escalation).order_by(Escalation.id)))


async def open_case(chat: Chat, company: Company) -> int:
    """Alice asks for HR and tells what it is about; the case id."""
    await chat.say(company.alice, "I want to talk to HR")
    await chat.say(company.alice, "My manager keeps booking meetings over my lunch break")
    said = await chat.press(company.alice, "Yes")
    assert "case #" in said.text
    [case] = await cases(chat.database)
    return case.id


async def test_escalation_is_relayed_both_ways_and_closed_by_hr(chat: Chat, company: Company, database: Database) -> None:
    said = await chat.say(company.alice, "I want to talk to HR")
    assert "What would you like to talk about?" in said.text
    assert await cases(database) == []

    said = await chat.say(company.alice, "My manager keeps booking meetings over my lunch break")
    assert "My manager keeps booking meetings over my lunch break" in said.text
    assert [button.label for button in said.buttons] == ["Yes", "No"]

    said = await chat.press(company.alice, "Yes")
    [case] = await cases(database)
    assert f"case #{case.id}" in said.text and "answer you right here" in said.text
    assert (case.employee_id, case.status, case.assigned_hr_id) == (company.alice.id, EscalationStatus.OPEN, None)
    assert [(m.direction, m.text) for m in case.messages] == [(Direction.TO_HR, "My manager keeps booking meetings over my lunch break")]

    [notice] = await chat.inbox(company.hr)
    assert notice.private
    assert f"New HR case #{case.id} from Alice Able" in notice.text and "lunch break" in notice.text
    assert [(b.label, b.payload) for b in notice.buttons] == [("Reply", f"hr:reply:{case.id}"), ("Close", f"hr:close:{case.id}")]

    said = await chat.press(company.hr, "Reply")
    assert "Type your message to Alice Able" in said.text
    said = await chat.say(company.hr, "Let's meet tomorrow at 10 in my office to sort it out")
    assert "Sent to Alice Able" in said.text

    [case] = await cases(database)
    assert case.assigned_hr_id == company.hr.id
    assert case.messages[-1].direction is Direction.TO_EMPLOYEE
    [answer] = await chat.inbox(company.alice)
    assert "Hana HR from HR answered" in answer.text and "tomorrow at 10" in answer.text
    assert [(b.label, b.payload) for b in answer.buttons] == [("Reply", f"hr:answer:{case.id}")]

    said = await chat.press(company.alice, "Reply")
    assert "Type your message to HR" in said.text
    said = await chat.say(company.alice, "Ten is fine, see you there")
    assert "Sent to HR" in said.text

    hr_inbox = await chat.inbox(company.hr)
    assert len(hr_inbox) == 2 and "Alice Able answered" in hr_inbox[-1].text and "Ten is fine" in hr_inbox[-1].text
    said = await chat.press(company.hr, "Close")
    assert said.replies[0].replaces_source and f"Case #{case.id} is closed" in said.text

    [case] = await cases(database)
    assert case.status is EscalationStatus.CLOSED and case.closed_at == chat.now
    assert [m.direction for m in case.messages] == [Direction.TO_HR, Direction.TO_EMPLOYEE, Direction.TO_HR]
    alice_inbox = await chat.inbox(company.alice)
    assert len(alice_inbox) == 2 and "HR has closed your case" in alice_inbox[-1].text


async def test_a_detailed_first_message_in_russian_goes_to_hr_as_it_is(
    chat: Chat, company: Company, database: Database
) -> None:
    said = await chat.say(company.bob, "у меня конфликт с руководителем, к кому обратиться")
    assert "Отправлю в HR" in said.text and "конфликт с руководителем" in said.text

    said = await chat.say(company.bob, "да")

    assert "обращение передано в HR" in said.text
    [case] = await cases(database)
    assert case.employee_id == company.bob.id
    assert case.messages[0].text == "у меня конфликт с руководителем, к кому обратиться"
    [notice] = await chat.inbox(company.hr)  # HR reads it in their own language
    assert "New HR case" in notice.text and "Bob Baker" in notice.text

    await chat.press(company.hr, "Reply")
    await chat.say(company.hr, "Could you tell me more about what happened?")

    [answer] = await chat.inbox(company.bob)
    assert "ответил(а) по обращению" in answer.text and [b.label for b in answer.buttons] == ["Ответить"]


async def test_talk_to_hr_button_in_vietnamese_asks_what_it_is_about(
    chat: Chat, company: Company, database: Database
) -> None:
    await chat.say(company.alice, "xem phiếu lương")  # a Vietnamese conversation (Alice has no payslips)
    said = await chat.press_payload(company.alice, "intent:hr_escalate")
    assert "Bạn muốn trao đổi về việc gì?" in said.text

    await chat.say(company.alice, "Tôi cần giấy xác nhận công tác để làm visa")
    said = await chat.press(company.alice, "Đồng ý")

    assert "đã được chuyển tới phòng nhân sự" in said.text
    [case] = await cases(database)
    assert case.subject == "Tôi cần giấy xác nhận công tác để làm visa"


async def test_an_outsider_can_neither_reply_to_nor_close_someone_elses_case(
    chat: Chat, company: Company, database: Database
) -> None:
    case_id = await open_case(chat, company)

    said = await chat.press_payload(company.outsider, f"hr:close:{case_id}")
    assert f"HR case #{case_id} isn't yours" in said.text
    said = await chat.press_payload(company.outsider, f"hr:reply:{case_id}")
    assert f"HR case #{case_id} isn't yours" in said.text
    said = await chat.say(company.outsider, "hello there, anyone?")
    assert "Type your message" not in said.text  # no reply form was started for them

    [case] = await cases(database)
    assert case.status is EscalationStatus.OPEN and len(case.messages) == 1
    assert await chat.inbox(company.alice) == []


async def test_closing_twice_says_it_is_already_closed_and_tells_the_employee_once(
    chat: Chat, company: Company, database: Database
) -> None:
    case_id = await open_case(chat, company)
    await chat.inbox(company.hr)

    await chat.press(company.hr, "Close")
    said = await chat.press(company.hr, "Close")

    assert f"HR case #{case_id} is already closed" in said.text
    [case] = await cases(database)
    assert case.status is EscalationStatus.CLOSED
    assert len(await chat.inbox(company.alice)) == 1

    said = await chat.press_payload(company.hr, f"hr:reply:{case_id}")
    assert "already closed" in said.text and "Type your message" not in said.text


async def test_cancelling_while_asked_files_nothing(chat: Chat, company: Company, database: Database) -> None:
    await chat.say(company.alice, "I want to talk to HR")
    said = await chat.say(company.alice, "cancel")

    assert "cancelled" in said.text
    assert await cases(database) == []
    assert await chat.inbox(company.hr) == []


async def test_more_text_typed_at_the_confirmation_is_added_to_the_message(
    chat: Chat, company: Company, database: Database
) -> None:
    await chat.say(company.alice, "I want to talk to HR")
    await chat.say(company.alice, "My manager keeps booking meetings over my lunch break")

    said = await chat.say(company.alice, "also, it has happened three times this month")
    assert "lunch break\nalso, it has happened three times this month" in said.text
    assert [button.label for button in said.buttons] == ["Yes", "No"]
    said = await chat.say(company.alice, "go ahead")

    assert "case #" in said.text
    [case] = await cases(database)
    assert case.messages[0].text == "My manager keeps booking meetings over my lunch break\nalso, it has happened three times this month"
    assert case.subject == "My manager keeps booking meetings over my lunch break"


async def test_asking_for_hr_with_a_case_open_adds_to_that_case(chat: Chat, company: Company, database: Database) -> None:
    case_id = await open_case(chat, company)

    said = await chat.say(company.alice, "I need to talk to HR again, it happened twice more this week")
    assert f"open case with HR (#{case_id})" in said.text and "twice more this week" in said.text
    said = await chat.press(company.alice, "Yes")
    assert f"Added to your case #{case_id}" in said.text

    [case] = await cases(database)  # no second case
    assert case.status is EscalationStatus.OPEN
    assert [(m.direction, m.text) for m in case.messages][-1] == (Direction.TO_HR, "I need to talk to HR again, it happened twice more this week")
    new_case, notice = await chat.inbox(company.hr)
    assert f"New HR case #{case_id}" in new_case.text
    assert "Alice Able answered" in notice.text and "twice more" in notice.text
    assert [b.payload for b in notice.buttons] == [f"hr:reply:{case_id}", f"hr:close:{case_id}"]

    await chat.press_payload(company.hr, f"hr:close:{case_id}")
    await chat.say(company.alice, "I want to talk to HR")
    await chat.say(company.alice, "Something else entirely: my contract renewal")
    said = await chat.press(company.alice, "Yes")
    assert "answer you right here" in said.text  # with the first case closed, a new one is opened
    assert [case.status for case in await cases(database)] == [EscalationStatus.CLOSED, EscalationStatus.OPEN]


async def test_reply_pressed_twice_sends_one_message(chat: Chat, company: Company, database: Database) -> None:
    case_id = await open_case(chat, company)
    first = await chat.press_payload(company.hr, f"hr:reply:{case_id}")
    second = await chat.press_payload(company.hr, f"hr:reply:{case_id}")
    assert second.text == first.text and "Type your message to Alice Able" in second.text
    said = await chat.say(company.hr, "Can we talk at 3pm?")
    assert "Sent to Alice Able" in said.text
    said = await chat.say(company.hr, "thank you")
    assert "Sent to" not in said.text
    [case] = await cases(database)
    assert [m.text for m in case.messages] == ["My manager keeps booking meetings over my lunch break", "Can we talk at 3pm?"]


async def test_talk_to_hr_pressed_while_already_asked_opens_one_case(chat: Chat, company: Company, database: Database) -> None:
    asked = await chat.say(company.alice, "I want to talk to HR")
    again = await chat.press_payload(company.alice, "intent:hr_escalate")
    assert again.text == asked.text
    await chat.say(company.alice, "My manager keeps booking meetings over my lunch break")
    said = await chat.press(company.alice, "Yes")
    assert "answer you right here" in said.text
    said = await chat.say(company.alice, "thanks")
    assert "welcome" in said.text  # small talk: no second copy of the form took "thanks" as a message to HR
    assert len(await cases(database)) == 1

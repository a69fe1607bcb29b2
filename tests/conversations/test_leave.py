"""Leave in chat: requesting (one message or step by step), corrections, refusals, balance, status, cancelling.

Today is Monday 2026-11-23; the test calendar has a public holiday on Thursday 2026-12-03.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from actions.i18n import Translator
from actions.leave import span
from actions.payloads import FormAnswer, SlotChoice, decode, decode_as
from actions.replies import Reply
from bot.messages import Incoming
from bot.router import Receipt
from storage import leave
from storage.database import Database
from storage.leave import LeaveBalance, LeaveRequest, LeaveStatus
from storage.people import Employee
from tests.channels.recording import Message
from tests.conversations.conftest import Chat, Said, private_chat
from tests.factories import Company

TODAY = date(2026, 11, 23)
# Dates in expected texts come from the same formatter, so a CLDR update changes both sides alike.
EN, RU, EL = Translator("en"), Translator("ru"), Translator("el")


async def requests_of(database: Database, employee: Employee) -> list[LeaveRequest]:
    async with database.sessions() as session:
        rows = await session.scalars(
            select(LeaveRequest).where(LeaveRequest.employee_id == employee.id).order_by(LeaveRequest.id)
        )
        return list(rows)


async def balance_of(database: Database, employee: Employee, kind: str) -> LeaveBalance | None:
    async with database.sessions() as session:
        return await session.scalar(
            select(LeaveBalance).where(
                LeaveBalance.employee_id == employee.id, LeaveBalance.leave_type == kind, LeaveBalance.year == 2026
            )
        )


def instance_of(said: Said) -> str:
    """The one form instance that all the buttons of these replies belong to."""
    found = {press.instance for button in said.buttons if isinstance(press := decode(button.payload), FormAnswer | SlotChoice)}
    assert len(found) == 1, found
    return found.pop()


async def file_leave(database: Database, employee: Employee, kind: str, start: date, end: date) -> LeaveRequest:
    async with database.transaction() as session:
        fresh = await session.get(Employee, employee.id)
        assert fresh is not None
        return await leave.request_leave(session, fresh, leave_type=kind, start=start, end=end, today=TODAY)


async def approve(database: Database, decider: Employee, request_id: int) -> None:
    async with database.transaction() as session:
        fresh = await session.get(Employee, decider.id)
        assert fresh is not None
        await leave.decide(session, fresh, request_id, approve=True)


async def outbox_count(database: Database) -> int:
    from storage.outbox import OutboxMessage

    async with database.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(OutboxMessage)) or 0)


# --- requesting ---------------------------------------------------------------------------------------------------


async def test_sick_leave_tomorrow_in_one_message_is_approved_at_once_and_the_manager_informed(
    chat: Chat, company: Company, database: Database
) -> None:
    said = await chat.say(company.alice, "I need sick leave tomorrow")
    assert "Sick leave, Tue 24 Nov: 1 working day." in said.text
    assert "13 days will be left" in said.text
    assert "no approval" in said.text
    instance = instance_of(said)
    assert [decode(button.payload) for button in said.buttons] == [FormAnswer(instance, yes=True), FormAnswer(instance, yes=False)]
    assert await requests_of(database, company.alice) == []

    said = await chat.press(company.alice, "Yes")
    assert "sick leave, Tue 24 Nov is registered" in said.text
    assert "Maria Manager" in said.text

    [request] = await requests_of(database, company.alice)
    assert (request.leave_type, request.start_date, request.end_date) == ("sick", date(2026, 11, 24), date(2026, 11, 24))
    assert request.status is LeaveStatus.APPROVED
    sick = await balance_of(database, company.alice, "sick")
    assert sick is not None and (sick.taken, sick.pending) == (Decimal(1), Decimal(0))

    [informed] = await chat.inbox(company.manager)
    assert "For your information: Alice Able is on sick leave, Tue 24 Nov" in informed.text
    assert informed.buttons == ()


async def test_annual_leave_asked_step_by_step_in_russian(chat: Chat, company: Company, database: Database) -> None:
    said = await chat.say(company.bob, "хочу взять отгул")
    assert "Какой отпуск вам нужен?" in said.text
    assert {decode_as(SlotChoice, button.payload) for button in said.buttons} == {SlotChoice(instance_of(said), n) for n in range(5)}

    said = await chat.press(company.bob, "Ежегодный отпуск")
    assert "На какие дни оформить ежегодный отпуск?" in said.text

    said = await chat.say(company.bob, "с 14 по 18 декабря")
    assert f"Ежегодный отпуск, {span(RU, date(2026, 12, 14), date(2026, 12, 18))}: 5 рабочих дней." in said.text
    assert "Останется 19 дней." in said.text
    assert "Согласовывать будет Maria Manager." in said.text
    assert decode(said.button("Да").payload) == FormAnswer(instance_of(said), yes=True)

    said = await chat.say(company.bob, "да")
    [request] = await requests_of(database, company.bob)
    assert f"заявка №{request.id} на ежегодный отпуск" in said.text
    assert "Решение примет Maria Manager" in said.text
    assert request.status is LeaveStatus.PENDING and request.days == Decimal(5)
    annual = await balance_of(database, company.bob, "annual")
    assert annual is not None and (annual.pending, annual.taken) == (Decimal(5), Decimal(0))

    # The manager reads English: the request reaches her in her language, with the decision buttons.
    [asked] = await chat.inbox(company.manager)
    assert f"Bob Baker asks for annual leave, Mon 14 Dec – Fri 18 Dec (5 working days). Request #{request.id}." == asked.text
    assert [button.payload for button in asked.buttons] == [f"leave:approve:{request.id}", f"leave:reject:{request.id}"]


async def test_a_correction_at_the_confirmation_updates_the_dates_and_asks_again(
    chat: Chat, company: Company, database: Database
) -> None:
    said = await chat.say(company.alice, "annual leave from 30 November to 4 December")
    assert "Annual leave, Mon 30 Nov – Fri 4 Dec: 4 working days." in said.text
    assert "Public holidays aren't counted: Thu 3 Dec (Test Day)." in said.text
    assert "20 days will be left." in said.text

    said = await chat.say(company.alice, "no, from the 1st")
    assert "Annual leave, Tue 1 Dec – Fri 4 Dec: 3 working days." in said.text
    assert "21 days will be left." in said.text
    assert await requests_of(database, company.alice) == []

    await chat.say(company.alice, "yes")
    [request] = await requests_of(database, company.alice)
    assert (request.start_date, request.end_date, request.days) == (date(2026, 12, 1), date(2026, 12, 4), Decimal(3))


async def test_cancelling_mid_form_or_saying_no_files_nothing(chat: Chat, company: Company, database: Database) -> None:
    said = await chat.say(company.alice, "I need a day off")
    assert "What kind of leave do you need?" in said.text
    said = await chat.say(company.alice, "cancel")
    assert "cancelled. Nothing was filed." in said.text

    said = await chat.say(company.bob, "отпуск с 14 по 18 декабря")
    assert "5 рабочих дней" in said.text
    said = await chat.say(company.bob, "нет")
    assert "Ничего не оформлено." in said.text

    assert await requests_of(database, company.alice) == []
    assert await requests_of(database, company.bob) == []
    assert await outbox_count(database) == 0


async def test_a_date_in_the_past_is_refused_and_the_dates_asked_again(
    chat: Chat, company: Company, database: Database
) -> None:
    said = await chat.say(company.alice, "annual leave on 10.11.2026")
    assert "10 Nov 2026 is in the past" in said.text
    assert "For which days do you need annual leave?" in said.text
    assert not any(decode_as(FormAnswer, button.payload) for button in said.buttons)

    said = await chat.say(company.alice, "from 14 to 18 December")
    assert "Annual leave, Mon 14 Dec – Fri 18 Dec: 5 working days." in said.text
    assert await requests_of(database, company.alice) == []


async def test_an_end_before_the_start_is_refused_and_the_end_asked_again(
    chat: Chat, company: Company, database: Database
) -> None:
    said = await chat.say(company.alice, "annual leave from 10.12.2026 to 05.12.2026")
    assert "That ends (5 Dec 2026) before it starts (10 Dec 2026)." in said.text
    assert "Starting Thu 10 Dec. Until which day, inclusive?" in said.text

    said = await chat.say(company.alice, "11 December")
    assert "Annual leave, Thu 10 Dec – Fri 11 Dec: 2 working days." in said.text
    assert await requests_of(database, company.alice) == []


async def test_overlapping_leave_is_refused_in_greek_before_the_confirmation(
    chat: Chat, company: Company, database: Database
) -> None:
    existing = await file_leave(database, company.alice, "annual", date(2026, 12, 14), date(2026, 12, 18))

    said = await chat.say(company.alice, "θέλω κανονική άδεια από 16 έως 22 Δεκεμβρίου")
    assert f"(αίτηση #{existing.id})" in said.text
    assert "Για ποιες μέρες θέλετε κανονική άδεια;" in said.text
    assert not any(decode_as(FormAnswer, button.payload) for button in said.buttons)
    assert [r.id for r in await requests_of(database, company.alice)] == [existing.id]


async def test_insufficient_balance_is_refused_and_nothing_filed(chat: Chat, company: Company, database: Database) -> None:
    said = await chat.say(company.alice, "study leave from 1 to 18 December")
    assert "There aren't enough days left on your 2026 balance: this needs 13." in said.text
    assert "For which days do you need study leave?" in said.text

    said = await chat.say(company.alice, "from 1 to 4 December")
    assert "Study leave, Tue 1 Dec – Fri 4 Dec: 3 working days." in said.text
    assert "7 days will be left." in said.text
    assert await requests_of(database, company.alice) == []


# --- answering a form's buttons -------------------------------------------------------------------------------------


def shown_with(chat: Chat, who: Employee, label: str) -> Message:
    """The last message in this person's private chat that was sent with a button `label`."""
    return [m for m in chat.channel.sent if m.address.chat_id == private_chat(who) and label in {b.label for b in m.reply.buttons}][-1]


async def press_on(chat: Chat, who: Employee, message: Message, label: str) -> Receipt:
    """Press a button of that very message, as a platform reports it: with the message's reference as the source."""
    [button] = [b for b in message.reply.buttons if b.label == label]
    incoming = Incoming("console", private_chat(who), who.email, private=True, text=label, payload=button.payload,
                        at=chat.now, source=message.reference)
    return await chat.router().receive(incoming, chat.channel)


async def test_the_answer_to_yes_takes_the_place_of_the_question_and_a_second_press_files_nothing(
    chat: Chat, company: Company, database: Database
) -> None:
    await chat.say(company.alice, "annual leave from 14 to 18 December")
    question = shown_with(chat, company.alice, "Yes")

    receipt = await press_on(chat, company.alice, question, "Yes")
    [request] = await requests_of(database, company.alice)
    answer = receipt.sent[0]
    assert answer.reply.replaces_source and answer.reference == question.reference
    now_reads = chat.channel.current[question.reference].reply
    assert now_reads.buttons == () and f"request #{request.id} for annual leave" in now_reads.text

    again = await press_on(chat, company.alice, question, "Yes")  # a phone that missed the edit
    assert [reply.text for reply in again.replies] == [EN("core.button_expired")]
    assert not again.replies[0].replaces_source and chat.channel.current[question.reference].reply == now_reads
    assert len(await requests_of(database, company.alice)) == 1


async def test_a_yes_whose_filing_fails_keeps_the_question_and_says_why_under_it(chat: Chat, company: Company, database: Database) -> None:
    await chat.say(company.alice, "annual leave from 14 to 18 December")
    question = shown_with(chat, company.alice, "Yes")
    await file_leave(database, company.alice, "annual", date(2026, 12, 14), date(2026, 12, 18))  # meanwhile, elsewhere
    receipt = await press_on(chat, company.alice, question, "Yes")
    assert not any(reply.replaces_source for reply in receipt.replies)
    assert chat.channel.current[question.reference].reply == question.reply  # what was being filed stays in view
    assert receipt.replies[-1].text == EN("core.form_fix_or_cancel")
    assert len(await requests_of(database, company.alice)) == 1


async def test_the_answer_to_no_or_to_a_choice_takes_the_place_of_the_question(chat: Chat, company: Company, database: Database) -> None:
    await chat.say(company.alice, "I need sick leave tomorrow")
    question = shown_with(chat, company.alice, "No")
    await press_on(chat, company.alice, question, "No")
    assert chat.channel.current[question.reference].reply == Reply(EN("core.form_not_done"), replaces_source=True)
    assert await requests_of(database, company.alice) == []

    await chat.say(company.alice, "I need a day off")
    kinds = shown_with(chat, company.alice, "Annual leave")
    receipt = await press_on(chat, company.alice, kinds, "Annual leave")
    now_reads = chat.channel.current[kinds.reference].reply
    assert now_reads == receipt.replies[0] and now_reads.buttons == ()
    assert "For which days do you need annual leave?" in now_reads.text


# --- balance and status -------------------------------------------------------------------------------------------


async def test_balance_in_uzbek_shows_every_type_with_an_allowance(chat: Chat, company: Company, database: Database) -> None:
    await file_leave(database, company.alice, "annual", date(2026, 12, 14), date(2026, 12, 18))
    await file_leave(database, company.alice, "sick", date(2026, 11, 24), date(2026, 11, 25))

    said = await chat.say(company.alice, "ta'til qoldig'i qancha")
    assert said.replies[-1].private
    assert "2026-yil uchun ta’til kunlaringiz:" in said.text
    [table] = said.replies[-1].blocks
    assert table.header == ("Turi", "Belgilangan", "Foydalanilgan", "Tasdiq kutilmoqda", "Qolgan")  # type: ignore[union-attr]
    rows = {row[0]: row[1:] for row in table.rows}  # type: ignore[union-attr]
    assert rows["Yillik ta’til"] == ("24", "0", "5", "19")
    assert rows["Kasallik ta’tili"] == ("14", "2", "0", "12")
    assert "O‘quv ta’tili" in rows and "O‘z hisobidan ta’til" not in rows  # unpaid leave has no allowance


async def test_status_in_greek_lists_requests_with_who_decides(chat: Chat, company: Company, database: Database) -> None:
    pending = await file_leave(database, company.alice, "annual", date(2026, 12, 14), date(2026, 12, 18))
    approved = await file_leave(database, company.alice, "annual", date(2026, 12, 1), date(2026, 12, 2))
    await approve(database, company.hr, approved.id)

    said = await chat.say(company.alice, "τι έγινε με την άδειά μου;")
    assert "Οι πρόσφατες και επερχόμενες αιτήσεις άδειάς σας:" in said.text
    [table] = said.replies[-1].blocks
    assert table.rows == (  # type: ignore[union-attr]
        (f"#{approved.id}", "Κανονική άδεια", span(EL, date(2026, 12, 1), date(2026, 12, 2)), "2", "εγκρίθηκε", "Hana HR"),
        (f"#{pending.id}", "Κανονική άδεια", span(EL, date(2026, 12, 14), date(2026, 12, 18)), "5", "σε αναμονή έγκρισης", "Maria Manager"),
    )


# --- cancelling ---------------------------------------------------------------------------------------------------


async def test_cancelling_an_approved_future_leave_gives_the_days_back(
    chat: Chat, company: Company, database: Database
) -> None:
    request = await file_leave(database, company.alice, "annual", date(2026, 12, 14), date(2026, 12, 18))
    await approve(database, company.manager, request.id)

    said = await chat.say(company.alice, "cancel my leave on 14 December")
    assert f"Cancel your approved annual leave, Mon 14 Dec – Fri 18 Dec (5 working days, request #{request.id})?" in said.text
    assert await balance_of(database, company.alice, "annual") is not None

    said = await chat.say(company.alice, "yes")
    assert f"Cancelled: annual leave, Mon 14 Dec – Fri 18 Dec (request #{request.id})." in said.text
    assert "You now have 24 days of annual leave available." in said.text

    [cancelled] = await requests_of(database, company.alice)
    assert cancelled.status is LeaveStatus.CANCELLED
    annual = await balance_of(database, company.alice, "annual")
    assert annual is not None and (annual.taken, annual.pending) == (Decimal(0), Decimal(0))
    [told] = await chat.inbox(company.manager)
    assert f"Alice Able has cancelled request #{request.id}: annual leave, Mon 14 Dec – Fri 18 Dec." == told.text


async def test_cancel_with_several_requests_lists_them_as_buttons_in_russian(
    chat: Chat, company: Company, database: Database
) -> None:
    first = await file_leave(database, company.bob, "annual", date(2026, 12, 7), date(2026, 12, 8))
    second = await file_leave(database, company.bob, "annual", date(2026, 12, 21), date(2026, 12, 22))

    said = await chat.say(company.bob, "хочу отменить отпуск")
    assert "Какую заявку отменить?" in said.text
    assert {button.payload for button in said.buttons} >= {f"leave:cancel:{first.id}", f"leave:cancel:{second.id}"}

    said = await chat.press_payload(company.bob, f"leave:cancel:{first.id}")
    assert f"Отозвать заявку №{first.id}: ежегодный отпуск" in said.text
    said = await chat.press(company.bob, "Да")
    assert f"Отменено: ежегодный отпуск, {span(RU, date(2026, 12, 7), date(2026, 12, 8))} (заявка №{first.id})." in said.text

    statuses = {r.id: r.status for r in await requests_of(database, company.bob)}
    assert statuses == {first.id: LeaveStatus.CANCELLED, second.id: LeaveStatus.PENDING}
    annual = await balance_of(database, company.bob, "annual")
    assert annual is not None and annual.pending == Decimal(2)


async def test_nothing_to_cancel_is_said_plainly(chat: Chat, company: Company, database: Database) -> None:
    said = await chat.say(company.alice, "cancel my leave request")
    assert "You have no pending or upcoming leave that could be cancelled." in said.text
    assert await requests_of(database, company.alice) == []


async def test_a_confirmation_gone_stale_meanwhile_is_not_shown_again(chat: Chat, company: Company, database: Database) -> None:
    said = await chat.say(company.alice, "study leave from 1 to 4 December")
    assert "Study leave, Tue 1 Dec – Fri 4 Dec: 3 working days." in said.text
    await file_leave(database, company.alice, "study", date(2026, 12, 7), date(2026, 12, 18))  # filed elsewhere: 10 days

    said = await chat.say(company.alice, "what's my leave balance")
    assert "Your leave for 2026:" in said.text
    assert "There aren't enough days left on your 2026 balance: this needs 3." in said.text
    assert "For which days do you need study leave?" in said.text
    assert "Shall I file it?" not in said.text

    said = await chat.say(company.alice, "yes")
    assert "Shall I file it?" not in said.text
    assert [r.leave_type for r in await requests_of(database, company.alice)] == ["study"]


async def test_a_half_day_counts_the_first_day_as_half(chat: Chat, company: Company, database: Database) -> None:
    said = await chat.say(company.alice, "I need annual leave from Thursday afternoon to Friday")
    assert "Annual leave, Thu 26 Nov – Fri 27 Nov: 1.5 working days." in said.text
    assert "22.5 days will be left." in said.text
    await chat.say(company.alice, "yes")

    [request] = await requests_of(database, company.alice)
    assert (request.days, request.half_day_start, request.half_day_end) == (Decimal("1.5"), True, False)

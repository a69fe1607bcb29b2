"""IT tickets in chat: reporting a problem (category and priority read from the words), following one's tickets,
IT agents moving tickets along by chat, and the requester hearing about every change in their own language."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from actions.i18n import Translator
from actions.replies import Fields, Table
from storage import tickets
from storage.database import Database
from storage.outbox import OutboxMessage
from storage.people import Employee
from storage.tickets import Ticket, TicketComment, TicketStatus
from tests.conversations.conftest import Chat
from tests.factories import Company

EN, RU, UZ = (Translator(language) for language in ("en", "ru", "uz"))
TOMORROW = date(2026, 11, 24)
TODAY = date(2026, 11, 23)


async def tickets_of(database: Database, who: Employee) -> list[Ticket]:
    async with database.sessions() as session:
        return list(await session.scalars(select(Ticket).where(Ticket.requester_id == who.id).order_by(Ticket.id)))


async def ticket_row(database: Database, number: int) -> Ticket:
    async with database.sessions() as session:
        ticket = await session.get(Ticket, number)
        assert ticket is not None
        return ticket


async def comments_on(database: Database, number: int) -> list[str]:
    async with database.sessions() as session:
        return list(await session.scalars(select(TicketComment.text).where(TicketComment.ticket_id == number).order_by(TicketComment.id)))


async def open_ticket(database: Database, who: Employee, description: str, **fields: str) -> int:
    async with database.transaction() as session:
        requester = await session.get(Employee, who.id)
        assert requester is not None
        ticket = await tickets.create_ticket(session, requester, description=description, **fields)
        return ticket.id


async def set_status(database: Database, actor: Employee, number: int, status: TicketStatus, comment: str = "") -> None:
    async with database.transaction() as session:
        agent = await session.get(Employee, actor.id)
        assert agent is not None
        await tickets.change_status(session, agent, number, status, comment=comment)


async def outbox_count(database: Database) -> int:
    async with database.sessions() as session:
        return len(list(await session.scalars(select(OutboxMessage.id))))


def labels(t: Translator, category: str, priority: str) -> dict[str, str]:
    return {"category": t(f"tickets.category.{category}"), "priority": t(f"tickets.priority.{priority}")}


async def test_a_broken_laptop_becomes_a_hardware_ticket_and_it_hears_about_it(chat: Chat, company: Company, database: Database) -> None:
    said = await chat.say(company.alice, "my laptop won't turn on")
    assert said.text == EN("tickets.confirm", **labels(EN, "hardware", "normal"), description="my laptop won't turn on")
    assert [button.label for button in said.buttons] == ["Yes", "No"]

    said = await chat.press(company.alice, "Yes")
    [ticket] = await tickets_of(database, company.alice)
    assert (ticket.category, ticket.priority, ticket.status) == ("hardware", "normal", TicketStatus.OPEN)
    assert ticket.description == "my laptop won't turn on"
    assert said.text == EN(
        "tickets.created", number=ticket.id, **labels(EN, "hardware", "normal"), due_day=EN.day_month(TOMORROW), due_time="11:00"
    )

    [note] = await chat.inbox(company.it_agent)
    assert note.text == EN(
        "tickets.agent_new", number=ticket.id, requester="Alice Able", **labels(EN, "hardware", "normal"),
        title="my laptop won't turn on", due_day=EN.day_month(TOMORROW), due_time="11:00",
    )
    assert [button.payload for button in note.buttons] == [f"ticket:take:{ticket.id}"]
    assert await chat.inbox(company.alice) == []  # the requester isn't told about their own ticket


async def test_an_urgent_russian_request_is_high_priority_network_and_flagged_to_it(chat: Chat, company: Company, database: Database) -> None:
    said = await chat.say(company.bob, "vpn не подключается, срочно")
    assert said.text == RU("tickets.confirm", **labels(RU, "network", "high"), description="vpn не подключается, срочно")

    said = await chat.press(company.bob, "Да")
    [ticket] = await tickets_of(database, company.bob)
    assert (ticket.category, ticket.priority) == ("network", "high")
    # High priority: 8 hours, i.e. 19:00 the same day in Tashkent.
    assert said.text == RU("tickets.created", number=ticket.id, **labels(RU, "network", "high"), due_day=RU.day_month(TODAY), due_time="19:00")

    [note] = await chat.inbox(company.it_agent)  # Ivan reads English
    assert note.text.startswith("🔥") and f"#{ticket.id}" in note.text and "Bob Baker" in note.text


async def test_a_thin_request_asks_what_is_wrong_first(chat: Chat, company: Company, database: Database) -> None:
    assert (await chat.say(company.alice, "i have an IT problem")).text == EN("tickets.ask_description")
    said = await chat.say(company.alice, "I forgot my password and I'm locked out")
    assert said.text == EN("tickets.confirm", **labels(EN, "access", "normal"), description="I forgot my password and I'm locked out")
    await chat.press(company.alice, "Yes")
    [ticket] = await tickets_of(database, company.alice)
    assert ticket.category == "access" and ticket.description == "I forgot my password and I'm locked out"


async def test_uzbek_report_and_saying_no_files_nothing(chat: Chat, company: Company, database: Database) -> None:
    said = await chat.say(company.outsider, "noutbugim yonmayapti")
    assert said.text == UZ("tickets.confirm", **labels(UZ, "hardware", "normal"), description="noutbugim yonmayapti")
    said = await chat.press(company.outsider, "Yo‘q")
    assert said.text == UZ("core.form_not_done")
    assert await tickets_of(database, company.outsider) == []
    assert await outbox_count(database) == 0


async def test_ticket_status_by_number_shows_status_assignee_and_last_comment(chat: Chat, company: Company, database: Database) -> None:
    number = await open_ticket(database, company.alice, "Printer on floor 3 is jammed", category="hardware")
    await set_status(database, company.it_agent, number, TicketStatus.IN_PROGRESS, comment="ordered a new roller")

    said = await chat.say(company.alice, f"status of ticket {number}")
    assert said.replies[0].text == EN("tickets.one", number=number, title="Printer on floor 3 is jammed")
    [fields] = said.replies[0].blocks
    assert isinstance(fields, Fields)
    rows = dict(fields.rows)
    assert rows[EN("tickets.field_status")] == EN("tickets.status.in_progress")
    assert rows[EN("tickets.field_assignee")] == "Ivan IT"
    assert rows[EN("tickets.field_last_comment")] == EN("tickets.comment_line", author="Ivan IT", text="ordered a new roller")

    hashed = await chat.say(company.alice, f"whats happening with #{number}")
    assert hashed.replies[0].text == said.replies[0].text


async def test_my_open_tickets_lists_only_open_ones(chat: Chat, company: Company, database: Database) -> None:
    first = await open_ticket(database, company.bob, "Монитор мерцает")
    second = await open_ticket(database, company.bob, "Нужен доступ к CRM", category="access")
    done = await open_ticket(database, company.bob, "Старая проблема")
    await set_status(database, company.it_agent, done, TicketStatus.CLOSED)

    said = await chat.say(company.bob, "мои открытые тикеты")
    assert said.replies[0].text == RU("tickets.open_list", count=2)
    [table] = said.replies[0].blocks
    assert isinstance(table, Table)
    assert [row[0] for row in table.rows] == [f"#{first}", f"#{second}"]
    assert {row[2] for row in table.rows} == {RU("tickets.status.open")}

    assert (await chat.say(company.alice, "show my tickets")).text == EN("tickets.none_open")


async def test_someone_else_s_ticket_is_refused(chat: Chat, company: Company, database: Database) -> None:
    number = await open_ticket(database, company.alice, "My VPN password expired")
    said = await chat.say(company.bob, f"статус тикета {number}")
    assert said.text == RU("error.not_your_ticket", ticket_id=number)
    said = await chat.say(company.outsider, f"status of ticket {number}")
    assert said.text == EN("error.not_your_ticket", ticket_id=number)


async def test_it_agent_resolves_by_chat_and_the_requester_hears_in_russian(chat: Chat, company: Company, database: Database) -> None:
    number = await open_ticket(database, company.bob, "Не работает мышь")

    said = await chat.say(company.it_agent, f"ticket {number} resolved, replaced the cable")
    assert said.text == EN("tickets.changed_told", number=number, status=EN("tickets.status.resolved"), requester="Bob Baker")
    ticket = await ticket_row(database, number)
    assert ticket.status is TicketStatus.RESOLVED and ticket.resolved_at is not None
    assert await comments_on(database, number) == ["replaced the cable"]

    [note] = await chat.inbox(company.bob)
    assert note.text == "\n".join(
        [
            RU("tickets.requester_changed", number=number, title="Не работает мышь", status=RU("tickets.status.resolved")),
            RU("tickets.comment_line", author="Ivan IT", text="replaced the cable"),
        ]
    )
    # Bob agrees it works: the button on the notification closes it; a second press changes nothing.
    said = await chat.press(company.bob, RU("tickets.button_close"))
    assert said.text == RU("tickets.changed", number=number, status=RU("tickets.status.closed"))
    assert said.replies[0].replaces_source
    assert (await ticket_row(database, number)).status is TicketStatus.CLOSED
    again = await chat.press(company.bob, RU("tickets.button_close"))
    assert again.text == RU("error.ticket_same_status", ticket_id=number, status=RU("tickets.status.closed"))


async def test_waiting_for_user_keeps_the_text_after_the_status_as_a_comment(chat: Chat, company: Company, database: Database) -> None:
    number = await open_ticket(database, company.alice, "Outlook keeps crashing")
    said = await chat.say(company.it_agent, f"ticket {number} waiting for user: please restart your laptop")
    assert said.text == EN("tickets.changed_told", number=number, status=EN("tickets.status.waiting_on_user"), requester="Alice Able")
    assert (await ticket_row(database, number)).status is TicketStatus.WAITING_ON_USER
    assert await comments_on(database, number) == ["please restart your laptop"]
    [note] = await chat.inbox(company.alice)
    assert note.text.startswith(EN("tickets.requester_waiting", number=number, title="Outlook keeps crashing"))
    assert "please restart your laptop" in note.text


async def test_an_impossible_change_gets_a_clear_answer_and_changes_nothing(chat: Chat, company: Company, database: Database) -> None:
    number = await open_ticket(database, company.alice, "Broken keyboard")
    await set_status(database, company.it_agent, number, TicketStatus.CLOSED)
    before = await outbox_count(database)

    said = await chat.say(company.it_agent, f"set #{number} to in progress")
    assert said.text == EN(
        "error.ticket_bad_transition", ticket_id=number, current=EN("tickets.status.closed"), wanted=EN("tickets.status.in_progress")
    )
    assert (await ticket_row(database, number)).status is TicketStatus.CLOSED
    assert await outbox_count(database) == before


async def test_a_requester_can_t_resolve_their_own_ticket_by_chat(chat: Chat, company: Company, database: Database) -> None:
    number = await open_ticket(database, company.alice, "Webcam not detected")
    said = await chat.say(company.alice, f"ticket {number} resolved")
    assert said.text == EN("error.role_required")
    assert (await ticket_row(database, number)).status is TicketStatus.OPEN
    assert await comments_on(database, number) == []


async def test_the_requester_answers_it_with_the_button_and_the_ticket_goes_back_to_it(
    chat: Chat, company: Company, database: Database
) -> None:
    number = await open_ticket(database, company.alice, "Outlook keeps crashing")
    await chat.press_payload(company.it_agent, f"ticket:take:{number}")
    await chat.say(company.it_agent, f"ticket {number} waiting for user: which Outlook version do you have?")
    taken, note = await chat.inbox(company.alice)
    assert taken.buttons == ()  # only a ticket waiting for Alice offers Answer
    assert [(b.label, b.payload) for b in note.buttons] == [(EN("tickets.button_answer"), f"ticket:answer:{number}")]

    said = await chat.press_payload(company.alice, f"ticket:answer:{number}")
    assert said.text == EN("tickets.ask_answer", number=number)
    said = await chat.press_payload(company.alice, f"ticket:answer:{number}")  # pressed twice: asked again, once
    assert said.text == EN("tickets.ask_answer", number=number)
    said = await chat.say(company.alice, "Outlook 2021, version 2410")
    assert said.text == EN("tickets.answer_sent", number=number, status=EN("tickets.status.in_progress"))

    assert (await ticket_row(database, number)).status is TicketStatus.IN_PROGRESS
    assert await comments_on(database, number) == ["which Outlook version do you have?", "Outlook 2021, version 2410"]
    told = (await chat.inbox(company.it_agent))[-1]  # the agent who took the ticket
    assert told.text == EN("tickets.requester_answered", number=number, requester="Alice Able", text="Outlook 2021, version 2410")

    said = await chat.say(company.alice, "thanks")  # no second copy of the form is waiting for more
    assert said.text != EN("tickets.answer_sent", number=number, status=EN("tickets.status.in_progress"))
    assert len(await comments_on(database, number)) == 2
    said = await chat.press_payload(company.alice, f"ticket:answer:{number}")  # an old button, pressed again
    assert said.text == EN("tickets.not_waiting", number=number, status=EN("tickets.status.in_progress"))
    said = await chat.press_payload(company.bob, f"ticket:answer:{number}")  # someone else's ticket
    assert said.text == RU("error.not_your_ticket", ticket_id=number)  # Bob reads Russian
    assert len(await comments_on(database, number)) == 2


async def test_an_it_agent_s_tickets_are_their_queue_with_take_buttons(chat: Chat, company: Company, database: Database) -> None:
    waiting = await open_ticket(database, company.alice, "Printer on floor 2 is jammed")
    taken = await open_ticket(database, company.bob, "VPN drops every hour", category="network")
    elsewhere = await open_ticket(database, company.alice, "Need a second monitor")
    done = await open_ticket(database, company.bob, "Mouse is broken")
    await set_status(database, company.it_agent, taken, TicketStatus.IN_PROGRESS)  # taking assigns it
    await set_status(database, company.it_agent, done, TicketStatus.RESOLVED)
    async with database.transaction() as session:
        ticket = await session.get(Ticket, elsewhere)
        assert ticket is not None
        ticket.assignee_id = company.hr.id  # somebody else's work

    said = await chat.say(company.it_agent, "show my tickets")
    assert said.text.startswith(EN("tickets.queue_list", count=2))
    [table] = said.replies[0].blocks
    assert isinstance(table, Table)
    assert {(row[0], row[3]) for row in table.rows} == {(f"#{waiting}", EN("tickets.queue_nobody")), (f"#{taken}", EN("tickets.queue_you"))}
    assert {(b.label, b.payload) for b in said.buttons} == {
        (EN("tickets.button_take_number", number=waiting), f"ticket:take:{waiting}"),
        (f"#{taken}", f"ticket:show:{taken}"),
    }

    await chat.press_payload(company.it_agent, f"ticket:take:{waiting}")
    row = await ticket_row(database, waiting)
    assert (row.status, row.assignee_id) == (TicketStatus.IN_PROGRESS, company.it_agent.id)

    await set_status(database, company.it_agent, waiting, TicketStatus.RESOLVED)
    await set_status(database, company.it_agent, taken, TicketStatus.RESOLVED)
    assert (await chat.say(company.it_agent, "show my tickets")).text == EN("tickets.queue_empty")

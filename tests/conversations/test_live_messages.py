"""Messages with live buttons are edited to the outcome once their record is decided, by whoever and however.

Maria Manager gets Approve/Reject for Alice's leave; Hana HR may decide it too; Ivan IT (and a second agent) get
Take buttons for every new ticket. Deliveries go through the outbox worker to the recording channel.
"""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import select

from actions.i18n import Translator
from actions.leave import describe
from bot.delivery import DeliveryWorker
from storage import leave, people
from storage.database import Database
from storage.leave import LeaveRequest
from storage.people import Employee, Role
from storage.tickets import Ticket
from tests.channels.recording import Message, RecordingChannel
from tests.conversations.conftest import Chat, private_chat
from tests.factories import Company, person

EN, RU = Translator("en"), Translator("ru")


async def latest_request(database: Database) -> LeaveRequest:
    async with database.sessions() as session:
        found = await session.scalar(select(LeaveRequest).order_by(LeaveRequest.id.desc()).limit(1))
        assert found is not None
        return found


async def latest_ticket(database: Database) -> Ticket:
    async with database.sessions() as session:
        found = await session.scalar(select(Ticket).order_by(Ticket.id.desc()).limit(1))
        assert found is not None
        return found


def with_buttons(chat: Chat, who: Employee) -> list[Message]:
    """The messages with buttons sent to this person's private chat, as sent."""
    return [message for message in chat.channel.sent if message.address.chat_id == private_chat(who) and message.reply.buttons]


def now_reads(chat: Chat, message: Message) -> str:
    current = chat.channel.current[message.reference].reply
    assert current.buttons == (), current
    return current.text


async def alice_asks_for_leave(chat: Chat, company: Company, database: Database) -> tuple[LeaveRequest, Message]:
    await chat.say(company.alice, "annual leave from 14 to 18 December")
    await chat.say(company.alice, "yes")
    await chat.inbox(company.manager)
    [asked] = with_buttons(chat, company.manager)
    return await latest_request(database), asked


async def test_a_decision_by_text_edits_the_managers_button_message(chat: Chat, company: Company, database: Database) -> None:
    request, asked = await alice_asks_for_leave(chat, company, database)
    assert chat.channel.current[asked.reference].reply.buttons  # live until decided
    await chat.say(company.manager, f"approve {request.id}")
    await chat.inbox(company.manager)
    assert now_reads(chat, asked) == EN("live.leave_approved", name="Alice Able", decider="Maria Manager", **describe(EN, request))


async def test_another_approver_deciding_edits_the_managers_message_and_their_own_list(
    chat: Chat, company: Company, database: Database
) -> None:
    request, asked = await alice_asks_for_leave(chat, company, database)
    listed = await chat.say(company.hr, "what is waiting for my approval?")
    [item] = [message for message in listed.sent if message.reply.buttons]
    await chat.say(company.hr, f"reject {request.id}")
    await chat.inbox(company.manager)
    expected = EN("live.leave_rejected", name="Alice Able", decider="Hana HR", **describe(EN, request))
    assert now_reads(chat, asked) == expected
    assert chat.channel.current[item.reference].reply.text == expected and not chat.channel.current[item.reference].reply.buttons

    said = await chat.press(company.manager, "Approve")  # Maria's stale button, pressed anyway
    assert "already rejected" in said.text
    assert (await latest_request(database)).status is leave.LeaveStatus.REJECTED


async def test_the_requester_withdrawing_edits_the_managers_message_in_his_language(
    chat: Chat, company: Company, database: Database
) -> None:
    async with database.transaction() as session:
        maria = await session.get(Employee, company.manager.id)
        assert maria is not None
        maria.language = "ru"
    request, asked = await alice_asks_for_leave(chat, company, database)
    await chat.say(company.alice, f"cancel request {request.id}")
    await chat.say(company.alice, "yes")
    await chat.inbox(company.manager)
    assert now_reads(chat, asked) == RU("approvals.already_cancelled", name="Alice Able", **describe(RU, request))


async def test_when_one_agent_takes_a_ticket_the_others_take_buttons_say_so(chat: Chat, company: Company, database: Database) -> None:
    async with database.transaction() as session:
        second = person("ines@example.com", "Ines IT", Role.IT_AGENT)
        session.add(second)
        await session.flush()
        await people.link_identity(session, second, "console", second.email)
    await chat.say(company.alice, "my laptop screen is broken")
    await chat.say(company.alice, "yes")
    await chat.inbox(company.it_agent)
    [ivan_asked] = with_buttons(chat, company.it_agent)
    [ines_asked] = with_buttons(chat, second)
    ticket = await latest_ticket(database)

    await chat.press(company.it_agent, EN("tickets.button_take"))
    await chat.inbox(second)
    expected = EN("live.ticket_taken", number=ticket.number, title=ticket.title, agent="Ivan IT")
    assert now_reads(chat, ines_asked) == expected
    assert now_reads(chat, ivan_asked) == expected


async def test_a_slow_delivery_does_not_hold_up_anyone_s_turn(chat: Chat, company: Company, database: Database) -> None:
    await chat.say(company.alice, "annual leave from 14 to 18 December")
    await chat.say(company.alice, "yes")  # Maria's Approve/Reject is queued
    slow = RecordingChannel("console", delay=2.0)
    sending = asyncio.create_task(DeliveryWorker(database, {"console": slow}, clock=lambda: chat.now).run_once())
    while slow.attempts == 0:
        await asyncio.sleep(0.01)
    started = time.monotonic()
    said = await chat.say(company.bob, "hi")
    took = time.monotonic() - started
    assert said.replies and not sending.done()
    assert took < 1.0, took
    assert len((await sending).delivered) == 1

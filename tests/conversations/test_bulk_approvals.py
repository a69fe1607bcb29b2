"""Approving several requests at once: "approve all pending" / "approve all from the sales team" lists what would be
approved and asks Yes/No; Yes approves each as a single approval would (requester told, live buttons edited).

Maria Manager decides for Alice (English) and Bob (Russian); Otto Outsider has another manager; Hana is HR.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import update

from actions.i18n import Translator
from actions.leave import describe, span
from storage import leave
from storage.database import Database
from storage.leave import LeaveStatus
from storage.people import Employee
from tests.conversations.conftest import Chat
from tests.conversations.test_approvals import file_leave, request_row
from tests.conversations.test_live_messages import latest_request, now_reads, with_buttons
from tests.factories import Company

EN, RU = Translator("en"), Translator("ru")


async def test_approve_all_pending_lists_them_then_approves_each_and_tells_everyone(
    chat: Chat, company: Company, database: Database
) -> None:
    await chat.say(company.alice, "annual leave from 14 to 18 December")
    await chat.say(company.alice, "yes")
    await chat.inbox(company.manager)
    [asked] = with_buttons(chat, company.manager)
    alices = await latest_request(database)
    bobs = await file_leave(database, company.bob, date(2026, 12, 1), date(2026, 12, 4))
    ottos = await file_leave(database, company.outsider, date(2026, 12, 7), date(2026, 12, 7))  # Oleg's to decide

    said = await chat.say(company.manager, "approve all pending")
    assert said.text.startswith("Approve these 2 requests waiting for you? Each person will be told.")
    assert EN("approvals.item", name="Alice Able", **describe(EN, alices)) in said.text
    assert EN("approvals.item", name="Bob Baker", **describe(EN, bobs)) in said.text
    assert "Otto" not in said.text
    assert [b.label for b in said.buttons] == ["Yes", "No"]
    assert (await request_row(database, alices.id)).status is LeaveStatus.PENDING  # nothing decided before Yes

    said = await chat.press(company.manager, "Yes")
    assert f"Approved: Alice Able, annual leave, {span(EN, date(2026, 12, 14), date(2026, 12, 18))}. I've let them know." in said.text
    assert f"Approved: Bob Baker, annual leave, {span(EN, date(2026, 12, 1), date(2026, 12, 4))}. I've let them know." in said.text
    assert len(said.replies) == 1  # one answer, not one per request

    assert (await request_row(database, alices.id)).status is LeaveStatus.APPROVED
    assert (await request_row(database, bobs.id)).status is LeaveStatus.APPROVED
    assert (await request_row(database, ottos.id)).status is LeaveStatus.PENDING
    [told_bob] = await chat.inbox(company.bob)
    assert told_bob.text.startswith("Хорошие новости")
    assert any(reply.text.startswith("Good news") for reply in await chat.inbox(company.alice))
    await chat.inbox(company.manager)
    assert now_reads(chat, asked) == EN("live.leave_approved", name="Alice Able", decider="Maria Manager", **describe(EN, alices))


async def test_approve_all_from_one_team_in_russian_and_no_changes_nothing(
    chat: Chat, company: Company, database: Database
) -> None:
    async with database.transaction() as session:
        await session.execute(update(Employee).where(Employee.id == company.bob.id).values(department="Sales"))
    alices = await file_leave(database, company.alice, date(2026, 12, 14), date(2026, 12, 18))
    bobs = await file_leave(database, company.bob, date(2026, 12, 1), date(2026, 12, 4))

    said = await chat.say(company.manager, "одобри все заявки от Sales")
    assert said.text.startswith("Одобрить эти ожидающие заявки из Sales (1)?")
    assert RU("approvals.item", name="Bob Baker", **describe(RU, bobs)) in said.text
    assert "Alice" not in said.text
    said = await chat.say(company.manager, "нет")
    assert (await request_row(database, bobs.id)).status is LeaveStatus.PENDING
    assert (await request_row(database, alices.id)).status is LeaveStatus.PENDING
    assert await chat.inbox(company.bob) == []


async def test_one_decided_meanwhile_is_reported_and_the_rest_approved(chat: Chat, company: Company, database: Database) -> None:
    alices = await file_leave(database, company.alice, date(2026, 12, 14), date(2026, 12, 18))
    bobs = await file_leave(database, company.bob, date(2026, 12, 1), date(2026, 12, 4))
    said = await chat.say(company.manager, "approve everything")
    assert "Approve these 2 requests" in said.text

    async with database.transaction() as session:  # HR rejects Alice's while Maria reads the list
        hr = await session.get(Employee, company.hr.id)
        assert hr is not None
        await leave.decide(session, hr, alices.id, approve=False)
    said = await chat.press(company.manager, "Yes")
    assert "was already rejected by Hana HR" in said.text
    assert "Approved: Bob Baker" in said.text
    assert (await request_row(database, alices.id)).status is LeaveStatus.REJECTED
    assert (await request_row(database, bobs.id)).status is LeaveStatus.APPROVED


async def test_someone_with_nothing_to_decide_is_told_so(chat: Chat, company: Company, database: Database) -> None:
    await file_leave(database, company.bob, date(2026, 12, 1), date(2026, 12, 4))
    said = await chat.say(company.alice, "approve all pending")
    assert said.text == "Nothing is waiting for your decision right now."
    assert not said.buttons


async def test_approve_all_from_a_name_nobody_waiting_has_approves_nothing_and_says_who_waits(
    chat: Chat, company: Company, database: Database
) -> None:
    async with database.transaction() as session:
        await session.execute(update(Employee).where(Employee.id == company.bob.id).values(department="Sales"))
    alices = await file_leave(database, company.alice, date(2026, 12, 14), date(2026, 12, 18))
    bobs = await file_leave(database, company.bob, date(2026, 12, 1), date(2026, 12, 4))

    said = await chat.say(company.manager, "approve all from the zebra team")
    assert said.text == EN("approvals.bulk_nobody_named", named="the zebra team", who="Alice Able (Test), Bob Baker (Sales)")
    assert not said.buttons and "#" not in said.text  # no list of requests to say yes to
    said = await chat.say(company.manager, "одобри все заявки от Зины")
    assert said.text == RU("approvals.bulk_nobody_named", named="Зины", who="Alice Able (Test), Bob Baker (Sales)")
    said = await chat.say(company.manager, "да")
    assert said.text == RU("core.nothing_to_confirm")

    assert (await request_row(database, alices.id)).status is LeaveStatus.PENDING
    assert (await request_row(database, bobs.id)).status is LeaveStatus.PENDING


async def test_approve_all_from_one_person_lists_only_theirs_and_from_my_team_means_everyone(
    chat: Chat, company: Company, database: Database
) -> None:
    alices = await file_leave(database, company.alice, date(2026, 12, 14), date(2026, 12, 18))
    bobs = await file_leave(database, company.bob, date(2026, 12, 1), date(2026, 12, 4))

    said = await chat.say(company.manager, "approve all requests from Bob")
    assert said.text.startswith(EN("approvals.bulk_confirm_person", count="1", name="Bob Baker"))
    assert EN("approvals.item", name="Bob Baker", **describe(EN, bobs)) in said.text and "Alice" not in said.text
    await chat.press(company.manager, "Yes")
    assert (await request_row(database, bobs.id)).status is LeaveStatus.APPROVED
    assert (await request_row(database, alices.id)).status is LeaveStatus.PENDING

    said = await chat.say(company.manager, "approve all pending requests from my team")
    assert said.text.startswith(EN("approvals.bulk_confirm", count="1"))
    assert "Alice Able" in said.text


@pytest.mark.parametrize("text", ["εγκρίνετε όλες τις αιτήσεις των υπαλλήλων μου", "одобри все заявки из списка"])
async def test_approve_all_of_my_people_in_greek_or_from_the_list_in_russian_means_everyone(
    chat: Chat, company: Company, database: Database, text: str
) -> None:
    await file_leave(database, company.alice, date(2026, 12, 14), date(2026, 12, 18))
    await file_leave(database, company.bob, date(2026, 12, 1), date(2026, 12, 4))
    said = await chat.say(company.manager, text)
    assert said.buttons and "Alice Able" in said.text and "Bob Baker" in said.text  # both offered, not "nobody called …"

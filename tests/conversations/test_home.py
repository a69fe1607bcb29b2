"""The home page (actions/home.py, bot/home.py) through the router, on a recording channel that has home pages: what
the page shows, a decision pressed on it, where its replies go, and the refreshes the core stores when data changes."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from actions.payloads import HomeDecision, encode
from actions.replies import Reply
from bot import home
from storage import leave
from storage.database import Database
from storage.inbox import InboxUpdate
from storage.leave import LeaveStatus
from storage.people import Employee
from tests.channels.recording import RecordingChannel
from tests.conversations.conftest import NOW, Chat
from tests.factories import Company

RU_NOT_YOURS = "Решение по заявке №{id} может принять только руководитель сотрудника или отдел кадров."


class HomeChannel(RecordingChannel):
    """A recording channel with a home page per person (a `HomeTab`, as Slack is)."""

    def __init__(self) -> None:
        super().__init__("console")
        self.pages: dict[str, list[Reply]] = {}

    async def publish_home(self, user_id: str, reply: Reply) -> None:
        self.pages.setdefault(user_id, []).append(reply)


async def file_leave(database: Database, who: Employee) -> int:
    async with database.transaction() as session:
        request = await leave.request_leave(
            session, who, leave_type="annual", start=date(2026, 12, 14), end=date(2026, 12, 18), today=NOW.date()
        )
        return request.id


async def open_home(chat: Chat, who: Employee, payload: str = home.SHOW) -> Reply:
    receipt = await chat.router().receive(home.update("console", who.email, payload=payload), chat.channel)
    assert receipt.sent == []  # a page is no chat message
    assert isinstance(chat.channel, HomeChannel)
    return chat.channel.pages[who.email][-1]


async def status(database: Database, request_id: int) -> LeaveStatus:
    async with database.reading() as session:
        return (await leave.get_request(session, request_id)).status


async def refreshes(database: Database) -> list[InboxUpdate]:
    async with database.reading() as session:
        rows = await session.scalars(select(InboxUpdate).where(InboxUpdate.key.startswith("home:")).order_by(InboxUpdate.id))
        return list(rows)


async def test_a_managers_page_lists_what_waits_and_approving_on_it_decides_and_tells_the_employee(
    chat: Chat, company: Company, database: Database
) -> None:
    chat.channel = HomeChannel()
    request_id = await file_leave(database, company.alice)
    page = await open_home(chat, company.manager)
    assert "Waiting for your decision: 1." in page.as_text() and f"#{request_id} Alice Able" in page.as_text()
    assert [button.label for button in page.buttons] == [f"Approve #{request_id}", f"Reject #{request_id}"]

    page = await open_home(chat, company.manager, page.buttons[0].payload)
    assert page.text.splitlines()[1].startswith("Approved: Alice Able, annual leave")
    assert page.buttons == () and "Nothing is waiting for your decision right now." in page.text
    assert await status(database, request_id) is LeaveStatus.APPROVED
    assert "approved by Maria Manager" in (await chat.inbox(company.alice))[-1].text


async def test_a_decision_pressed_by_someone_who_may_not_decide_changes_nothing(chat: Chat, company: Company, database: Database) -> None:
    chat.channel = HomeChannel()
    request_id = await file_leave(database, company.alice)
    page = await open_home(chat, company.bob, encode(HomeDecision(request_id, approve=True)))
    assert page.text.splitlines()[:2] == ["Bob Baker, вот как обстоят дела.", RU_NOT_YOURS.format(id=request_id)]  # his language
    assert await status(database, request_id) is LeaveStatus.PENDING and await chat.inbox(company.alice) == []


async def test_an_employees_page_tells_what_is_empty(chat: Chat, company: Company) -> None:
    chat.channel = HomeChannel()
    page = await open_home(chat, company.alice)
    assert "None of your leave requests is awaiting a decision." in page.text and "You have no open IT tickets." in page.text
    assert "Your leave for 2026:" in page.as_text() and page.buttons == ()
    assert "Nothing is waiting for your decision" not in page.text  # not a manager


async def test_a_page_is_dropped_where_the_channel_has_none(chat: Chat, company: Company) -> None:
    receipt = await chat.router().receive(home.update("console", company.alice.email), chat.channel)
    assert receipt.sent == [] and chat.channel.sent == []


async def test_a_change_stores_one_refresh_of_the_speakers_page_and_a_delivery_one_of_the_recipients(
    chat: Chat, company: Company, database: Database
) -> None:
    chat.channel = HomeChannel()
    yes = (await chat.say(company.alice, "annual leave from 14 to 18 December")).button("Yes")
    await chat.press_payload(company.alice, yes.payload, event_id="ev-yes")
    await chat.press_payload(company.alice, yes.payload, event_id="ev-yes")  # the platform's retry: no second refresh
    stored = await refreshes(database)
    assert [(row.key, row.chat_id, row.incoming["payload"]) for row in stored] == [("home:ev-yes", company.alice.email, home.SHOW)]

    await chat.inbox(company.manager)  # the request reaches Maria: her page is to be refreshed too
    assert [row.chat_id for row in await refreshes(database)] == [company.alice.email, company.manager.email]


async def test_nothing_is_stored_for_a_platform_without_pages(chat: Chat, company: Company, database: Database) -> None:
    await chat.say(company.alice, "annual leave from 14 to 18 December")
    await chat.press(company.alice, "Yes")
    await chat.inbox(company.manager)
    assert await refreshes(database) == []

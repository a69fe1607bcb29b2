"""The Slack App Home tab, end to end: `app_home_opened` and Home-tab button presses POSTed, signed, to the running
service; the page published with `views.publish` to the fake Slack Web API; refreshed after the person's data
changes (their own turn, a notification delivered to them)."""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from actions.replies import Button, Reply, Table
from bot.channels.slack import SlackChannel
from bot.channels.slack.web import web_client
from bot.channels.slack_blocks import MAX_HOME_BLOCKS, render_home
from storage import leave, people, tickets
from storage.database import Database
from storage.leave import LeaveRequest, LeaveStatus
from storage.people import Employee, Role
from tests.channels.slack_events import ALICE, ALICE_DM, Running, block_actions, dm, event
from tests.channels.slack_fake import TEAM_ID, FakeSlack
from tests.running import NOW, until

MARIA, BOB, HANA, IVAN, IRINA = "UMARIA", "UBOB", "UHANA", "UIVAN", "UIRINA"
PEOPLE = {ALICE: "alice@example.com", MARIA: "maria@example.com", BOB: "bob@example.com", HANA: "hana@example.com"}
TODAY = NOW.date()


def home_opened(event_id: str, user: str, *, tab: str = "home") -> bytes:
    return event(event_id, {"type": "app_home_opened", "user": user, "channel": f"D{user}", "tab": tab,
                            "event_ts": f"{time.time():.6f}", "view": {"id": f"V{user}", "type": "home"}})


def home_press(button: dict[str, Any], *, user: str) -> bytes:
    """A press on the Home tab, as Slack sends it: the container is the view, there is no channel or message."""
    payload = {
        "type": "block_actions", "team": {"id": TEAM_ID}, "user": {"id": user, "team_id": TEAM_ID}, "api_app_id": "A1",
        "container": {"type": "view", "view_id": f"V{user}"}, "trigger_id": "1.2.3",
        "view": {"id": f"V{user}", "type": "home", "team_id": TEAM_ID, "blocks": [], "private_metadata": "",
                 "callback_id": "", "hash": "1.2", "app_id": "A1", "bot_id": "BBOT"},
        "actions": [{"type": "button", "action_id": button["action_id"], "block_id": "b1", "value": button["value"],
                     "text": button["text"], "action_ts": f"{time.time():.6f}"}],
    }
    return urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()


def text_of(view: dict[str, Any]) -> str:
    """Everything a person reads on the page: section texts and fields."""
    parts: list[str] = []
    for block in view["blocks"]:
        if block["type"] == "section":
            parts.extend([block["text"]["text"]] if "text" in block else [])
            parts.extend(field["text"] for field in block.get("fields", []))
    return "\n".join(parts)


def buttons_of(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [element for block in view["blocks"] if block["type"] == "actions" for element in block["elements"]]


def publishes(running: Running, user: str) -> list[dict[str, Any]]:
    return [call.args["view"] for call in running.slack.calls_to("views.publish") if call.args["user_id"] == user]


@asynccontextmanager
async def company_of(running: Running) -> AsyncIterator[tuple[AsyncSession, dict[str, Employee]]]:
    """The running service's database in a transaction, and its people by Slack user id (linked on first use)."""
    database = Database(running.database_url)
    try:
        async with database.transaction() as session:
            found = {user: await people.find_by_email(session, email) for user, email in PEOPLE.items()}
            yield session, {user: employee for user, employee in found.items() if employee is not None}
    finally:
        await database.dispose()


async def prepare(running: Running, *, link: tuple[str, ...] = (), languages: dict[str, str] | None = None,
                  leave_for: tuple[str, ...] = (), ticket_for: tuple[str, ...] = ()) -> list[int]:
    """Link people on Slack, set their languages, file a pending annual leave request (14–18 Dec) and raise a ticket
    for some of them; the request ids, in order."""
    async with company_of(running) as (session, staff):
        for user in link:
            await people.link_identity(session, staff[user], "slack", user)
        for user, language in (languages or {}).items():
            staff[user].language = language
        filed = [
            await leave.request_leave(session, staff[user], leave_type="annual", start=date(2026, 12, 14), end=date(2026, 12, 18), today=TODAY)
            for user in leave_for
        ]
        for user in ticket_for:
            await tickets.create_ticket(session, staff[user], description="The printer on floor 3 jams on every page", now=NOW)
        return [request.id for request in filed]


async def status_of(running: Running, request_id: int) -> LeaveStatus:
    async with company_of(running) as (session, _):
        return (await session.scalars(select(LeaveRequest).where(LeaveRequest.id == request_id))).one().status


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        (ALICE, ["Alice Able, here is where things stand.", "Your leave for 2026:", "Your leave requests awaiting a decision (1):",
                 "Mon 14 Dec – Fri 18 Dec", "Your open IT tickets (1):", "The printer on floor 3 jams"]),
        (BOB, ["Bob Baker, вот как обстоят дела.", "Ваши дни отпуска на 2026 год:", "Ваши заявки на отпуск, ожидающие решения (1):",
               "Ваши открытые заявки в IT (1):", "The printer on floor 3 jams"]),
    ],
)
async def test_an_employee_opening_the_home_tab_sees_balance_pending_requests_and_tickets_in_their_language(
    running: Running, user: str, expected: list[str]
) -> None:
    [request_id] = await prepare(running, link=(BOB,), leave_for=(user,), ticket_for=(user,))
    assert (await running.post(home_opened("EvHome1", user))).status_code == 200
    await until(lambda: user in running.slack.homes)
    view = running.slack.homes[user]
    shown = text_of(view)
    assert view["type"] == "home" and len(view["blocks"]) <= MAX_HOME_BLOCKS
    for words in expected:
        assert words in shown, (words, shown)
    assert f"#{request_id}" in shown
    assert buttons_of(view) == []  # nothing for them to decide
    assert running.slack.calls_to("chat.postMessage") == []  # the page only: nothing in a chat


@pytest.mark.parametrize(
    ("language", "approve", "approved", "none_waiting"),
    [
        ("en", "Approve #{id}", "Approved: Alice Able, annual leave", "Nothing is waiting for your decision right now."),
        ("ru", "Одобрить №{id}", "Одобрено: Alice Able, ежегодный отпуск", "Сейчас ничего не ждёт вашего решения."),
    ],
)
async def test_a_manager_approves_from_the_home_tab_the_employee_is_told_and_both_pages_are_republished(
    running: Running, language: str, approve: str, approved: str, none_waiting: str
) -> None:
    [request_id] = await prepare(running, link=(MARIA,), languages={MARIA: language}, leave_for=(ALICE,))
    assert (await running.post(home_opened("EvHomeMaria", MARIA))).status_code == 200
    await until(lambda: MARIA in running.slack.homes)
    page = running.slack.homes[MARIA]
    labels = [button["text"]["text"] for button in buttons_of(page)]
    assert labels[:1] == [approve.format(id=request_id)] and len(labels) == 2  # Approve and Reject, for that request
    assert "Alice Able" in text_of(page)

    button = buttons_of(page)[0]
    assert (await running.press(home_press(button, user=MARIA))).status_code == 200
    await until(lambda: len(publishes(running, MARIA)) == 2)
    republished = publishes(running, MARIA)[-1]
    assert buttons_of(republished) == []  # that approval is gone
    assert approved in text_of(republished) and none_waiting in text_of(republished)
    assert await status_of(running, request_id) is LeaveStatus.APPROVED

    # Alice is told in her direct message (opened for her), and her own page is refreshed: nothing pending now.
    await until(lambda: any("approved by Maria Manager" in text for text in running.texts(f"D{ALICE}")))
    await until(lambda: ALICE in running.slack.homes)
    assert "None of your leave requests is awaiting a decision." in text_of(running.slack.homes[ALICE])


async def test_a_request_filed_in_a_direct_message_refreshes_the_requesters_and_the_managers_pages(running: Running) -> None:
    await prepare(running, link=(MARIA,))
    assert (await running.post(dm("EvFile", "annual leave from 14 to 18 December"))).status_code == 200
    await until(lambda: any(block["type"] == "actions" for args in running.slack.posted(ALICE_DM) for block in args["blocks"]))
    (channel, ts), question = next((key, args) for key, args in running.slack.messages.items() if any(b["type"] == "actions" for b in args["blocks"]))
    yes = next(block for block in question["blocks"] if block["type"] == "actions")["elements"][0]
    assert (await running.press(block_actions(yes["value"], yes["text"]["text"], message_ts=ts, channel=channel))).status_code == 200

    # No one opened a Home tab: both pages are published because the data behind them changed.
    await until(lambda: ALICE in running.slack.homes and MARIA in running.slack.homes)
    assert "Your leave requests awaiting a decision (1):" in text_of(running.slack.homes[ALICE])
    managers = running.slack.homes[MARIA]
    assert "Waiting for your decision: 1." in text_of(managers) and [b["text"]["text"] for b in buttons_of(managers)] == ["Approve #1", "Reject #1"]
    assert any(block["type"] == "actions" for args in running.slack.posted(f"D{MARIA}") for block in args["blocks"])  # and her DM


async def test_a_request_hr_decided_leaves_the_managers_page_without_a_visit(running: Running) -> None:
    # HR approves by text; the manager hears nothing of it, but her card about the request is edited — and that edit
    # refreshes her page too, so it stops offering a decision that was taken.
    await prepare(running, link=(MARIA, HANA))
    assert (await running.post(dm("EvFile", "annual leave from 14 to 18 December"))).status_code == 200
    await until(lambda: any(block["type"] == "actions" for args in running.slack.posted(ALICE_DM) for block in args["blocks"]))
    (channel, ts), question = next((key, args) for key, args in running.slack.messages.items() if key[0] == ALICE_DM)
    yes = next(block for block in question["blocks"] if block["type"] == "actions")["elements"][0]
    assert (await running.press(block_actions(yes["value"], yes["text"]["text"], message_ts=ts, channel=channel))).status_code == 200
    await until(lambda: bool(publishes(running, MARIA)))
    assert "Waiting for your decision: 1." in text_of(publishes(running, MARIA)[-1])

    assert (await running.post(dm("EvHana", "approve 1", user=HANA, channel=f"D{HANA}"))).status_code == 200
    await until(lambda: not any(b["type"] == "actions" for args in running.slack.posted(f"D{MARIA}") for b in args["blocks"]))
    await until(lambda: len(publishes(running, MARIA)) == 2)
    republished = publishes(running, MARIA)[-1]
    assert "Nothing is waiting for your decision right now." in text_of(republished) and buttons_of(republished) == []


async def test_a_ticket_another_agent_took_leaves_the_other_agents_queue_without_a_visit(running: Running) -> None:
    # An IT agent's page shows their queue. Ivan's Take edits Irina's copy of the new-ticket card (no message of
    # her own tells her): the edit refreshes her page too, so it stops listing a ticket that is Ivan's now.
    async with company_of(running) as (session, _):
        ivan = await people.find_by_email(session, "ivan@example.com")
        assert ivan is not None
        irina = Employee(email="irina@example.com", name="Irina IT", department="IT", job_title="IT support", manager_id=ivan.manager_id)
        irina.set_roles([Role.EMPLOYEE, Role.IT_AGENT])
        session.add(irina)
        await session.flush()
        await people.link_identity(session, ivan, "slack", IVAN)
        await people.link_identity(session, irina, "slack", IRINA)
    assert (await running.post(dm("EvLaptop", "my laptop won't turn on"))).status_code == 200
    await until(lambda: any(block["type"] == "actions" for args in running.slack.posted(ALICE_DM) for block in args["blocks"]))
    (channel, ts), question = next((key, args) for key, args in running.slack.messages.items() if key[0] == ALICE_DM)
    yes = next(block for block in question["blocks"] if block["type"] == "actions")["elements"][0]
    assert (await running.press(block_actions(yes["value"], yes["text"]["text"], message_ts=ts, channel=channel))).status_code == 200
    await until(lambda: bool(publishes(running, IVAN)) and bool(publishes(running, IRINA)))  # the new ticket on both pages
    assert "Your IT queue (1)" in text_of(publishes(running, IRINA)[-1]) and "#1" in text_of(publishes(running, IRINA)[-1])

    (card_channel, card_ts), card = next((key, args) for key, args in running.slack.messages.items() if key[0] == f"D{IVAN}")
    take = next(block for block in card["blocks"] if block["type"] == "actions")["elements"][0]
    pressed = block_actions(take["value"], take["text"]["text"], message_ts=card_ts, channel=card_channel, user=IVAN)
    assert (await running.press(pressed)).status_code == 200
    await until(lambda: len(publishes(running, IRINA)) == 2)
    assert "Your IT queue is empty" in text_of(publishes(running, IRINA)[-1])
    await until(lambda: "Your IT queue (1)" in text_of(publishes(running, IVAN)[-1]))  # his now


async def test_opening_the_messages_tab_records_nothing(running: Running) -> None:
    assert (await running.post(home_opened("EvMessagesTab", ALICE, tab="messages"))).status_code == 200
    assert await running.inbox_rows() == 0 and running.slack.calls_to("views.publish") == []


async def test_someone_not_linked_is_told_so_on_the_home_tab_and_nowhere_else(running: Running) -> None:
    assert (await running.post(home_opened("EvStranger", "USTRANGER"))).status_code == 200
    await until(lambda: "USTRANGER" in running.slack.homes)
    assert "link" in text_of(running.slack.homes["USTRANGER"]).lower()
    assert running.slack.calls_to("chat.postMessage") == [] and running.slack.calls_to("chat.postEphemeral") == []


# --- the channel on its own -------------------------------------------------------------------------------------


async def test_publish_home_sends_a_home_view_whose_buttons_keep_their_action_ids() -> None:
    async with FakeSlack() as slack:
        channel = SlackChannel(web_client(slack.token, slack.url))
        await channel.publish_home("U7", Reply("Hi <!here>", buttons=(Button("Approve #3", "home:approve:3"),)))
        await channel.close()
        view = slack.homes["U7"]
    assert view["type"] == "home" and "&lt;!here&gt;" in view["blocks"][0]["text"]["text"]
    assert buttons_of(view) == [{"type": "button", "text": {"type": "plain_text", "text": "Approve #3"},
                                 "action_id": "home-0", "value": "home:approve:3"}]


def test_a_home_view_holds_at_most_100_blocks_and_keeps_its_buttons() -> None:
    rows = tuple((f"row {n}", "x" * 2900) for n in range(150))
    blocks = render_home(Reply("Many", buttons=(Button("Approve #1", "home:approve:1"),), blocks=(Table(("a", "b"), rows),)))
    assert len(blocks) == MAX_HOME_BLOCKS and blocks[-1]["type"] == "actions"


def test_a_row_whose_number_has_its_mark_already_is_not_marked_twice() -> None:
    table = Table(("#", "Type"), (("#12", "Annual"), ("#13 Alice Able", "Sick"), ("14", "Unpaid")))
    [section] = render_home(Reply("", blocks=(table,)))[-1:]
    assert section["text"]["text"] == "*#12*\nType: Annual\n\n*#13 Alice Able*\nType: Sick\n\n*#14*\nType: Unpaid"

"""No input may crash a turn: forged and malformed button payloads, ids out of any range, forms opened without
what they need, old confirmations, absurd dates, text that is not storable as it came — each is answered (no
error id, no apology), changes nothing it shouldn't, and never shows one person another's pay.

These tests talk to the dialogue core directly (not through the conversation harness) so that the `Turn` it
returns — and its `error_id`, set only when the error boundary caught something — can be checked.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from actions import default_routes
from actions.i18n import Translator
from actions.payloads import MAX_ID, FormAnswer, SlotChoice, decode_as
from actions.reminders import UTC, read_time
from bot.assistant import load_catalogue
from bot.dialogue import Dialogue
from bot.messages import Destination, Incoming, Turn
from nlu import Interpreter
from storage import leave, payroll, people
from storage.audit import AuditEntry
from storage.database import Database
from storage.demo import seed_demo
from storage.escalations import Escalation, EscalationMessage
from storage.leave import LeaveBalance, LeaveRequest, LeaveStatus, LeaveType
from storage.outbox import OutboxMessage
from storage.payroll import LineInput, LineKind
from storage.people import Employee, Role
from storage.schedules import Schedule
from storage.stock import LocationKind, StockItem, StockLevel, StockLocation
from storage.tickets import Ticket
from tests.conversations.conftest import NOW
from tests.factories import Company, person

T = TypeVar("T")
EN = Translator("en")
EXPIRED = EN("core.button_expired")


def text_of(turn: Turn) -> str:
    return "\n".join(reply.as_text() for reply in turn.replies)


@dataclass
class Talk:
    """One person at a time, in their private chat (or the group), straight into the dialogue core."""

    dialogue: Dialogue
    sent: int = 0

    async def say(self, who: Employee, text: str, *, group: bool = False) -> Turn:
        return await self._send(who, text=text, payload=None, group=group)

    async def press(self, who: Employee, payload: str) -> Turn:
        return await self._send(who, text="", payload=payload, group=False)

    async def _send(self, who: Employee, *, text: str, payload: str | None, group: bool) -> Turn:
        self.sent += 1
        turn = await self.dialogue.handle(
            Incoming(
                platform="console",
                chat_id="group:general" if group else f"dm:{who.email}",
                user_id=who.email,
                private=not group,
                text=text,
                payload=payload,
                at=NOW,
                event_id=f"hostile-{self.sent}",
            )
        )
        assert turn.error_id is None, f"the turn failed for {payload or text!r}"
        assert turn.replies, f"no answer to {payload or text!r}"
        return turn


@pytest.fixture
async def talk(database: Database, interpreter: Interpreter, company: Company) -> Talk:
    await load_catalogue(database, interpreter)
    return Talk(Dialogue(database, interpreter, default_routes(), clock=lambda: NOW, timezone="Asia/Tashkent"))


def buttons(turn: Turn) -> dict[str, str]:
    return {button.label: button.payload for reply in turn.replies for button in reply.buttons}


async def rows(database: Database, model: type[T]) -> list[T]:
    async with database.sessions() as session:
        return list(await session.scalars(select(model)))


# --- malformed and forged payloads -------------------------------------------------------------------------------

HOSTILE_IDS = ("²", "№5", "٤٢", "0", "-1", "042", "4 2", "", str(MAX_ID + 1), "99999999999999999999", "9" * 60, "1e3", "0x1")
FAMILIES = (
    "leave:approve:{}",
    "leave:reject:{}",
    "leave:cancel:{}",
    "payslip:show:latest:{}",
    "payslip:show:2026-10:{}",
    "hr:reply:{}",
    "hr:answer:{}",
    "hr:close:{}",
    "ticket:show:{}",
    "ticket:take:{}",
    "ticket:close:{}",
    "ticket:reopen:{}",
    "ticket:answer:{}",
    "stock:show:{}",
    "reminder:cancel:{}",
    "slot:0123abcd:{}",
    "form:yes:{}",
    "home:approve:{}",
    "home:reject:{}",
)
MALFORMED = (
    "",
    ":",
    "::::",
    "leave",
    "leave:approve",
    "leave:approve:1:2",
    "leave:explode:1",
    "payslip:show:0000-01",
    "payslip:show:2026-13",
    "payslip:show:2026-10\n",
    "payslip:show:２０２６-10",
    "form:yes",
    "form:no",
    "form:maybe:0123abcd",
    "slot:",
    "slot:leave_request",
    "slot:leave_request:leave_type:annual",
    "slot:reminder_set:time:x",
    "slot:leave_request:start_date:null",
    "intent:",
    "intent:Help",
    "intent:../../etc",
    "intent:no_such_intent",
    "\ud800",
    "leave:approve:1 ",
    "leave:approve: 1",
    "LEAVE:approve:1",
    "é" * 40,
    "x" * 500,
)


async def test_every_family_with_a_hostile_id_is_an_expired_button(talk: Talk, company: Company, database: Database) -> None:
    pressed = [family.format(value) for family in FAMILIES for value in HOSTILE_IDS]
    answers = {payload: text_of(await talk.press(company.hr, payload)) for payload in pressed}
    assert {payload: answer for payload, answer in answers.items() if answer != EXPIRED} == {}
    assert await rows(database, AuditEntry) == []


async def test_malformed_payloads_are_expired_buttons(talk: Talk, company: Company, database: Database) -> None:
    await talk.say(company.alice, "remind me to call the bank")  # a form is open: forged slots must not fill it
    answers = {payload: text_of(await talk.press(company.alice, payload)) for payload in MALFORMED}
    assert {payload: answer for payload, answer in answers.items() if answer != EXPIRED} == {}
    assert await rows(database, OutboxMessage) == [] and await rows(database, Schedule) == []


async def test_well_formed_ids_of_nothing_are_told_as_not_found(talk: Talk, company: Company) -> None:
    said = text_of(await talk.press(company.manager, f"leave:approve:{MAX_ID}"))
    assert said == EN("error.leave_not_found", request_id=MAX_ID)
    assert text_of(await talk.press(company.hr, f"stock:show:{MAX_ID}")) == EXPIRED
    assert text_of(await talk.press(company.it_agent, f"ticket:take:{MAX_ID}")) != EXPIRED  # "no such ticket", told


async def test_ids_out_of_range_in_text_are_answered(talk: Talk, company: Company) -> None:
    for text in ("approve 99999999999999999999", "approve 2147483648", "ticket 99999999999999999999 resolved", "status of request ²"):
        await talk.say(company.manager, text)
    await talk.say(company.it_agent, "ticket №99999999999999999999 resolved")


@pytest.mark.parametrize("intent", ["stock_movement", "hr_reply", "ticket_answer", "leave_cancel_confirm"])
async def test_a_forged_intent_button_cannot_open_a_form_that_needs_prefilled_slots(
    talk: Talk, company: Company, database: Database, intent: str
) -> None:
    assert text_of(await talk.press(company.keeper, f"intent:{intent}")) == EXPIRED
    said = await talk.say(company.keeper, "hello")  # and nothing was left half-open
    assert text_of(said).startswith(EN("smalltalk.greet", name="Kate"))


async def test_the_intent_buttons_offered_still_work(talk: Talk, company: Company) -> None:
    assert text_of(await talk.press(company.alice, "intent:help")).startswith(EN("smalltalk.help_intro", name="Alice"))
    assert text_of(await talk.press(company.alice, "intent:hr_escalate")) == EN("escalations.ask_message")


# --- form buttons are bound to the form instance that showed them ---------------------------------------------------


async def test_an_older_confirmation_s_yes_does_not_confirm_the_form_open_now(talk: Talk, company: Company, database: Database) -> None:
    sick = await talk.say(company.alice, "I need sick leave tomorrow")
    old_yes = buttons(sick)["Yes"]
    assert decode_as(FormAnswer, old_yes) is not None
    await talk.say(company.alice, "cancel")
    reminder = await talk.say(company.alice, "remind me at 5pm to submit the report")
    assert buttons(reminder)["Yes"] != old_yes

    assert text_of(await talk.press(company.alice, old_yes)) == EXPIRED
    assert await rows(database, LeaveRequest) == []
    assert await rows(database, Schedule) == []  # and the reminder was not set by it either

    assert text_of(await talk.press(company.alice, buttons(reminder)["Yes"])).startswith("Done")
    assert len(await rows(database, Schedule)) == 1
    assert text_of(await talk.press(company.alice, buttons(reminder)["Yes"])) == EXPIRED  # pressed twice: once


async def test_a_yes_under_a_summary_whose_values_changed_since_does_not_confirm_them(
    talk: Talk, company: Company, database: Database
) -> None:
    first = await talk.say(company.alice, "I need sick leave tomorrow")
    old_yes = buttons(first)["Yes"]
    changed = await talk.say(company.alice, "no wait, the day after tomorrow")  # a correction at the confirmation
    assert "Wed 25 Nov" in text_of(changed) and buttons(changed)["Yes"] != old_yes
    assert text_of(await talk.press(company.alice, old_yes)) == EXPIRED  # it was shown under other dates
    assert await rows(database, LeaveRequest) == []
    assert text_of(await talk.press(company.alice, buttons(changed)["Yes"])).startswith("Done")


async def test_a_choice_is_one_the_form_offered_and_only_while_it_is_asked(talk: Talk, company: Company, database: Database) -> None:
    asked = await talk.say(company.alice, "I need leave")
    offered = buttons(asked)
    annual = decode_as(SlotChoice, offered["Annual leave"])
    assert annual is not None and len(offered["Annual leave"]) <= 64
    forged = f"slot:{annual.instance}:{len(offered)}"  # the right instance, a choice it never offered
    assert text_of(await talk.press(company.alice, forged)) == EXPIRED

    said = await talk.press(company.alice, offered["Sick leave"])
    assert text_of(said) == EN("leave.ask_dates", what=EN("leave.type.sick"))
    assert text_of(await talk.press(company.alice, offered["Annual leave"])) == EXPIRED  # that question is answered
    said = await talk.say(company.alice, "tomorrow")
    assert "Sick leave" in text_of(said)


async def test_cancel_request_0_at_the_withdraw_confirmation(talk: Talk, company: Company, database: Database) -> None:
    said = await talk.say(company.alice, "annual leave from 14 to 18 December")
    await talk.press(company.alice, buttons(said)["Yes"])
    [request] = await rows(database, LeaveRequest)
    said = await talk.say(company.alice, f"cancel request {request.id}")
    assert f"#{request.id}" in text_of(said) and "Yes" in buttons(said)

    await talk.say(company.alice, "cancel request 0")
    await talk.say(company.alice, "cancel request 99999999999999999999")
    [still] = await rows(database, LeaveRequest)
    assert still.status is LeaveStatus.PENDING


# --- business rules: a year at most, years shown, admins don't decide leave, only your own pay ---------------------


async def test_leave_to_the_year_9999_is_refused_at_once(talk: Talk, company: Company, database: Database) -> None:
    started = time.perf_counter()
    said = await talk.say(company.alice, "annual leave from 1 December 2026 to 31 December 9999")
    assert time.perf_counter() - started < 3
    assert "at most a year" in text_of(said)
    said = await talk.say(company.alice, "unpaid leave from 1 December 2026 to 31 December 2099")
    assert "at most a year" in text_of(said) and "Yes" not in buttons(said)
    assert await rows(database, LeaveRequest) == []


async def test_a_request_can_last_a_year_but_not_a_day_more(database: Database, company: Company) -> None:
    start = date(2026, 12, 1)
    async with database.transaction() as session:
        alice = await session.get(Employee, company.alice.id)
        assert alice is not None
        plan = await leave.preview(session, alice, leave_type="unpaid", start=start, end=start + timedelta(days=365), today=NOW.date())
        assert plan.end == date(2027, 12, 1)
        with pytest.raises(leave.InvalidRequest) as refused:
            await leave.preview(session, alice, leave_type="unpaid", start=start, end=start + timedelta(days=366), today=NOW.date())
    assert refused.value.code == "leave_too_long"


async def test_the_confirmation_shows_the_year_when_it_is_not_this_one(talk: Talk, company: Company) -> None:
    said = await talk.say(company.alice, "annual leave from 11 to 15 January 2027")
    assert EN.date(date(2027, 1, 11)) in text_of(said) and "Yes" in buttons(said)


async def make_admin(database: Database, company: Company) -> Employee:
    """Otto (no manager, not HR, not Alice's manager) becomes an admin."""
    async with database.transaction() as session:
        otto = await session.get(Employee, company.outsider.id)
        assert otto is not None
        otto.set_roles([Role.ADMIN])
    return company.outsider


async def test_an_admin_does_not_decide_leave_unless_manager_or_hr(talk: Talk, company: Company, database: Database) -> None:
    admin = await make_admin(database, company)
    await talk.say(company.alice, "annual leave from 14 to 18 December")
    await talk.say(company.alice, "yes")
    [request] = await rows(database, LeaveRequest)
    assert request.status is LeaveStatus.PENDING

    assert text_of(await talk.say(admin, "what is waiting for my approval")) == EN("approvals.none")
    assert text_of(await talk.say(admin, f"approve {request.id}")) == EN("error.not_your_approval", request_id=request.id)
    assert text_of(await talk.press(admin, f"leave:approve:{request.id}")) == EN("error.not_your_approval", request_id=request.id)
    [still] = await rows(database, LeaveRequest)
    assert still.status is LeaveStatus.PENDING

    said = await talk.press(company.manager, f"leave:approve:{request.id}")  # her manager still can
    assert text_of(said).startswith("Approved: Alice Able")

    helped = text_of(await talk.say(admin, "help"))  # and the help doesn't promise it
    assert EN("smalltalk.help_it_agent") in helped and EN("smalltalk.help_approvals") not in helped


async def test_an_admin_who_is_also_hr_decides(database: Database, company: Company) -> None:
    async with database.transaction() as session:
        otto = await session.get(Employee, company.outsider.id)
        alice = await session.get(Employee, company.alice.id)
        assert otto is not None and alice is not None
        otto.set_roles([Role.ADMIN])
        assert not leave.can_decide(otto, alice)
        otto.set_roles([Role.ADMIN, Role.HR])
        assert leave.can_decide(otto, alice)


@pytest.fixture
async def payslips(database: Database, company: Company) -> Employee:
    """Alice and a colleague called Harry Collins have October's payslip; Harry is returned."""
    async with database.transaction() as session:
        harry = person("harry@example.com", "Harry Collins", manager=company.manager)
        session.add(harry)
        await session.flush()
        for owner, amount in ((await session.get(Employee, company.alice.id), "2500.00"), (harry, "9100.00")):
            assert owner is not None
            await payroll.publish_payslip(
                session, owner, period="2026-10", currency="EUR", lines=[LineInput(LineKind.EARNING, "Base salary", Decimal(amount))]
            )
    return harry


async def test_hurry_up_and_show_my_payslip_shows_my_own(
    talk: Talk, company: Company, database: Database, payslips: Employee, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def no_staff_scan(*args: object) -> list[tuple[int, str, str]]:
        raise AssertionError("a payslip question of someone outside HR read the staff list")

    monkeypatch.setattr(people, "directory", no_staff_scan)
    said = await talk.say(company.alice, "hurry up and show my payslip")
    [reply] = said.replies
    assert reply.private and "€2,500.00" in reply.as_text() and "9,100" not in reply.as_text()
    said = await talk.say(company.alice, "show Harry's payslip")
    assert "9,100" not in text_of(said)
    said = await talk.say(company.alice, "show the payslip of harry@example.com")
    assert "only show you your own" in text_of(said)
    views = [entry for entry in await rows(database, AuditEntry) if entry.action == "payslip.viewed"]
    assert {entry.details["employee_id"] for entry in views} == {company.alice.id}


async def test_hr_still_finds_a_colleague_s_payslip_by_name(talk: Talk, company: Company, payslips: Employee) -> None:
    said = await talk.say(company.hr, "show Harry's payslip")
    assert "Harry Collins" in text_of(said) and "€9,100.00" in text_of(said)


# --- text that can't be stored as it came ----------------------------------------------------------------------------

DIRTY = "\ud800 with a lone surrogate,\x00 a NUL\x07 and a bell"


async def test_an_hr_case_with_surrogates_and_nul_is_stored_and_answered(talk: Talk, company: Company, database: Database) -> None:
    await talk.say(company.alice, "I want to talk to HR")
    said = await talk.say(company.alice, f"My contract renewal {DIRTY} needs a decision this week")
    assert "Yes" in buttons(said)
    said = await talk.press(company.alice, buttons(said)["Yes"])
    [case] = await rows(database, Escalation)
    [message] = await rows(database, EscalationMessage)
    assert f"case #{case.id}" in text_of(said)
    assert message.text == "My contract renewal  with a lone surrogate, a NUL and a bell needs a decision this week"


async def test_a_ticket_with_surrogates_and_nul_is_stored_and_answered(talk: Talk, company: Company, database: Database) -> None:
    said = await talk.say(company.alice, f"my laptop screen is broken {DIRTY}")
    said = await talk.press(company.alice, buttons(said)["Yes"])
    [ticket] = await rows(database, Ticket)
    assert f"#{ticket.number}" in text_of(said)
    assert "\x00" not in ticket.description and "\ud800" not in ticket.description and "a NUL and a bell" in ticket.description


async def test_a_reminder_with_surrogates_and_nul_is_stored_and_answered(talk: Talk, company: Company, database: Database) -> None:
    said = await talk.say(company.alice, f"remind me at 5pm to call the bank {DIRTY}")
    said = await talk.press(company.alice, buttons(said)["Yes"])
    assert text_of(said).startswith("Done")
    [reminder] = await rows(database, Schedule)
    assert "a NUL and a bell" in reminder.payload["what"] and "\x00" not in reminder.payload["what"]


async def test_absurd_reminder_times_are_answered(talk: Talk, company: Company, database: Database) -> None:
    for text in ("remind me in 99999999 hours to call", "remind me in 999999999999 days to call"):
        await talk.say(company.alice, text)
        await talk.say(company.alice, "cancel")
    said = await talk.say(company.alice, "remind me on 31 December 9999 at 23:59 to call the bank")
    assert EN("error.reminder_too_far") in text_of(said) and "Yes" not in buttons(said)
    assert await rows(database, Schedule) == []


def test_a_duration_past_the_calendar_is_no_time() -> None:
    moment = datetime(2026, 11, 23, 9, 0)
    assert read_time("PT2H", now=moment, day=None, zone=UTC) == datetime(2026, 11, 23, 11, 0)
    assert read_time("PT99999999H", now=moment, day=None, zone=UTC) is None
    assert read_time("P999999999999D", now=moment, day=None, zone=UTC) is None


async def test_absurd_stock_quantities_are_refused(talk: Talk, company: Company, database: Database, interpreter: Interpreter) -> None:
    async with database.transaction() as session:
        item = StockItem(sku="PAP-A4", name="A4 paper", aliases=["a4"])
        room = StockLocation(code="R1", name="Room 1", kind=LocationKind.SUPPLY_ROOM)
        session.add_all([item, room])
        await session.flush()
        session.add(StockLevel(item_id=item.id, location_id=room.id, quantity=40))
    await load_catalogue(database, interpreter)
    for text in ("received 99999999999999999999 A4 paper in room 1", "issued 2147483648 A4 paper from room 1", "received 0 A4 paper in room 1"):
        await talk.say(company.keeper, text)
    [level] = await rows(database, StockLevel)
    assert level.quantity == 40



# --- thousands of hostile messages and presses, 64 chats at once -------------------------------------------------

DEMO_TODAY = NOW.date()
CHATS = 64
PHRASES = (
    "hi", "help", "yes", "no", "cancel", "thanks", "ok go", "1", "Yes", "No",
    "I need sick leave tomorrow", "annual leave from {n} to {m} December", "study leave from 1 to 4 December",
    "annual leave from 1 December 2026 to 31 December 9999", "unpaid leave from 1 December 2026 to 31 December 2099",
    "annual leave from 11 to 15 January 2027", "what's my leave balance", "status of request {id}", "cancel request {id}",
    "cancel my leave", "what is waiting for my approval", "approve {id}", "reject {id} overlaps the audit",
    "show my payslip", "hurry up and show my payslip", "show Harry's payslip", "payslip for {month}", "payslip of {email}",
    "my tickets", "ticket {id} resolved", "#{id} waiting for user: please restart", "my laptop screen is broken {junk}",
    "do we have A4 paper?", "issued {n} hdmi cables", "received {n} A4 paper in room {m}", "low stock",
    "remind me at 5pm to call the bank {junk}", "remind me in {n} hours to {junk}", "remind me on 31 December 9999 at 10:00 to x",
    "I want to talk to HR", "My manager keeps booking meetings over my lunch break {junk}", "what reminders do I have?",
    "хочу отпуск с {n} по {m} декабря", "расчётный лист за октябрь", "ngày mai mình xin nghỉ ốm", "θέλω κανονική άδεια",
    "ertaga kasal bo'lib qoldim", "məzuniyyət balansım nə qədərdir", "покажи заявку №{id}",
)
HOSTILE_NUMBERS = ("0", "-1", "²", "№5", "٤٢", "042", "2147483647", "2147483648", "99999999999999999999", "1e9")
numbers = st.one_of(st.integers(1, 80).map(str), st.sampled_from(HOSTILE_NUMBERS))
junk = st.text(st.characters(exclude_categories=[]), max_size=12) | st.sampled_from(["\ud800", "\x00", "\udfff\x00", "🙃", "'; DROP TABLE x; --"])
phrases = st.builds(
    lambda template, n, m, id_, month, email, extra: template.format(n=n, m=m, id=id_, month=month, email=email, junk=extra),
    st.sampled_from(PHRASES),
    numbers,
    numbers,
    numbers,
    st.sampled_from(["october", "march", "2026-10", "9999", "0000-01"]),
    st.sampled_from(["harry.collins@silkroad.example", "nobody@example.com", "a@b"]),
    junk,
)
FORGED_TEMPLATES = (
    "leave:approve:{id}", "leave:reject:{id}", "leave:cancel:{id}", "payslip:show:latest:{id}", "payslip:show:{month}:{id}",
    "payslip:show:{month}", "hr:reply:{id}", "hr:answer:{id}", "hr:close:{id}", "ticket:show:{id}", "ticket:take:{id}",
    "ticket:close:{id}", "ticket:reopen:{id}", "ticket:answer:{id}", "stock:show:{id}", "slot:{hex}:{id}", "form:yes:{hex}",
    "form:no:{hex}", "intent:{intent}", "slot:leave_request:start_date:null", "slot:reminder_set:time:x", "form:yes",
)
INTENTS = ("help", "greet", "hr_escalate", "leave_request", "payslip_show", "stock_query", "stock_movement", "hr_reply",
           "ticket_answer", "leave_cancel_confirm", "approvals_pending", "button", "affirm", "out_of_scope", "nope")
forged = st.builds(
    lambda template, id_, month, hex_, intent: template.format(id=id_, month=month, hex=hex_, intent=intent),
    st.sampled_from(FORGED_TEMPLATES),
    numbers,
    st.sampled_from(["2026-10", "2026-13", "0000-01", "latest", "2026-1"]),
    st.text("0123456789abcdef", min_size=8, max_size=8),
    st.sampled_from(INTENTS),
) | st.text(max_size=70)

# One step: which chat, who speaks there (group chats have many speakers), and what they do: type, press the n-th
# button they were shown last, press that button with its last field replaced, or press a forged payload.
steps = st.tuples(
    st.integers(0, CHATS - 1),
    st.integers(0, 49),
    st.one_of(
        st.tuples(st.just("say"), phrases),
        st.tuples(st.just("say"), phrases),
        st.tuples(st.just("press"), st.just(0)),  # the first button shown: Yes, Approve, Take, a month, a choice
        st.tuples(st.just("press"), st.integers(0, 9)),
        st.tuples(st.just("say"), junk),
        st.tuples(st.just("tamper"), st.integers(0, 9), numbers),
        st.tuples(st.just("forge"), forged),
    ),
)


@dataclass
class Crowd:
    """The demo company's 50 people in 50 private chats and 14 group chats, all served by one dialogue core."""

    dialogue: Dialogue
    staff: list[Employee]
    hr: frozenset[int]
    shown: dict[tuple[int, int], list[str]]
    messages: int = 0

    def chat(self, index: int, speaker: int) -> tuple[Employee, str, bool]:
        if index < len(self.staff):
            who = self.staff[index]
            return who, f"dm:{who.email}", True
        return self.staff[speaker % len(self.staff)], f"group:{index}", False

    async def play(self, index: int, script: list[tuple[int, tuple[object, ...]]]) -> None:
        for speaker, action in script:
            who, chat_id, private = self.chat(index, speaker)
            shown = self.shown.get((index, who.id), [])
            text, payload = "", None
            if action[0] == "say":
                text = str(action[1])
            elif action[0] == "press":
                payload = shown[int(str(action[1])) % len(shown)] if shown else "intent:help"
            elif action[0] == "tamper":
                original = shown[int(str(action[1])) % len(shown)] if shown else "leave:approve:1"
                payload = original.rsplit(":", 1)[0] + ":" + str(action[2])
            else:
                payload = str(action[1])
            self.messages += 1
            turn = await self.dialogue.handle(
                Incoming(platform="console", chat_id=chat_id, user_id=who.email, private=private, text=text, payload=payload,
                         at=NOW, event_id=f"crowd-{index}-{self.messages}")
            )
            label = f"{who.email} in {chat_id}: {payload if payload is not None else text!r}"
            assert turn.error_id is None, f"the turn failed: {label}"
            assert turn.outgoing, f"no answer: {label}"
            assert EN("core.busy") not in {outgoing.reply.text for outgoing in turn.outgoing}, label
            if not private:  # a group sees nothing private: that goes to the person's own chat
                assert all(not o.reply.private or o.to is Destination.PRIVATE for o in turn.outgoing), f"a private reply in a group: {label}"
            self.shown[(index, who.id)] = [button.payload for reply in turn.replies for button in reply.buttons]


@pytest.fixture
async def crowd(database: Database, interpreter: Interpreter) -> Crowd:
    async with database.transaction() as session:
        await seed_demo(session, today=DEMO_TODAY)
    async with database.sessions() as session:
        staff = list(await session.scalars(select(Employee).order_by(Employee.id)))
    await load_catalogue(database, interpreter)
    dialogue = Dialogue(database, interpreter, default_routes(), clock=lambda: NOW, timezone="Asia/Tashkent")
    return Crowd(dialogue, staff[:50], frozenset(e.id for e in staff if e.has_role(Role.HR)), {})


async def assert_the_books_hold(database: Database, hr: frozenset[int]) -> None:
    async with database.sessions() as session:
        balances = (
            await session.execute(
                select(LeaveBalance).join(LeaveType, LeaveType.code == LeaveBalance.leave_type).where(LeaveType.yearly_allowance.is_not(None))
            )
        ).scalars()
        for row in balances:
            assert row.taken >= 0 and row.pending >= 0 and row.remaining >= 0, (row.employee_id, row.leave_type, row.year)
        for request in await session.scalars(select(LeaveRequest)):
            assert (request.end_date - request.start_date).days < leave.MAX_LEAVE_DAYS, request.id
        for level in await session.scalars(select(StockLevel)):
            assert 0 <= level.reserved <= level.quantity, level.id
        for view in await session.scalars(select(AuditEntry).where(AuditEntry.action == "payslip.viewed")):
            assert view.actor_id == view.details["employee_id"] or view.actor_id in hr, f"{view.actor_id} saw {view.details}"


@settings(max_examples=16, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(script=st.lists(steps, min_size=150, max_size=250))
async def test_hostile_traffic_from_64_chats_is_always_answered_and_the_books_hold(
    crowd: Crowd, database: Database, script: list[tuple[int, int, tuple[object, ...]]]
) -> None:
    by_chat: dict[int, list[tuple[int, tuple[object, ...]]]] = {}
    for index, speaker, action in script:
        by_chat.setdefault(index, []).append((speaker, action))
    await asyncio.gather(*(crowd.play(index, chat_script) for index, chat_script in by_chat.items()))
    await assert_the_books_hold(database, crowd.hr)

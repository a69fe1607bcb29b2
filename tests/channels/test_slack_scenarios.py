"""Slack scenarios end to end: people of the test company (tests/factories.py) write to the assistant in Slack and
press its buttons, through the real slack-bolt app served by `backoffice run`'s service on 127.0.0.1, with every
event and interaction signed as Slack signs it (tests/channels/slack_events.py); what they see is what reached the
fake Slack Web API (tests/channels/slack_fake.py) — posted messages, and messages updated since.

Everyone has a Slack account linked here, and a direct message with the app named as Slack's `conversations.open`
answers it in the fake ("D" + the user id); Alice writes from DALICE, as in test_slack.py. The assistant's clock is
fixed at Monday 23 November 2026 (tests.running.NOW).
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from actions.leave import describe
from bot.cli import upgrade_database
from bot.service import configured_service
from bot.settings import Settings, load_settings
from nlu import Interpreter
from storage.audit import AuditEntry
from storage.database import Database
from storage.inbox import InboxStatus, InboxUpdate
from storage.leave import LeaveRequest, LeaveStatus
from tests.channels.office import ALICE_FIGURES, ALICE_NET, BOB_NET, EN, HAPPY_PATHS, RU, prepare
from tests.channels.slack_events import ALICE, ALICE_DM, SECRET, Running, block_actions, dm, event
from tests.channels.slack_fake import BOT_USER_ID, TEAM_ID, FakeSlack
from tests.running import NOW, count_rows, serving, settled, until

GENERAL = "CGENERAL"


@dataclass(frozen=True)
class Member:
    """Someone in the Slack workspace: their user id and their direct message with the app."""

    user: str
    dm: str


PEOPLE = {
    "alice": Member(ALICE, ALICE_DM),
    "bob": Member("UBOB", "DUBOB"),
    "manager": Member("UMARIA", "DUMARIA"),
    "hr": Member("UHANA", "DUHANA"),
    "it_agent": Member("UIVAN", "DUIVAN"),
    "keeper": Member("UKATE", "DUKATE"),
}


# --- what the fake Slack saw --------------------------------------------------------------------------------------


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                yield value
            else:
                yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def shown(message: dict[str, Any]) -> str:
    """What a person reads in a message (its blocks other than buttons), Slack's escapes undone."""
    blocks = [block for block in message.get("blocks") or [] if block.get("type") != "actions"]
    text = "\n".join(_strings(blocks))
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def buttons(message: dict[str, Any]) -> dict[str, str]:
    """A message's buttons: label → value."""
    actions = [block for block in message.get("blocks") or [] if block["type"] == "actions"]
    return {element["text"]["text"]: element["value"] for block in actions for element in block["elements"]}


# --- the company, its Slack, and the service ------------------------------------------------------------------------


@dataclass
class Office:
    """The company's database (people linked to Slack, payslips, stock) and the fake Slack: `serve()` runs the
    service on them, as often as a test likes (a restart is a second `serve()`)."""

    database: Database
    database_url: str
    settings: Settings
    interpreter: Interpreter
    slack: FakeSlack
    events: Iterator[int] = field(default_factory=itertools.count)

    @asynccontextmanager
    async def serve(self) -> AsyncIterator[Workspace]:
        service = configured_service(self.settings, interpreter=self.interpreter, clock=lambda: NOW)
        async with serving(service) as stop, httpx.AsyncClient(base_url=service.url, timeout=10) as http:
            yield Workspace(self, Running(service, self.slack, http, self.database_url), stop)

    async def count(self, what: Any, *where: Any) -> int:
        return await count_rows(self.database, what, *where)

    async def settled(self) -> bool:
        return await settled(self.database, NOW)


@dataclass
class Workspace:
    """People writing and pressing buttons in Slack while the service runs, and what they then see."""

    office: Office
    running: Running
    stop: asyncio.Event
    """Set it to stop the service (as SIGTERM does)."""

    @property
    def slack(self) -> FakeSlack:
        return self.office.slack

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """The messages in a conversation as they read now (posted, updated since)."""
        return self.slack.posted(channel)

    async def quiet(self) -> None:
        """Until the service has answered everything it received and delivered what that queued (polled, like
        tests.running.until, whose condition can't await)."""
        async with asyncio.timeout(20):
            while not await self.office.settled():
                await asyncio.sleep(0.02)

    async def say(self, who: str, text: str) -> list[dict[str, Any]]:
        """`who` writes in their direct message with the app; the messages that answer it there."""
        member = PEOPLE[who]
        before = len(self.messages(member.dm))
        response = await self.running.post(dm(f"Ev{next(self.office.events)}", text, user=member.user, channel=member.dm))
        assert response.status_code == 200
        await self.quiet()
        return self.messages(member.dm)[before:]

    async def mention(self, who: str, text: str, channel: str = GENERAL) -> None:
        """`who` writes "@backoffice <text>" in a channel."""
        number = next(self.office.events)
        mentioned = {"type": "app_mention", "channel": channel, "user": PEOPLE[who].user, "text": f"<@{BOT_USER_ID}> {text}",
                     "ts": f"1763000000.{number:06d}", "team": TEAM_ID}
        assert (await self.running.post(event(f"Ev{number}", mentioned))).status_code == 200
        await self.quiet()

    def button_message(self, who: str, label: str) -> tuple[str, dict[str, Any]]:
        """The latest message in `who`'s direct message with a button so labelled, and its ts."""
        channel = PEOPLE[who].dm
        for (chat, ts), message in reversed(self.slack.messages.items()):
            if chat == channel and label in buttons(message):
                return ts, message
        raise AssertionError(f"no {label!r} button for {who}: {[buttons(m) for m in self.messages(channel)]}")

    def press_body(self, who: str, label: str) -> bytes:
        ts, message = self.button_message(who, label)
        member = PEOPLE[who]
        return block_actions(buttons(message)[label], label, message_ts=ts, channel=member.dm, user=member.user)

    async def press(self, who: str, label: str, body: bytes | None = None) -> list[dict[str, Any]]:
        """`who` presses the button (of the latest message that has it); the messages that answer it."""
        channel = PEOPLE[who].dm
        body = body or self.press_body(who, label)
        before = len(self.messages(channel))
        assert (await self.running.press(body)).status_code == 200
        await self.quiet()
        return self.messages(channel)[before:]


@pytest.fixture
async def office(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, interpreter: Interpreter) -> AsyncIterator[Office]:
    monkeypatch.chdir(tmp_path)  # no stray .env
    database = Database(database_url)
    try:
        await upgrade_database(database)
        async with database.transaction() as session:
            company = await prepare(session, [(who, "slack", member.user) for who, member in PEOPLE.items()])
        async with FakeSlack() as slack:
            for who, member in PEOPLE.items():
                slack.emails[member.user] = getattr(company, who).email
            settings = load_settings(
                database_url=database_url, data_dir=tmp_path, http_host="127.0.0.1", http_port=0,
                slack_bot_token=slack.token, slack_signing_secret=SECRET, slack_api_url=slack.url,
            )
            yield Office(database, database_url, settings, interpreter, slack)
    finally:
        await database.dispose()


@pytest.fixture
async def workspace(office: Office) -> AsyncIterator[Workspace]:
    async with office.serve() as served:
        yield served


# --- 1. every capability, in English and Russian ------------------------------------------------------------------


NET_PAY_FIELD = {"en": f"Net pay\n{EN.money(ALICE_NET, 'EUR')}", "ru": f"К выплате\n{RU.money(BOB_NET, 'UZS')}"}
"""In Slack the payslip's totals are block fields: the label above the figure."""


@pytest.mark.parametrize("language", list(HAPPY_PATHS))
async def test_every_capability_answers_in_the_direct_message(workspace: Workspace, language: str) -> None:
    who, steps = HAPPY_PATHS[language]
    for step in steps:
        for said in step.says:
            answer = await workspace.say(who, said)
        assert answer, f"{step.capability}: no answer"
        assert step.answer in shown(answer[-1]), f"{step.capability}: {shown(answer[-1])!r}"
        if step.capability == "payslip":
            assert NET_PAY_FIELD[language] in shown(answer[-1]), shown(answer[-1])
        if step.press is not None:
            assert step.press in buttons(answer[-1]), f"{step.capability}: {buttons(answer[-1])}"
            ts, _ = workspace.button_message(who, step.press)
            await workspace.press(who, step.press)
            now_reads = workspace.slack.messages[(PEOPLE[who].dm, ts)]  # updated in place: its buttons are gone
            assert step.then is not None and step.then in shown(now_reads), f"{step.capability}: {shown(now_reads)!r}"
            assert not buttons(now_reads), f"{step.capability}: {buttons(now_reads)} left after {step.press}"
        if step.tells is not None:
            recipient, fragment = step.tells
            heard = [shown(m) for m in workspace.messages(PEOPLE[recipient].dm)]
            assert any(fragment in text for text in heard), f"{step.capability}: {recipient} got {heard}"


# --- 2-4. a leave request decided by the manager in Slack -----------------------------------------------------------


async def alice_asks_for_leave(workspace: Workspace) -> tuple[LeaveRequest, str]:
    """Alice files annual leave in her DM; the request and the ts of the manager's message with the buttons."""
    await workspace.say("alice", "annual leave from 14 to 18 December")
    await workspace.press("alice", "Yes")
    async with workspace.office.database.reading() as session:
        request = await session.scalar(select(LeaveRequest))
    assert request is not None and request.status is LeaveStatus.PENDING
    ts, asked = workspace.button_message("manager", "Approve")
    assert shown(asked) == EN("leave.manager_request", name="Alice Able", **describe(EN, request))
    assert list(buttons(asked)) == ["Approve", "Reject"]
    return request, ts


def decided(workspace: Workspace, ts: str, request: LeaveRequest) -> None:
    """The manager's message with the buttons was updated in place to say who decided, with no buttons left."""
    message = workspace.slack.messages[(PEOPLE["manager"].dm, ts)]
    outcome = EN("live.leave_approved", name="Alice Able", decider="Maria Manager", **describe(EN, request))
    assert shown(message) == outcome and message["text"] == outcome  # the fallback text (notifications) too
    assert all(block["type"] != "actions" for block in message["blocks"])
    manager = PEOPLE["manager"].dm
    assert {call.args["ts"] for call in workspace.slack.calls_to("chat.update") if call.args["channel"] == manager} == {ts}


def told(workspace: Workspace, request: LeaveRequest) -> list[dict[str, Any]]:
    """The messages in Alice's DM telling her the request was approved."""
    news = EN("approvals.notify_approved", decider="Maria Manager", **describe(EN, request))
    return [message for message in workspace.messages(ALICE_DM) if shown(message) == news]


async def test_the_manager_approves_by_button_the_employee_is_told_and_the_message_updated(workspace: Workspace) -> None:
    request, ts = await alice_asks_for_leave(workspace)

    answer = await workspace.press("manager", "Approve")

    assert [shown(m) for m in answer] == [EN("approvals.approved", name="Alice Able", **describe(EN, request))]
    assert len(told(workspace, request)) == 1
    decided(workspace, ts, request)


async def test_the_manager_approves_by_text_and_the_button_message_is_updated_too(workspace: Workspace) -> None:
    request, ts = await alice_asks_for_leave(workspace)

    answer = await workspace.say("manager", f"approve {request.id}")

    assert [shown(m) for m in answer] == [EN("approvals.approved", name="Alice Able", **describe(EN, request))]
    assert len(told(workspace, request)) == 1
    decided(workspace, ts, request)


async def test_a_duplicate_button_press_makes_one_record_one_decision_and_one_answer(workspace: Workspace) -> None:
    request, ts = await alice_asks_for_leave(workspace)
    press = workspace.press_body("manager", "Approve")
    pressed = InboxUpdate.key.startswith(f"action:{PEOPLE['manager'].dm}:")

    await workspace.press("manager", "Approve", press)
    await workspace.press("manager", "Approve", press)  # Slack delivers the same interaction again

    assert await workspace.office.count(InboxUpdate, pressed) == 1
    decisions = AuditEntry.entity == "leave_request", AuditEntry.action.in_(("leave.approved", "leave.rejected"))
    assert await workspace.office.count(AuditEntry, *decisions) == 1
    approved = EN("approvals.approved", name="Alice Able", **describe(EN, request))
    assert [shown(m) for m in workspace.messages(PEOPLE["manager"].dm)].count(approved) == 1
    assert len(told(workspace, request)) == 1
    decided(workspace, ts, request)


# --- 5. acknowledged, then the service stopped gracefully (SIGKILL: test_slack_crash.py): answered after a restart


async def refused(url: str) -> bool:
    """Whether the service no longer accepts connections (it is stopping)."""
    address = httpx.URL(url)
    try:
        _, writer = await asyncio.open_connection(address.host, address.port)
    except OSError:
        return True
    writer.close()
    return False


async def test_an_event_acknowledged_before_a_graceful_stop_is_answered_once_after_the_restart(office: Office) -> None:
    """Slack has its 200 for the second event, but the service stops before its inbox worker gets to it (busy with
    the first, whose answer Slack is slow to take); a second service on the same database answers it, once. What a
    worker had claimed when its process died is taken over after the lease (tests/test_inbox.py)."""
    office.slack.hold("chat.postMessage")  # Slack is slow: the first answer is still on its way when the service stops
    try:
        async with office.serve() as first:
            assert (await first.running.post(dm("EvHello", "hi"))).status_code == 200
            await until(lambda: bool(office.slack.calls_to("chat.postMessage")))  # the inbox worker is busy with it
            balance = dm("EvBalance", "what's my leave balance")
            assert (await first.running.post(balance)).status_code == 200  # stored, acknowledged
            first.stop.set()  # stopped: what the inbox worker holds is finished, what it doesn't is left stored
            async with asyncio.timeout(20):
                while not await refused(first.running.service.url):
                    await asyncio.sleep(0.02)
            office.slack.release("chat.postMessage")
    finally:
        office.slack.release("chat.postMessage")
    events = InboxUpdate.key.in_(("EvHello", "EvBalance"))
    assert await office.count(InboxUpdate, events, InboxUpdate.status == InboxStatus.PENDING) == 1
    assert not any(EN("leave.balance_intro", year=2026) in shown(m) for m in office.slack.posted(ALICE_DM))

    async with office.serve() as second:
        await second.quiet()

    texts = [shown(m) for m in office.slack.posted(ALICE_DM)]
    assert len(texts) == 2 and EN("leave.balance_intro", year=2026) in texts[1]  # "hi" answered once, the balance once
    assert await office.count(InboxUpdate, events, InboxUpdate.status == InboxStatus.DONE) == 2


# --- 6. what must never reach a channel ------------------------------------------------------------------------------


async def test_a_payslip_asked_in_a_channel_shows_no_figures_there_and_goes_to_the_dm(workspace: Workspace) -> None:
    await workspace.mention("alice", "show my payslip")

    in_channels = [
        call for call in workspace.slack.calls if call.method.startswith("chat.") and not str(call.args["channel"]).startswith("D")
    ]
    assert in_channels  # the channel was told where the answer went
    said = json.dumps([[call.args.get("text"), call.args.get("blocks")] for call in in_channels], ensure_ascii=False)
    assert not any(figure in said for figure in ALICE_FIGURES), said
    in_dms = [shown(message) for (chat, _), message in workspace.slack.messages.items() if chat.startswith("D")]
    assert any(f"Net pay\n{EN.money(ALICE_NET, 'EUR')}" in text for text in in_dms)


async def test_channel_pings_typed_in_a_ticket_are_escaped_in_everything_sent(workspace: Workspace) -> None:
    await workspace.mention("alice", "my laptop won't turn on <!channel>")
    [(ts, confirm)] = [(ts, m) for (chat, ts), m in workspace.slack.messages.items() if chat == GENERAL]
    assert "“my laptop won't turn on <!channel>”" in shown(confirm)  # echoed, as typed, once unescaped

    body = block_actions(buttons(confirm)["Yes"], "Yes", message_ts=ts, channel=GENERAL, user=ALICE)
    assert (await workspace.running.press(body)).status_code == 200
    await workspace.quiet()

    assert any("ticket #1 is open" in shown(m) for m in workspace.messages(GENERAL))
    assert any("<!channel>" in shown(m) for m in workspace.messages(PEOPLE["it_agent"].dm))  # IT got the description
    sent = json.dumps([call.args for call in workspace.slack.calls], ensure_ascii=False)
    assert "<!channel>" not in sent and "&lt;!channel&gt;" in sent


# --- after a decision by button, no live buttons are left (issue 9: "for every path the core reports") -----------


async def test_hr_closing_a_case_by_button_leaves_no_live_buttons_on_the_notice(workspace: Workspace) -> None:
    await workspace.say("alice", "I want to talk to HR")
    await workspace.say("alice", "My manager keeps booking meetings over my lunch break")
    await workspace.press("alice", "Yes")
    ts, notice = workspace.button_message("hr", "Close")
    assert "New HR case #1 from Alice Able" in shown(notice)

    answer = await workspace.press("hr", "Close")

    assert any("Case #1 is closed" in shown(message) for message in [*answer, workspace.slack.messages[(PEOPLE["hr"].dm, ts)]])
    assert buttons(workspace.slack.messages[(PEOPLE["hr"].dm, ts)]) == {}

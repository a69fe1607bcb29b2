"""Conversation tests: the real NLU model, the real dialogue core and actions, a real database.

Tests read like the conversation:

    said = await chat.say(company.alice, "I need sick leave tomorrow")
    assert "sick leave" in said.text
    said = await chat.press(company.alice, "Yes")
    assert (await chat.inbox(company.manager))[0].buttons  # the manager got Approve / Reject

Every message goes through the router (bot/router.py) to a recording channel, as on a real platform: `Said` is
what the person saw from that message (in their private chat too, for a private answer to a group message), and
`inbox` runs the outbox delivery worker through the same channel.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import pytest

from actions import default_jobs, default_routes
from actions.replies import Button, Reply
from bot.assistant import load_catalogue
from bot.delivery import DeliveryWorker
from bot.dialogue import Dialogue
from bot.messages import Incoming
from bot.router import Router, Sent
from bot.scheduler import Scheduler
from nlu import Interpreter
from storage import people
from storage.database import Database
from storage.people import Employee
from storage.schedules import PERSONAL
from tests.channels.recording import RecordingChannel
from tests.factories import Company, make_company

NOW = datetime(2026, 11, 23, 6, 0)  # 09:00 in Baku, 11:00 in Tashkent: Monday morning everywhere we test


def private_chat(who: Employee) -> str:
    """Everyone's private chat with the assistant in these tests."""
    return f"dm:{who.email}"


@dataclass
class Said:
    replies: list[Reply]
    sent: list[Sent] = field(default_factory=list)
    """Where each reply went (the same order as `replies`)."""

    @property
    def text(self) -> str:
        return "\n".join(reply.as_text() for reply in self.replies)

    @property
    def buttons(self) -> list[Button]:
        return [button for reply in self.replies for button in reply.buttons]

    def button(self, label: str) -> Button:
        for button in self.buttons:
            if button.label.casefold() == label.casefold():
                return button
        raise AssertionError(f"no button {label!r} in {[b.label for b in self.buttons]}")


class Chat:
    def __init__(self, database: Database, dialogue: Dialogue, channel: RecordingChannel | None = None) -> None:
        self.database = database
        self.dialogue = dialogue
        self.channel = channel or RecordingChannel("console")
        self.now = NOW
        self.last: dict[int, Said] = {}
        self.delivered: dict[str, list[Reply]] = defaultdict(list)
        """What the outbox delivered, by chat."""
        self.updates = 0

    def router(self) -> Router:
        # Made for each message: a test may replace `dialogue` (a restarted process).
        return Router(self.database, self.dialogue, clock=lambda: self.now)

    async def say(self, who: Employee, text: str, *, group: bool = False, event_id: str | None = None) -> Said:
        return await self._send(who, text=text, payload=None, group=group, event_id=event_id)

    async def press(self, who: Employee, label: str, *, event_id: str | None = None) -> Said:
        """Press a button by its label, among the last replies or notifications this person got."""
        candidates = [
            *(self.last[who.id].buttons if who.id in self.last else []),
            *(b for r in self.delivered[private_chat(who)] for b in r.buttons),
        ]
        for button in reversed(candidates):
            if button.label.casefold() == label.casefold():
                return await self._send(who, text=button.label, payload=button.payload, group=False, event_id=event_id)
        raise AssertionError(f"{who.name} has no button {label!r}: {[b.label for b in candidates]}")

    async def press_payload(self, who: Employee, payload: str, *, event_id: str | None = None) -> Said:
        return await self._send(who, text="", payload=payload, group=False, event_id=event_id)

    async def inbox(self, who: Employee) -> list[Reply]:
        """Fire the personal reminders that are due (as `backoffice run`'s scheduler would; the assistant's own
        jobs — digests, alerts — are left to tests/test_scheduler.py), deliver what is due from the outbox and return
        what this person has received so far."""
        await Scheduler(self.database, default_jobs().only(PERSONAL), clock=lambda: self.now, name="conversation-tests").run_once()
        worker = DeliveryWorker(self.database, {self.channel.platform: self.channel}, clock=lambda: self.now)
        before = len(self.channel.sent)
        for _ in range(20):  # a round takes a batch; what failed is due again only later, so this ends
            if not (await worker.run_once()).claimed:
                break
        for message in self.channel.sent[before:]:
            self.delivered[message.address.chat_id].append(message.reply)
        return list(self.delivered[private_chat(who)])

    async def _send(self, who: Employee, *, text: str, payload: str | None, group: bool, event_id: str | None) -> Said:
        self.updates += 1
        incoming = Incoming(
            platform="console",
            chat_id="group:general" if group else private_chat(who),
            user_id=who.email,
            private=not group,
            text=text,
            payload=payload,
            at=self.now,
            event_id=event_id,
        )
        receipt = await self.router().receive(incoming, self.channel)
        said = Said(receipt.replies, receipt.sent)
        self.last[who.id] = said
        return said


@pytest.fixture
async def company(database: Database) -> Company:
    async with database.transaction() as session:
        made = await make_company(session)
        for employee in (made.manager, made.alice, made.bob, made.hr, made.it_agent, made.keeper, made.outsider):
            await people.link_identity(session, employee, "console", employee.email)
        return made


@pytest.fixture
async def chat(database: Database, interpreter: Interpreter, company: Company) -> Chat:
    await load_catalogue(database, interpreter)
    dialogue = Dialogue(database, interpreter, default_routes(), clock=lambda: NOW, timezone="Asia/Tashkent")
    return Chat(database, dialogue)

"""Conversation tests: the real NLU model, the real dialogue core and actions, a real database.

Tests read like the conversation:

    said = await chat.say(company.alice, "I need sick leave tomorrow")
    assert "sick leave" in said.text
    said = await chat.press(company.alice, "Yes")
    assert (await chat.inbox(company.manager))[0].buttons  # the manager got Approve / Reject
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

import pytest

from actions import default_routes
from actions.replies import Button, Reply
from bot.assistant import load_catalogue
from bot.delivery import deliver_due
from bot.dialogue import Dialogue
from bot.messages import Incoming
from nlu import Interpreter
from storage import people
from storage.database import Database
from storage.people import Employee
from tests.factories import Company, make_company

NOW = datetime(2026, 11, 23, 6, 0)  # 09:00 in Baku, 11:00 in Tashkent: Monday morning everywhere we test


@dataclass
class Said:
    replies: list[Reply]

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
    def __init__(self, database: Database, dialogue: Dialogue) -> None:
        self.database = database
        self.dialogue = dialogue
        self.now = NOW
        self.last: dict[int, Said] = {}
        self.delivered: dict[int, list[Reply]] = defaultdict(list)
        self.updates = 0

    async def say(self, who: Employee, text: str, *, group: bool = False, event_id: str | None = None) -> Said:
        return await self._send(who, text=text, payload=None, group=group, event_id=event_id)

    async def press(self, who: Employee, label: str, *, event_id: str | None = None) -> Said:
        """Press a button by its label, among the last replies or notifications this person got."""
        candidates = [*(self.last[who.id].buttons if who.id in self.last else []), *(b for r in self.delivered[who.id] for b in r.buttons)]
        for button in reversed(candidates):
            if button.label.casefold() == label.casefold():
                return await self._send(who, text=button.label, payload=button.payload, group=False, event_id=event_id)
        raise AssertionError(f"{who.name} has no button {label!r}: {[b.label for b in candidates]}")

    async def press_payload(self, who: Employee, payload: str, *, event_id: str | None = None) -> Said:
        return await self._send(who, text="", payload=payload, group=False, event_id=event_id)

    async def inbox(self, who: Employee) -> list[Reply]:
        """Deliver what is due from the outbox and return what this person has received so far."""

        async def collect(recipient: Employee, reply: Reply) -> None:
            self.delivered[recipient.id].append(reply)

        await deliver_due(self.database, collect, now=self.now)
        return list(self.delivered[who.id])

    async def _send(self, who: Employee, *, text: str, payload: str | None, group: bool, event_id: str | None) -> Said:
        self.updates += 1
        incoming = Incoming(
            platform="console",
            chat_id="group:general" if group else f"dm:{who.email}",
            user_id=who.email,
            private=not group,
            text=text,
            payload=payload,
            at=self.now,
            event_id=event_id,
        )
        said = Said(await self.dialogue.handle(incoming))
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

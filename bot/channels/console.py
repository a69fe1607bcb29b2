"""The console channel: chat with the assistant in a terminal, as any employee of the company.

Buttons are shown as numbered choices; typing the number or the label presses it. `/as EMAIL` switches person,
so one can file a request as an employee and approve it as their manager. Messages for other people (the
outbox) wait in their console inbox and are shown when you switch to them.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TextIO

from actions.replies import Reply
from bot.delivery import deliver_due
from bot.dialogue import Dialogue
from bot.messages import Incoming
from storage import people
from storage.database import Database
from storage.people import Employee, Platform

PLATFORM = Platform.CONSOLE.value
HELP = "Type a message; a number or a button's label presses it; /as EMAIL switches person; /quit ends."


class ConsoleChat:
    def __init__(
        self, database: Database, dialogue: Dialogue, *, out: TextIO | None = None, clock: Callable[[], datetime]
    ) -> None:
        self.database = database
        self.dialogue = dialogue
        self.out = out
        self.clock = clock
        self.person: Employee | None = None
        self.choices: dict[str, str] = {}
        self.inboxes: dict[int, list[Reply]] = defaultdict(list)
        self.counter = 0

    @property
    def prompt(self) -> str:
        return f"{self.person.email if self.person else '?'}> "

    async def switch(self, email: str) -> bool:
        async with self.database.transaction() as session:
            employee = await people.find_by_email(session, email)
            if employee is None or not employee.active:
                self.write(f"(no active employee with the email {email!r})")
                return False
            if await people.employee_for_identity(session, PLATFORM, employee.email) is None:
                await people.link_identity(session, employee, PLATFORM, employee.email)
        self.person = employee
        self.choices = {}
        self.write(f"(you are now {employee.name} <{employee.email}>, roles: {', '.join(sorted(employee.roles))})")
        waiting = self.inboxes.pop(employee.id, [])
        if waiting:
            self.write(f"({len(waiting)} new message{'s' if len(waiting) > 1 else ''} for you)")
            self.show(waiting)
        return True

    async def handle_line(self, line: str) -> bool:
        """Handle one typed line; returns False when the chat should end."""
        text = line.strip()
        if text in ("/quit", "/exit"):
            return False
        if text in ("/help", "/?"):
            self.write(HELP)
            return True
        if text.startswith("/as "):
            await self.switch(text[4:].strip())
            return True
        if self.person is None:
            self.write("(choose who you are first: /as EMAIL)")
            return True
        if not text:
            return True
        payload = self.choices.get(text.casefold())
        self.counter += 1
        incoming = Incoming(
            platform=PLATFORM,
            chat_id=f"console:{self.person.email}",
            user_id=self.person.email,
            private=True,
            text=text,
            payload=payload,
            at=self.clock(),
            event_id=None,
        )
        self.show(await self.dialogue.handle(incoming))
        await self.deliver()
        return True

    async def deliver(self) -> None:
        async def to_console(recipient: Employee, reply: Reply) -> None:
            if self.person is not None and recipient.id == self.person.id:
                self.show([reply])
            else:
                self.inboxes[recipient.id].append(reply)
                self.write(f"(new message for {recipient.name} — /as {recipient.email} to read it)")

        await deliver_due(self.database, to_console, now=self.clock())

    def show(self, replies: Iterable[Reply]) -> None:
        for reply in replies:
            buttons = reply.buttons
            if buttons and reply.replaces_source:
                self.choices = {}
            self.write("bot: " + reply.as_text().replace("\n", "\n     "))
            if buttons:
                self.choices = {}
                labels = []
                for number, button in enumerate(buttons, start=1):
                    self.choices[str(number)] = button.payload
                    self.choices[button.label.casefold()] = button.payload
                    labels.append(f"[{number}] {button.label}")
                self.write("     " + "  ".join(labels))

    def write(self, text: str) -> None:
        # Resolved on each write, not at import: whoever runs us may have replaced sys.stdout since.
        print(text, file=self.out or sys.stdout, flush=True)

    async def run(self, lines: Iterable[str], *, echo: bool) -> None:
        for line in lines:
            if echo:
                self.write(self.prompt + line.rstrip("\n"))
            if not await self.handle_line(line):
                break

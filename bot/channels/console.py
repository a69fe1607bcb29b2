"""The console channel: chat with the assistant in a terminal, as any employee of the company.

It is a channel like Slack and Telegram: typed lines become `Incoming` messages for the router (bot/router.py),
and what the core sends arrives through `send` and `edit` — replies, and the outbox's messages for other people.
Buttons are shown as numbered choices; typing the number or the label presses it. `/as EMAIL` switches person,
so one can file a request as an employee and approve it as their manager. Messages for someone else wait in
their console inbox and are shown when you switch to them.
"""

from __future__ import annotations

import sys
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import TextIO

from actions.replies import Reply
from bot.channels.base import Address, PermanentDeliveryError
from bot.directory import Directory, Person
from bot.messages import Incoming
from bot.router import Router

PLATFORM = "console"
HELP = "Type a message; a number or a button's label presses it; /as EMAIL switches person; /quit ends."


def chat_of(email: str) -> str:
    """A person's console chat (the one private chat the console has with each of them)."""
    return f"console:{email}"


class ConsoleChat:
    platform = PLATFORM

    def __init__(
        self,
        router: Router,
        directory: Directory,
        *,
        deliver: Callable[[], Awaitable[object]] | None = None,
        out: TextIO | None = None,
        clock: Callable[[], datetime],
    ) -> None:
        self.router = router
        self.directory = directory
        self.deliver_outbox = deliver
        """Runs the outbox delivery once (through this console); None: messages for others are not delivered."""
        self.out = out
        self.clock = clock
        self.person: Person | None = None
        self.choices: dict[str, str] = {}
        self.messages: dict[str, tuple[str, Reply]] = {}
        """Every message sent, by reference: its chat and how it reads now (after edits)."""
        self.session = uuid.uuid4().hex[:8]
        """Makes this run's references unique among all runs: the database remembers references across runs."""
        self.inboxes: defaultdict[str, list[str]] = defaultdict(list)
        """Chat → references of the messages waiting there until its person is switched to."""

    @property
    def prompt(self) -> str:
        return f"{self.person.email if self.person else '?'}> "

    async def switch(self, email: str) -> bool:
        person = await self.directory.sign_in(PLATFORM, email)
        if person is None:
            self.write(f"(no active employee with the email {email!r})")
            return False
        self.person = person
        self.choices = {}
        self.write(f"(you are now {person.name} <{person.email}>, roles: {', '.join(person.roles)})")
        waiting = self.inboxes.pop(chat_of(person.email), [])
        if waiting:
            self.write(f"({len(waiting)} new message{'s' if len(waiting) > 1 else ''} for you)")
            self.show(self.messages[reference][1] for reference in waiting)
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
        incoming = Incoming(
            platform=PLATFORM,
            chat_id=chat_of(self.person.email),
            user_id=self.person.email,
            private=True,
            text=text,
            payload=self.choices.get(text.casefold()),
            at=self.clock(),
        )
        await self.router.receive(incoming, self)
        await self.deliver()
        return True

    async def deliver(self) -> None:
        if self.deliver_outbox is not None:
            await self.deliver_outbox()

    # --- the Channel protocol --------------------------------------------------------------------------------

    async def send(self, address: Address, reply: Reply) -> str:
        reference = f"{self.session}-{len(self.messages) + 1}"
        self.messages[reference] = (address.chat_id, reply)
        if self._is_current(address.chat_id):
            self.show([reply])
        else:
            self.inboxes[address.chat_id].append(reference)
            await self._announce(address.chat_id, "new message")
        return reference

    async def edit(self, reference: str, reply: Reply) -> None:
        if reference not in self.messages:
            raise PermanentDeliveryError("no such console message")
        chat_id, _ = self.messages[reference]
        self.messages[reference] = (chat_id, reply)
        if reference in self.inboxes.get(chat_id, ()):
            return  # not read yet: it will be shown as it reads now
        if self._is_current(chat_id):
            self.write("(an earlier message was updated)")
            self.show([reply])
        else:
            self.inboxes[chat_id].append(reference)
            await self._announce(chat_id, "message updated")

    async def private_address(self, user_id: str) -> Address:
        return Address(PLATFORM, chat_of(user_id))

    def _is_current(self, chat_id: str) -> bool:
        return self.person is not None and chat_id == chat_of(self.person.email)

    async def _announce(self, chat_id: str, what: str) -> None:
        email = chat_id.removeprefix(chat_of(""))
        person = await self.directory.person(PLATFORM, email)
        self.write(f"({what} for {person.name if person else email} — /as {email} to read it)")

    # --- the terminal --------------------------------------------------------------------------------------

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

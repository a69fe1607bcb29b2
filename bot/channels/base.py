"""What every channel implements, and how it reports a failed delivery.

A channel only translates between its platform and the core's message model: it sends a reply to an address,
edits a message it sent earlier, and says where a person's one-to-one chat is. Deciding who gets what, where, and
what to do when a delivery fails is the core's job (bot/router.py for the replies of a turn, bot/delivery.py for
the outbox), so Slack, Telegram, the console and the tests' recording channel all behave alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from actions.replies import Reply


@dataclass(frozen=True)
class Address:
    """A chat on one platform (and, on platforms with threads, a thread in it)."""

    platform: str
    chat_id: str
    thread_id: str | None = None
    only_for: str | None = None
    """A user id: show the message only to that person, where the platform can (Slack's ephemeral messages; a
    pointer in a channel that nobody else needs to see). Platforms without that send it normally."""


class DeliveryError(Exception):
    """A channel could not send or edit. The message says why, without tokens or message text."""


class TransientDeliveryError(DeliveryError):
    """Worth trying again later: a rate limit, a time-out, the platform briefly unavailable."""

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after
        """Seconds the platform asked us to wait (Telegram's retry_after, Slack's Retry-After), if it said."""


class PermanentDeliveryError(DeliveryError):
    """Trying again will not help: the person blocked the bot, the chat is gone, the message can't be edited."""


class ChannelStartError(Exception):
    """A channel can't start for a reason only its settings can fix (the platform refused a token). The message names
    the setting, never its value; the service stops with it as its one line."""


@runtime_checkable
class Channel(Protocol):
    platform: str

    async def send(self, address: Address, reply: Reply) -> str:
        """Send the reply; returns the platform's reference of the sent message (for a later edit)."""
        ...

    async def edit(self, reference: str, reply: Reply) -> None:
        """Replace a message sent earlier (by its reference) with this reply; its buttons go away unless the
        reply has some."""
        ...

    async def private_address(self, user_id: str) -> Address | None:
        """The person's one-to-one chat with the assistant on this platform, or None if it can't be reached
        (never opened, for instance)."""
        ...


@runtime_checkable
class PeopleDirectory(Protocol):
    """A platform that knows its users' company email (Slack): the core links a person who writes for the first
    time by their profile email, and reaches a person who never wrote (a manager, HR, an IT agent) by theirs."""

    async def workspace(self) -> str:
        """The platform's id of the one workspace (Slack team) the assistant serves; others are refused."""
        ...

    async def email_of(self, user_id: str) -> str | None:
        """The user's verified profile email, or None (a bot, a deactivated or foreign account, no email)."""
        ...

    async def user_by_email(self, email: str) -> str | None:
        """The platform's user id of the person with this email, or None if there is none."""
        ...


@runtime_checkable
class HomeTab(Protocol):
    """A platform with a per-person page of the app (Slack's App Home): the core publishes the person's summary."""

    async def publish_home(self, user_id: str, reply: Reply) -> None:
        ...


@runtime_checkable
class PressAnswers(Protocol):
    """A platform that answers every button press itself, optionally with a brief pop-up (Telegram: the pressed
    button spins until the bot calls answerCallbackQuery, whose text shows as a toast). After the turn of a press
    the core calls `answer_press` once, with the text of the turn's toast reply (`Reply.toast`: a stale button) or
    None (answered silently, so the spinner stops at once)."""

    async def answer_press(self, event_id: str | None, text: str | None) -> bool:
        """Answer the press received as the update `event_id` (`Incoming.event_id`). True when answered here, with
        the text if one was given; False when this process can no longer answer it (answered already, say because
        the turn took too long, or received by another replica) — the core then sends the text as a message. Never
        raises for a platform error."""
        ...

"""A channel for tests: it records what it is asked to send and edit instead of talking to a platform.

It implements `bot.channels.base.Channel` like Slack, Telegram and the console, and can be told to misbehave the
way platforms do: no private chat with someone yet, a chat that refuses messages for good (bot blocked), errors
queued for the next sends to a chat, slow sends.

    channel = RecordingChannel()
    channel.no_private_chat.add("alice@example.com")     # private_address() says None for her
    channel.blocked.add("dm:bob@example.com")            # sends there raise PermanentDeliveryError
    channel.fail_next("dm:carol@example.com", TransientDeliveryError("429", retry_after=3))
    channel.to("group:general")                          # the replies sent to that chat, in order
"""

from __future__ import annotations

import asyncio
from collections import defaultdict, deque
from dataclasses import dataclass

from actions.replies import Reply
from bot.channels.base import Address, DeliveryError, PermanentDeliveryError


@dataclass(frozen=True)
class Message:
    """One message as the channel sent it (and, after edits, as it reads now)."""

    address: Address
    reply: Reply
    reference: str


@dataclass(frozen=True)
class Edit:
    reference: str
    reply: Reply


class RecordingChannel:
    def __init__(self, platform: str = "console", *, delay: float = 0.0) -> None:
        self.platform = platform
        self.delay = delay
        """Seconds each send and edit takes (asyncio.sleep): a slow platform."""
        self.sent: list[Message] = []
        """Every message sent, in order, as it was sent."""
        self.edits: list[Edit] = []
        self.current: dict[str, Message] = {}
        """Each sent message by reference, as it reads now (after edits)."""
        self.no_private_chat: set[str] = set()
        """User ids whose private chat can't be opened: private_address() returns None for them."""
        self.private_chats: dict[str, str] = {}
        """User id → chat id of their private chat, where it isn't the default `dm:<user id>`."""
        self.blocked: set[str] = set()
        """Chat ids that refuse every message for good (the person blocked the bot)."""
        self._failures: defaultdict[str, deque[DeliveryError]] = defaultdict(deque)
        self.attempts = 0
        """Every call of send or edit, failed ones included."""

    def fail_next(self, chat_id: str, *errors: DeliveryError) -> None:
        """The next sends to `chat_id` raise these errors, one each, in order."""
        self._failures[chat_id].extend(errors)

    async def send(self, address: Address, reply: Reply) -> str:
        self.attempts += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        self._raise_if_refused(address.chat_id)
        message = Message(address, reply, f"{self.platform}:{len(self.sent) + 1}")
        self.sent.append(message)
        self.current[message.reference] = message
        return message.reference

    async def edit(self, reference: str, reply: Reply) -> None:
        self.attempts += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        original = self.current.get(reference)
        if original is None:
            raise PermanentDeliveryError(f"no message {reference}")
        self._raise_if_refused(original.address.chat_id)
        self.edits.append(Edit(reference, reply))
        self.current[reference] = Message(original.address, reply, reference)

    async def private_address(self, user_id: str) -> Address | None:
        if user_id in self.no_private_chat:
            return None
        return Address(self.platform, self.private_chats.get(user_id, f"dm:{user_id}"))

    def to(self, chat_id: str) -> list[Reply]:
        """What was sent to one chat, in order (as sent, before any edit)."""
        return [message.reply for message in self.sent if message.address.chat_id == chat_id]

    def _raise_if_refused(self, chat_id: str) -> None:
        if chat_id in self.blocked:
            raise PermanentDeliveryError("the bot was blocked")
        queued = self._failures.get(chat_id)
        if queued:
            raise queued.popleft()

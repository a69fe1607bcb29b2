"""The channel-neutral message model: every channel turns its platform's updates into an `Incoming`; the dialogue
answers each with a `Turn` of `Outgoing` replies, each with its destination, which the router delivers."""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from actions.replies import Reply

MAX_TEXT = 10_000
"""Characters of a message the assistant reads; the rest is cut off (a paste of a whole log is still answered)."""

_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufeff]")
"""Control characters other than tab and line breaks, lone surrogates (not text, and not storable as UTF-8), the
byte-order mark, and NUL (which PostgreSQL refuses in text)."""


def sanitize_text(text: str) -> str:
    """What a person typed, made safe to understand and store: NFC-normalised, without control characters or
    lone surrogates, line breaks unified, at most MAX_TEXT characters."""
    cleaned = _UNSAFE.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    return unicodedata.normalize("NFC", cleaned)[:MAX_TEXT]


@dataclass(frozen=True)
class Incoming:
    """One update from a chat platform. The text and payload are sanitised once, here, on the way in."""

    platform: str
    chat_id: str
    user_id: str
    private: bool
    """A one-to-one chat with the assistant (sensitive replies may be shown here)."""
    text: str = ""
    payload: str | None = None
    """Set when a button was pressed: its opaque payload (the text is then the button's label, if known)."""
    at: datetime | None = None
    """UTC, naive; None means 'now' by the assistant's clock."""
    event_id: str | None = None
    """The platform's id for this update; a retried delivery with the same id gets the same replies again."""
    thread_id: str | None = None
    """The thread the message was written in (Slack); replies in this chat go to the same thread."""
    team_id: str | None = None
    """The workspace the sender belongs to (Slack's team id), recorded when they link their account."""
    language: str | None = None
    """The platform's idea of the sender's language (Telegram's language_code), for people not known yet."""
    source: str | None = None
    """For a button press: the channel's reference of the message that carried the button, so a reply that
    `replaces_source` edits it (its buttons disappear) instead of arriving as a new message."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", sanitize_text(self.text))
        if self.payload is not None:
            object.__setattr__(self, "payload", sanitize_text(self.payload))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (the inbox stores updates this way); `at` as an ISO string."""
        return {
            "platform": self.platform, "chat_id": self.chat_id, "user_id": self.user_id, "private": self.private,
            "text": self.text, "payload": self.payload, "at": self.at.isoformat() if self.at is not None else None,
            "event_id": self.event_id, "thread_id": self.thread_id, "team_id": self.team_id, "language": self.language,
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Incoming:
        at = data.get("at")
        return cls(
            platform=str(data["platform"]), chat_id=str(data["chat_id"]), user_id=str(data["user_id"]),
            private=bool(data["private"]), text=str(data.get("text") or ""), payload=data.get("payload"),
            at=datetime.fromisoformat(at) if at is not None else None, event_id=data.get("event_id"),
            thread_id=data.get("thread_id"), team_id=data.get("team_id"), language=data.get("language"),
            source=data.get("source"),
        )


class Destination(enum.StrEnum):
    HERE = "here"
    """The chat the message came from."""
    PRIVATE = "private"
    """The person's one-to-one chat with the assistant on the same platform (never the group it came from)."""
    HOME = "home"
    """The person's home page of the app, where the platform has one (Slack's App Home); dropped elsewhere."""


@dataclass(frozen=True)
class Outgoing:
    reply: Reply
    to: Destination = Destination.HERE

    def to_dict(self) -> dict[str, Any]:
        return {**self.reply.to_dict(), "to": self.to.value}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Outgoing:
        return cls(Reply.from_dict(data), Destination(data.get("to", Destination.HERE.value)))


@dataclass(frozen=True)
class Turn:
    """What one incoming message produced: the replies to deliver and what the router needs to deliver them."""

    outgoing: tuple[Outgoing, ...]
    language: str
    """The language of the replies (for the router's own notices, and metrics)."""
    intent: str | None = None
    """What the message was understood as ('button' for a press, 'busy' when the turn gave up on contention);
    None for someone not linked (and a failed turn, see `error_id`)."""
    employee_id: int | None = None
    """Who spoke, when they are linked."""
    identity_id: int | None = None
    """Their chat identity on this platform, when they are linked."""
    private_chat: str | None = None
    """The speaker's known one-to-one chat on this platform (a chat id), if any."""
    unreachable: bool = False
    """A delivery to that chat failed for good earlier (bot blocked): a private reply that gets there now clears it."""
    replayed: bool = False
    """A retried delivery: these are the replies recorded the first time; nothing ran again."""
    queued: bool = False
    """Messages for other people (or edits) were queued in the outbox: worth waking the delivery worker."""
    error_id: str | None = None
    """Set when the turn failed and was rolled back: the id quoted to the person and written to the log."""

    @property
    def replies(self) -> tuple[Reply, ...]:
        return tuple(outgoing.reply for outgoing in self.outgoing)

    def record(self) -> dict[str, Any]:
        """What is stored with the event id, so a retried delivery gets the same replies."""
        return {"language": self.language, "intent": self.intent, "outgoing": [outgoing.to_dict() for outgoing in self.outgoing]}

    @classmethod
    def replay(cls, record: dict[str, Any], *, employee_id: int, identity_id: int, private_chat: str | None) -> Turn:
        return cls(
            outgoing=tuple(Outgoing.from_dict(item) for item in record.get("outgoing", [])),
            language=str(record.get("language", "en")),
            intent=record.get("intent"),
            employee_id=employee_id,
            identity_id=identity_id,
            private_chat=private_chat,
            replayed=True,
        )

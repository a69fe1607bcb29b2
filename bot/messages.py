"""The channel-neutral incoming message: every channel turns its platform's updates into this."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

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

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", sanitize_text(self.text))
        if self.payload is not None:
            object.__setattr__(self, "payload", sanitize_text(self.payload))

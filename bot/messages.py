"""The channel-neutral incoming message: every channel turns its platform's updates into this."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Incoming:
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
    """The platform's id for this update; a retried delivery with the same id is ignored."""

"""What the assistant says: channel-neutral replies that every channel translates to its own format."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAX_PAYLOAD = 64
"""Telegram's callback_data limit in bytes; payloads are short ids checked on use, never data."""


@dataclass(frozen=True)
class Button:
    label: str
    payload: str

    def __post_init__(self) -> None:
        if len(self.payload.encode()) > MAX_PAYLOAD:
            raise ValueError(f"button payload longer than {MAX_PAYLOAD} bytes: {self.payload!r}")


@dataclass(frozen=True)
class Fields:
    """A key-value block, e.g. a payslip breakdown."""

    rows: tuple[tuple[str, str], ...]
    title: str = ""


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    title: str = ""


Block = Fields | Table


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: tuple[Button, ...] = ()
    blocks: tuple[Block, ...] = ()
    private: bool = False
    """Sensitive: channels deliver it only in a one-to-one chat with the person."""
    replaces_source: bool = False
    """Answering a button press: the message that carried the button is replaced (its buttons disappear)."""
    live_key: str | None = None
    """The record its buttons act on (e.g. 'leave:42'): once sent, the message is remembered and edited to the
    outcome when that record is decided by any path (storage/live.py)."""
    toast: bool = False
    """A short answer about a button press itself, saying nothing the person must keep (the button is stale): a
    channel whose platform answers each press with a brief pop-up (`bot.channels.base.PressAnswers`: Telegram's
    answerCallbackQuery text) shows it that way instead of as a message; every other channel sends it like any
    reply (Slack, which has no such pop-up for a button, posts it)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "buttons": [[b.label, b.payload] for b in self.buttons],
            "blocks": [_block_to_dict(block) for block in self.blocks],
            "private": self.private,
            "replaces_source": self.replaces_source,
            "live_key": self.live_key,
            "toast": self.toast,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reply:
        return cls(
            text=str(data["text"]),
            buttons=tuple(Button(label, payload) for label, payload in data.get("buttons", [])),
            blocks=tuple(_block_from_dict(block) for block in data.get("blocks", [])),
            private=bool(data.get("private", False)),
            replaces_source=bool(data.get("replaces_source", False)),
            live_key=str(data["live_key"]) if data.get("live_key") else None,
            toast=bool(data.get("toast", False)),
        )

    def as_text(self) -> str:
        """A plain-text rendering (console, logs of non-sensitive replies, tests)."""
        parts = [self.text]
        for block in self.blocks:
            if block.title:
                parts.append(block.title)
            if isinstance(block, Fields):
                width = max((len(key) for key, _ in block.rows), default=0)
                parts.extend(f"  {key.ljust(width)}  {value}" for key, value in block.rows)
            else:
                parts.append("  " + " | ".join(block.header))
                parts.extend("  " + " | ".join(row) for row in block.rows)
        return "\n".join(part for part in parts if part)


def _block_to_dict(block: Block) -> dict[str, Any]:
    if isinstance(block, Fields):
        return {"kind": "fields", "title": block.title, "rows": [list(row) for row in block.rows]}
    return {"kind": "table", "title": block.title, "header": list(block.header), "rows": [list(row) for row in block.rows]}


def _block_from_dict(data: dict[str, Any]) -> Block:
    if data["kind"] == "fields":
        return Fields(tuple((str(k), str(v)) for k, v in data["rows"]), data.get("title", ""))
    return Table(tuple(data["header"]), tuple(tuple(row) for row in data["rows"]), data.get("title", ""))

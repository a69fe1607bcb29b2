"""The core's replies as Telegram messages: plain text with entities, never a `parse_mode`.

Telegram reads markup (HTML, MarkdownV2) only when a message is sent with a `parse_mode`; we never set one, so
whatever a person typed and the assistant echoes (`<b>`, `*`, `_`, a link) is shown as typed and can't break the
message. The little formatting we want — a bold title, a monospace table — is given as `entities` (offset and
length in UTF-16 code units, Telegram's measure), which no text can escape from.

A reply becomes one or more messages of at most MAX_LENGTH units: its text, then each block, split at line
boundaries (a single line longer than a message at spaces, else anywhere). Blocks are laid out for a phone:
- a key-value block (a payslip's lines) under its bold title: a monospace block with the values aligned right when
  every row fits PHONE_WIDTH characters, else one `key: value` line per row, which wraps naturally;
- a table: one short card per row — its first cell bold (the value alone, "#42" under a symbol header such as
  "#"), the others as `Header: value` joined with " · ".
The buttons become an inline keyboard on the last message; each button's `callback_data` is the core's payload as
it is (at most 64 bytes, `actions.replies.Button` checks that), its label the text shown.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import zip_longest

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, MessageEntity

from actions.replies import Button, Fields, Reply, Table

__all__ = ["MAX_LENGTH", "PHONE_WIDTH", "TelegramMessage", "keyboard", "render", "units"]

MAX_LENGTH = 4096
"""Telegram's limit for a message's text, counted here in UTF-16 code units (never fewer than characters)."""
PHONE_WIDTH = 32
"""Monospace characters a phone shows on one line of a code block without wrapping."""
EMPTY = "—"
"""Shown for a reply with buttons but no text: Telegram refuses an empty message."""
ROW_SEPARATOR = " · "
BOLD, PRE = "bold", "pre"
_SPACES = re.compile(r"[ \t\n\r\f\v\u2028\u2029]+")


@dataclass(frozen=True)
class TelegramMessage:
    """One `sendMessage` (or `editMessageText`): its text, the entities formatting it, its inline keyboard."""

    text: str
    entities: tuple[MessageEntity, ...] = ()
    keyboard: InlineKeyboardMarkup | None = None


@dataclass(frozen=True)
class _Line:
    text: str
    style: str | None = None
    """BOLD for the whole line; PRE for a line of a monospace block (consecutive ones form one block)."""


def units(text: str) -> int:
    """Length as Telegram counts offsets: UTF-16 code units (a character outside the BMP counts twice)."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def render(reply: Reply) -> list[TelegramMessage]:
    """The messages that show `reply`, in order; the keyboard is on the last one."""
    lines = [_Line(line) for line in reply.text.split("\n")]
    for block in reply.blocks:
        lines.append(_Line(""))
        lines.extend(_fields(block) if isinstance(block, Fields) else _table(block))
    messages = [_message(part) for part in _pack(lines)] or [TelegramMessage(EMPTY)]
    if reply.buttons:
        last = messages[-1]
        messages[-1] = TelegramMessage(last.text, last.entities, keyboard(reply.buttons))
    return messages


def keyboard(buttons: Sequence[Button]) -> InlineKeyboardMarkup:
    """Buttons in rows: three to a row when every label is short (Yes / No), two when they are middling, else one
    each, so no label is cut on a phone."""
    longest = max(len(button.label) for button in buttons)
    per_row = 3 if longest <= 10 else 2 if longest <= 18 else 1
    keys = [InlineKeyboardButton(_cell(button.label) or EMPTY, callback_data=button.payload) for button in buttons]
    return InlineKeyboardMarkup([keys[start : start + per_row] for start in range(0, len(keys), per_row)])


# --- blocks ------------------------------------------------------------------------------------------------------


def _cell(text: str) -> str:
    """A cell on one line: runs of ordinary white space (line breaks, tabs) become one space; the no-break spaces
    inside an amount ("10 560 000,00 UZS") stay, so it never wraps in the middle."""
    return _SPACES.sub(" ", text).strip(" ")


def _title(title: str) -> list[_Line]:
    return [_Line(_cell(title), BOLD)] if _cell(title) else []


def _fields(block: Fields) -> list[_Line]:
    rows = [(_cell(key), _cell(value)) for key, value in block.rows]
    width = max((len(key) + 2 + len(value) for key, value in rows), default=0)
    if width <= PHONE_WIDTH:
        return [*_title(block.title), *(_Line(key + value.rjust(width - len(key)), PRE) for key, value in rows)]
    return [*_title(block.title), *(_Line(f"{key}: {value}" if key else value) for key, value in rows)]


def _labelled(header: str, value: str) -> str:
    """`Status: open`; `#42` under a symbol-only header such as "#"; the value alone under no header."""
    if not header:
        return value
    return header + value if not any(char.isalnum() for char in header) else f"{header}: {value}"


def _table(block: Table) -> list[_Line]:
    lines = _title(block.title)
    for number, row in enumerate(block.rows):
        cells = [(_cell(header or ""), _cell(cell)) for header, cell in zip_longest(block.header, row) if cell is not None]
        cells = [(header, cell) for header, cell in cells if cell]
        if not cells:
            continue
        if number and lines:
            lines.append(_Line(""))
        (header, lead), rest = cells[0], cells[1:]
        lines.append(_Line(lead if any(char.isalnum() for char in header) else _labelled(header, lead), BOLD))
        if rest:
            lines.append(_Line(ROW_SEPARATOR.join(_labelled(header, cell) for header, cell in rest)))
    if not block.rows and any(map(_cell, block.header)):
        lines.append(_Line(ROW_SEPARATOR.join(filter(None, map(_cell, block.header)))))
    return lines


# --- splitting ---------------------------------------------------------------------------------------------------


def _prefix(text: str, limit: int) -> int:
    """How many characters of `text` fit in `limit` UTF-16 units (at least one)."""
    used = end = 0
    for char in text:
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            break
        end += 1
    return max(end, 1)


def _pieces(line: _Line, limit: int) -> Iterator[_Line]:
    """A line in pieces of at most `limit` units: cut after the last space that fits, else anywhere."""
    text = line.text
    while units(text) > limit:
        end = _prefix(text, limit)
        space = text.rfind(" ", 0, end)
        cut = space + 1 if space > 0 else end
        yield _Line(text[:cut].rstrip(), line.style)
        text = text[cut:]
    yield _Line(text, line.style)


def _pack(lines: list[_Line], limit: int = MAX_LENGTH) -> list[list[_Line]]:
    """Consecutive lines grouped into messages of at most `limit` units; a message never starts or ends blank."""
    messages: list[list[_Line]] = []
    current: list[_Line] = []
    used = 0
    for whole in lines:
        for line in _pieces(whole, limit):
            size = units(line.text)
            if current and used + 1 + size > limit:
                messages.append(current)
                current, used = [], 0
            if not current and not line.text.strip():
                continue  # no blank line at the top of a message
            used += size + (1 if current else 0)
            current.append(line)
    messages.append(current)
    trimmed = []
    for message in messages:
        while message and not message[-1].text.strip():
            message.pop()
        if message:
            trimmed.append(message)
    return trimmed


def _message(lines: list[_Line]) -> TelegramMessage:
    """The text of these lines and its entities: a bold entity per bold line, one pre entity per run of PRE lines."""
    entities: list[MessageEntity] = []
    offset = 0
    run_start: int | None = None
    for position, line in enumerate(lines):
        if position:
            offset += 1  # the line break before this line
        if line.style == PRE and run_start is None:
            run_start = offset
        if line.style == BOLD and line.text:
            entities.append(MessageEntity(MessageEntity.BOLD, offset, units(line.text)))
        offset += units(line.text)
        following = lines[position + 1].style if position + 1 < len(lines) else None
        if run_start is not None and following != PRE:
            entities.append(MessageEntity(MessageEntity.PRE, run_start, offset - run_start))
            run_start = None
    return TelegramMessage("\n".join(line.text for line in lines), tuple(entities))

"""Slack Block Kit rendering of the core's replies: pure functions, no network, no slack-bolt.

`render(reply)` turns one channel-neutral `Reply` (actions/replies.py) into the Slack messages that show it, in
order. Slack rejects a message that breaks any Block Kit limit (`invalid_blocks`, `msg_blocks_too_long`), so every
limit is met here rather than left to chance:

- 50 blocks per message, and about 12,000 characters of text per message in all (not documented, but enforced:
  slackapi/bolt-js#2509, #2867) — we stay under `MAX_MESSAGE_TEXT`; a longer answer becomes several messages in
  order, the buttons in the last;
- 3,000 characters per section text (long text is split at line boundaries, then at spaces, then — a single
  word that long — anywhere but inside an escape), 10 fields per section and 2,000 characters per field;
- 25 elements per `actions` block, 75 characters per button label (cut with "…"), 2,000 per button value;
- no text object may be empty: blank strings are shown as "—".

Lengths are counted in UTF-16 code units after escaping, as Slack's own clients count them, so an emoji or an
`&amp;` never pushes a string over a limit that its code points alone would meet.

Escaping. Everything in a Reply may contain what a person typed (a ticket subject, a name, a reason), and Slack
reads `&`, `<` and `>` as control sequences in mrkdwn and plain text alike: `<!channel>` or `<@U123>` echoed
verbatim pings. `escape` replaces exactly those three with `&amp;`, `&lt;` and `&gt;` (Slack's rule) in every
string we send — section text, fields, button labels and the fallback text — and we never generate a link or a
mention ourselves, so no `<` or `>` ever reaches Slack unescaped. Every mrkdwn object also carries
`"verbatim": true`: without it Slack "automatically parses" plain words such as `@here` and channel names into
mentions and links, which escaping alone cannot prevent.

Formatting characters (`*`, `_`, `~`, `` ` ``) are neutralised only where our own markup needs it. Slack's mrkdwn
has no backslash escape, and formatting can only restyle text, never hide it (links would need `<`, which is
escaped), so a person's `*word*` showing in bold is harmless and their text is sent unchanged. What would break is
our own bold span around echoed text (a title, a table row's lead): `*a*b*` renders as a stray asterisk and
restyles what follows. So we bold a string only when that is safe — one line, no `*`, no edge whitespace — and
otherwise show it plain: nothing is altered, only the emphasis is lost.

Button `action_id`s are fixed per payload family (the payload's prefix before the first ':' — `leave`, `ticket`,
`form`, … in actions/payloads.py) plus the button's position in the reply, e.g. `leave-0`, `leave-1`, so they are
unique within a message as Slack requires. A bolt listener registers `app.action(ACTION_ID)` for every family
(bolt matches a compiled pattern with `re.search`; the pattern is anchored), or
`re.compile(r"^leave-[0-9]+$")` for one, and decodes the `value` — the typed payload — with
`actions.payloads.decode`; the action_id only routes, it is never trusted. `family_of(action_id)` reads the
family back.

The top-level `text` of each message (the fallback that notifications and screen readers show) is the first line
of that message's text, cut to about 150 characters. It is escaped too; whoever sends it must not set
`link_names` or `parse="full"`, which would turn `@channel` in it into a mention.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import zip_longest
from typing import Any

from actions.replies import Button, Fields, Reply, Table

__all__ = [
    "ACTION_ID",
    "MAX_BLOCKS",
    "MAX_LABEL",
    "MAX_TEXT",
    "SlackMessage",
    "action_id",
    "escape",
    "family_of",
    "render",
    "render_home",
]

MAX_BLOCKS = 50
MAX_HOME_BLOCKS = 100
"""Blocks in a Home tab view (a message holds 50)."""
MAX_TEXT = 3000
"""Characters in a section's text (and in any mrkdwn text object)."""
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_ACTIONS = 25
"""Elements in one actions block."""
MAX_LABEL = 75
MAX_VALUE = 2000
MAX_MESSAGE_TEXT = 10_000
"""Our budget for all the text of one message's blocks: Slack refuses about 12,000 and more (undocumented)."""
MAX_FIELDS_TEXT = 2 * MAX_FIELD_TEXT
"""Text in one fields section: one key-value row at its largest, so every block fits a message's budget."""
FALLBACK_LENGTH = 150
EMPTY = "—"
"""Shown for a blank string: Slack refuses empty text objects."""
ELLIPSIS = "…"
ROW_SEPARATOR = " · "
DEFAULT_FAMILY = "button"
"""The family of a payload whose prefix is not a plain lowercase word (the codec never makes one)."""

ACTION_ID = re.compile(r"^(?P<family>[a-z][a-z0-9_]{0,31})-(?P<position>[0-9]{1,5})\Z")
"""Every action_id `render` writes: `<family>-<position>`. Anchored, for bolt's `app.action(ACTION_ID)`."""
_FAMILY = re.compile(r"[a-z][a-z0-9_]{0,31}")
_ENTITY_TAIL = re.compile(r"&[a-z]{0,3}$")
"""The start of an escape cut short (`&`, `&am`, `&lt`): never end a piece of text there."""


@dataclass(frozen=True)
class SlackMessage:
    """One `chat.postMessage` (or `chat.update`): `text` is the notification fallback, `blocks` the Block Kit."""

    text: str
    blocks: list[dict[str, Any]]


def escape(text: str) -> str:
    """Slack's escaping: `&`, `<`, `>` as entities, so nothing typed becomes a mention, link or command."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def action_id(payload: str, position: int) -> str:
    """The action_id of the button at `position` in a reply: its payload's family and that position."""
    prefix = payload.partition(":")[0]
    family = prefix if _FAMILY.fullmatch(prefix) else DEFAULT_FAMILY
    return f"{family}-{position}"


def family_of(action_id: str) -> str | None:
    """The payload family an action_id names (`leave-3` → `leave`); None for one `render` never writes."""
    match = ACTION_ID.match(action_id)
    return match["family"] if match else None


def render(reply: Reply) -> list[SlackMessage]:
    """The Slack messages that show `reply`, in order; the buttons are in the last one."""
    pieces = [*_text_pieces(reply.text)]
    for block in reply.blocks:
        pieces.extend(_fields_pieces(block) if isinstance(block, Fields) else _table_pieces(block))
    pieces.extend(_actions_pieces(reply.buttons))
    if not pieces:
        pieces = [_Piece(_section(EMPTY), EMPTY)]
    default = next((piece.gist for piece in pieces if piece.gist.strip()), EMPTY)
    return [
        SlackMessage(_fallback(next((p.gist for p in part if p.gist.strip()), default)), [p.block for p in part])
        for part in _messages(pieces)
    ]


# --- text ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Piece:
    """One block, with the plain (escaped) text a fallback may quote and the text it counts against a message."""

    block: dict[str, Any]
    gist: str

    @property
    def weight(self) -> int:
        return sum(_units(text) for text in _strings(self.block))


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("text", "value") and isinstance(value, str):
                yield value
            else:
                yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def _units(text: str) -> int:
    """Length as Slack counts it: UTF-16 code units (a character outside the BMP counts twice)."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(text)}


def _or_empty(escaped: str) -> str:
    return escaped if escaped.strip() else EMPTY


def _bold(escaped: str) -> str:
    """`*text*` when Slack will read it as one bold span; otherwise the text as it is (see the module's notes)."""
    if escaped and escaped == escaped.strip() and "*" not in escaped and "\n" not in escaped:
        return f"*{escaped}*"
    return escaped


def _prefix(escaped: str, limit: int) -> int:
    """How many characters of `escaped` fit in `limit` UTF-16 units, without ending inside an escape (at least 1)."""
    used = end = 0
    for char in escaped:
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            break
        end += 1
    tail = _ENTITY_TAIL.search(escaped, max(0, end - 4), end) if end < len(escaped) else None
    if tail:
        end = tail.start()
    return max(end, 1)


def _split(escaped: str, limit: int = MAX_TEXT) -> list[str]:
    """Escaped text in pieces of at most `limit` units: whole lines where possible, else words, else characters.

    Only the line breaks and spaces where a piece ends are dropped (each piece becomes a block of its own), and
    pieces that are blank are left out; every other character is kept, in order.
    """
    lines: list[str] = []
    for line in escaped.split("\n"):
        lines.extend([line] if _units(line) <= limit else _pack(_words(line, limit), " ", limit))
    return [piece for piece in _pack(lines, "\n", limit) if piece.strip()]


def _words(line: str, limit: int) -> Iterator[str]:
    for word in line.split(" "):
        while _units(word) > limit:
            end = _prefix(word, limit)
            yield word[:end]
            word = word[end:]
        yield word


def _pack(parts: Iterable[str], separator: str, limit: int) -> list[str]:
    """Join consecutive parts with `separator` into pieces of at most `limit` units (each part already fits)."""
    pieces: list[str] = []
    current: str | None = None
    for part in parts:
        if current is not None and _units(current) + len(separator) + _units(part) <= limit:
            current += separator + part
        else:
            if current is not None:
                pieces.append(current)
            current = part
    if current is not None:
        pieces.append(current)
    return pieces


def _text_pieces(text: str) -> list[_Piece]:
    return [_Piece(_section(piece), piece) for piece in _split(escape(text))]


def _fallback(gist: str) -> str:
    """The first line of a message's text, cut to about FALLBACK_LENGTH characters (still escaped)."""
    line = next((line.strip() for line in gist.split("\n") if line.strip()), EMPTY)
    if len(line) > 2 and line[0] == line[-1] == "*" and "*" not in line[1:-1]:
        line = line[1:-1]  # our bold title or lead: the notification shows it plain
    if _units(line) <= FALLBACK_LENGTH:
        return line
    cut = line[: _prefix(line, FALLBACK_LENGTH - 1)]
    space = cut.rfind(" ")
    if space > FALLBACK_LENGTH // 2:
        cut = cut[:space]
    return cut.rstrip() + ELLIPSIS


# --- key-value blocks and tables -------------------------------------------------------------------------------


def _title(title: str) -> tuple[str | None, list[_Piece]]:
    """A block's title: a bold line to head its first section, or (too long for one) sections of its own."""
    escaped = escape(title.strip())
    if not escaped:
        return None, []
    line = _bold(escaped)
    if _units(line) <= MAX_TEXT:
        return line, []
    return None, _text_pieces(title)


def _fields_pieces(block: Fields) -> list[_Piece]:
    """A key-value block as sections of `fields`, two per row (key, value), at most five rows a section.

    Slack lays fields out in two columns on desktop and phone alike, so each row reads as key | value, like the
    lines of a payslip, in order. A row whose key or value is too long for a field becomes text sections.
    """
    heading, pieces = _title(block.title)
    fields: list[dict[str, Any]] = []

    def flush() -> None:
        nonlocal heading, fields
        if not fields and heading is None:
            return
        section: dict[str, Any] = {"type": "section"}
        if heading is not None:
            section["text"] = _mrkdwn(heading)
        if fields:
            section["fields"] = fields
        pieces.append(_Piece(section, heading or fields[0]["text"]))
        heading, fields = None, []

    for key, value in block.rows:
        cells = [_or_empty(escape(key)), _or_empty(escape(value))]
        if any(_units(cell) > MAX_FIELD_TEXT for cell in cells):
            flush()
            pieces.extend(_text_pieces(f"{key}\n{value}"))
            continue
        used = sum(_units(field["text"]) for field in fields)
        if len(fields) + 2 > MAX_FIELDS or used + sum(map(_units, cells)) > MAX_FIELDS_TEXT:
            flush()
        fields.extend(_mrkdwn(cell) for cell in cells)
    flush()
    return pieces


def _cell(text: str) -> str:
    return " ".join(text.split())


def _labelled(header: str, value: str, *, lead: bool = False) -> str:
    """`Status: open`; `#42` under a symbol-only header (a number the header marks; a value that already has its
    mark, "#42" or "#42 Alice", stays as it is); the value alone under no header or as a row's lead."""
    if not any(char.isalnum() for char in header):
        return header + value if value[:1].isdigit() else value
    return value if lead else f"{header}: {value}"


def _table_pieces(block: Table) -> list[_Piece]:
    """A table as compact text, one paragraph per row, several rows to a section.

    A phone is too narrow for columns (a preformatted grid wraps into noise, and fields would show two cells side
    by side with no row boundary), so each row becomes a short card: its first cell as a bold lead line (the
    value alone — "A4 paper", not "Item: A4 paper" — the row's name needs no label; a symbol header such as "#"
    is kept: "#42"), the others below as `Header: value` joined with " · ", which wraps naturally on any width. Rows are separated by
    a blank line and packed into sections of up to 3,000 characters, so a table of 40 rows costs a few blocks,
    not 40 (a message holds at most 50). Empty cells are left out; a table with no rows shows its header names.
    """
    heading, pieces = _title(block.title)
    texts: list[str] = []
    for row in block.rows:
        parts = [
            escape(_labelled(_cell(header or ""), _cell(cell), lead=not position))
            for position, (header, cell) in enumerate(zip_longest(block.header, row))
            if cell is not None and _cell(cell)
        ]
        if parts:
            texts.append("\n".join(filter(None, [_bold(parts[0]), ROW_SEPARATOR.join(parts[1:])])))
    if not block.rows:
        header = escape(ROW_SEPARATOR.join(filter(None, map(_cell, block.header))))
        if header:
            texts.append(header)
    current, separator = heading, "\n"  # the title is a line above the first row; rows are paragraphs
    for text in texts:
        if current is not None and _units(current) + len(separator) + _units(text) <= MAX_TEXT:
            current, separator = current + separator + text, "\n\n"
            continue
        if current is not None:
            pieces.append(_Piece(_section(current), current))
        current, separator = (text, "\n\n") if _units(text) <= MAX_TEXT else (None, "\n\n")
        if current is None:
            pieces.extend(_Piece(_section(piece), piece) for piece in _split(text))
    if current is not None:
        pieces.append(_Piece(_section(current), current))
    return pieces


# --- buttons and messages ----------------------------------------------------------------------------------------


def _label(label: str) -> str:
    escaped = _or_empty(escape(" ".join(label.split())))
    if _units(escaped) <= MAX_LABEL:
        return escaped
    return escaped[: _prefix(escaped, MAX_LABEL - 1)].rstrip() + ELLIPSIS


def _button(button: Button, position: int) -> dict[str, Any]:
    if len(button.payload) > MAX_VALUE:  # a Button holds at most 64 bytes; a cut payload would be corrupt
        raise ValueError("button payload longer than Slack's value limit")
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": _label(button.label)},
        "action_id": action_id(button.payload, position),
        "value": button.payload,
    }


def _actions_pieces(buttons: Sequence[Button]) -> list[_Piece]:
    elements = [_button(button, position) for position, button in enumerate(buttons)]
    return [
        _Piece({"type": "actions", "elements": elements[start : start + MAX_ACTIONS]}, "")
        for start in range(0, len(elements), MAX_ACTIONS)
    ]


def _messages(pieces: list[_Piece]) -> list[list[_Piece]]:
    """Consecutive blocks grouped into messages within the block count and the text budget.

    The trailing actions blocks go together into the last message whenever one message can hold them all.
    """
    actions = [piece for piece in pieces if piece.block["type"] == "actions"]
    together = len(actions) <= MAX_BLOCKS and sum(piece.weight for piece in actions) <= MAX_MESSAGE_TEXT
    messages: list[list[_Piece]] = []
    current: list[_Piece] = []
    used = 0
    for piece in pieces:
        count, weight = 1, piece.weight
        if together and actions and piece is actions[0]:
            count, weight = len(actions), sum(piece.weight for piece in actions)
        if current and (len(current) + count > MAX_BLOCKS or used + weight > MAX_MESSAGE_TEXT):
            messages.append(current)
            current, used = [], 0
        current.append(piece)
        used += piece.weight
    if current:
        messages.append(current)
    return messages


def render_home(reply: Reply) -> list[dict[str, Any]]:
    """The blocks of a Home tab view showing `reply`: the blocks of the messages `render` makes, in order, in one
    view (no fallback text: a view has none). Past MAX_HOME_BLOCKS the text is cut, never the buttons (they come
    last, and a reply has at most a few rows of them)."""
    blocks = [block for message in render(reply) for block in message.blocks]
    if len(blocks) <= MAX_HOME_BLOCKS:
        return blocks
    actions = [block for block in blocks if block["type"] == "actions"][-MAX_HOME_BLOCKS:]
    others = [block for block in blocks if block["type"] != "actions"]
    return others[: MAX_HOME_BLOCKS - len(actions)] + actions

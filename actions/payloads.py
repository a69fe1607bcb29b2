"""Button payloads: one typed codec for every button the assistant shows.

A payload is what a platform hands back when a button is pressed (Telegram's `callback_data`, Slack's action
`value`): untrusted text of at most 64 bytes that anyone can forge. Every button is built from one of the
dataclasses below and every press is parsed here, once: record ids are ASCII digits within 1..2**31-1 (what both
databases' integer columns hold), actions come from closed sets, and anything else decodes to `None`, which the
dialogue answers as an expired button — never an exception. Handlers receive the dataclass, not split text.

Form buttons carry the form *instance* they belong to (a short random token kept in the conversation's form
frame), so the Yes of an older confirmation can't confirm whatever form is open now; a slot choice carries only
the position of a value the form offered (the values stay in the frame), so a forged one can't inject a value.

The `home` family is for the person's home page (Slack's App Home): `home:show` asks for it to be (re)published,
and its Approve/Reject buttons are `home:approve:<id>` / `home:reject:<id>`, so the core knows the press came from
the home and answers by republishing it (a home view has no message to replace or reply under).

`lang:<code>` chooses the language the assistant writes in (the `/lang` command's buttons, actions/language.py).
"""

from __future__ import annotations

import enum
import re
import secrets
from dataclasses import dataclass
from typing import ClassVar, TypeVar

from actions.i18n import LANGUAGES
from actions.replies import MAX_PAYLOAD
from storage.payroll import PERIOD

MAX_ID = 2**31 - 1
"""The largest record id: PostgreSQL's `integer`; bigger numbers can't name a row and would overflow a query."""
MAX_OFFERS = 20
"""Choice buttons one question may offer."""
LATEST = "latest"

_ID = re.compile(r"0|[1-9][0-9]{0,9}")
"""Digits as the codec writes them (no leading zeros: one payload, one spelling)."""
_INSTANCE = re.compile(r"[0-9a-f]{8}")
_INTENT = re.compile(r"[a-z][a-z_]{0,39}")


def record_id(value: object) -> int | None:
    """A record id as typed or pressed: ASCII digits (after an optional '#' or '№') within 1..MAX_ID, else None.

    `str.isdigit()` and `int()` accept '²' or '٤٢', and `int()` any size, which is why ids are read only here.
    """
    text = str(value).strip().lstrip("#№").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 10:
        return None
    number = int(text)
    return number if 1 <= number <= MAX_ID else None


def new_instance() -> str:
    """A token naming one form instance (in its frame and on its buttons)."""
    return secrets.token_hex(4)


def _id(text: str) -> int:
    """Digits of a payload field (the range is checked by the dataclass)."""
    if not _ID.fullmatch(text):
        raise ValueError(f"not a record id: {text!r}")
    return int(text)


def _check_id(number: int) -> None:
    if not 1 <= number <= MAX_ID:
        raise ValueError(f"record id out of range: {number}")


def _arity(parts: list[str], count: int) -> list[str]:
    if len(parts) != count:
        raise ValueError(f"expected {count} fields, got {len(parts)}")
    return parts


# --- the families ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LeaveDecision:
    """`leave:approve:42` / `leave:reject:42` — the decider's buttons on a pending request."""

    prefix: ClassVar[str] = "leave"
    request_id: int
    approve: bool

    def __post_init__(self) -> None:
        _check_id(self.request_id)

    def fields(self) -> tuple[str, ...]:
        return ("approve" if self.approve else "reject", str(self.request_id))


@dataclass(frozen=True)
class LeaveCancel:
    """`leave:cancel:42` — the requester picks which request to withdraw."""

    prefix: ClassVar[str] = "leave"
    request_id: int

    def __post_init__(self) -> None:
        _check_id(self.request_id)

    def fields(self) -> tuple[str, ...]:
        return ("cancel", str(self.request_id))


@dataclass(frozen=True)
class PayslipChoice:
    """`payslip:show:<YYYY-MM|latest>[:<employee id>]` — a month offered, or (for HR) a person to pick."""

    prefix: ClassVar[str] = "payslip"
    period: str | None
    """None: the latest payslip."""
    employee_id: int | None = None
    """None: the person pressing."""

    def __post_init__(self) -> None:
        if self.period is not None and not PERIOD.match(self.period):
            raise ValueError(f"not a month: {self.period!r}")
        if self.employee_id is not None:
            _check_id(self.employee_id)

    def fields(self) -> tuple[str, ...]:
        shown = ("show", self.period or LATEST)
        return shown if self.employee_id is None else (*shown, str(self.employee_id))


class CaseVerb(enum.StrEnum):
    REPLY = "reply"
    """HR writes to the employee."""
    ANSWER = "answer"
    """The employee writes back to HR."""
    CLOSE = "close"


@dataclass(frozen=True)
class CaseAction:
    """`hr:reply:7`, `hr:answer:7`, `hr:close:7` — on the messages of an HR case."""

    prefix: ClassVar[str] = "hr"
    verb: CaseVerb
    case_id: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "verb", CaseVerb(self.verb))
        _check_id(self.case_id)

    def fields(self) -> tuple[str, ...]:
        return (self.verb.value, str(self.case_id))


class TicketVerb(enum.StrEnum):
    SHOW = "show"
    TAKE = "take"
    CLOSE = "close"
    REOPEN = "reopen"
    ANSWER = "answer"


@dataclass(frozen=True)
class TicketAction:
    """`ticket:take:42` etc. — on ticket notifications and lists."""

    prefix: ClassVar[str] = "ticket"
    verb: TicketVerb
    number: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "verb", TicketVerb(self.verb))
        _check_id(self.number)

    def fields(self) -> tuple[str, ...]:
        return (self.verb.value, str(self.number))


@dataclass(frozen=True)
class StockItemChoice:
    """`stock:show:9` — a 'did you mean' suggestion or the item of a low-stock alert."""

    prefix: ClassVar[str] = "stock"
    item_id: int

    def __post_init__(self) -> None:
        _check_id(self.item_id)

    def fields(self) -> tuple[str, ...]:
        return ("show", str(self.item_id))


@dataclass(frozen=True)
class ReminderCancel:
    """`reminder:cancel:12` — cancel one of the person's own reminders (checked to be theirs on use)."""

    prefix: ClassVar[str] = "reminder"
    schedule_id: int

    def __post_init__(self) -> None:
        _check_id(self.schedule_id)

    def fields(self) -> tuple[str, ...]:
        return ("cancel", str(self.schedule_id))


@dataclass(frozen=True)
class FormAnswer:
    """`form:yes:<instance>` / `form:no:<instance>` — the answer to one form instance's confirmation."""

    prefix: ClassVar[str] = "form"
    instance: str
    yes: bool

    def __post_init__(self) -> None:
        if not _INSTANCE.fullmatch(self.instance):
            raise ValueError(f"not a form instance: {self.instance!r}")

    def fields(self) -> tuple[str, ...]:
        return ("yes" if self.yes else "no", self.instance)


@dataclass(frozen=True)
class SlotChoice:
    """`slot:<instance>:<n>` — the n-th value that form instance offered for the slot it asked."""

    prefix: ClassVar[str] = "slot"
    instance: str
    index: int

    def __post_init__(self) -> None:
        if not _INSTANCE.fullmatch(self.instance):
            raise ValueError(f"not a form instance: {self.instance!r}")
        if not 0 <= self.index < MAX_OFFERS:
            raise ValueError(f"choice out of range: {self.index}")

    def fields(self) -> tuple[str, ...]:
        return (self.instance, str(self.index))


@dataclass(frozen=True)
class IntentShortcut:
    """`intent:help` — a button that asks what a message could ask (the dialogue admits only intents that need
    nothing prefilled)."""

    prefix: ClassVar[str] = "intent"
    intent: str

    def __post_init__(self) -> None:
        if not _INTENT.fullmatch(self.intent):
            raise ValueError(f"not an intent name: {self.intent!r}")

    def fields(self) -> tuple[str, ...]:
        return (self.intent,)


@dataclass(frozen=True)
class ShowHome:
    """`home:show` — publish the person's home page (they opened it, or something on it changed)."""

    prefix: ClassVar[str] = "home"

    def fields(self) -> tuple[str, ...]:
        return ("show",)


@dataclass(frozen=True)
class HomeDecision(LeaveDecision):
    """`home:approve:42` / `home:reject:42` — a decider's buttons on their home page: a leave decision like the
    `leave:` ones, answered with the home page republished."""

    prefix: ClassVar[str] = "home"


@dataclass(frozen=True)
class LanguageChoice:
    """`lang:ru` — one of the assistant's six languages, chosen to be written to in."""

    prefix: ClassVar[str] = "lang"
    language: str

    def __post_init__(self) -> None:
        if self.language not in LANGUAGES:
            raise ValueError(f"not a language of the assistant: {self.language!r}")

    def fields(self) -> tuple[str, ...]:
        return (self.language,)


HOME_FAMILIES: tuple[type[ShowHome | HomeDecision], ...] = (ShowHome, HomeDecision)
"""Presses answered on the person's home page rather than in a chat."""


Payload = (
    LeaveDecision
    | LeaveCancel
    | PayslipChoice
    | CaseAction
    | TicketAction
    | StockItemChoice
    | ReminderCancel
    | FormAnswer
    | SlotChoice
    | IntentShortcut
    | ShowHome
    | HomeDecision
    | LanguageChoice
)
P = TypeVar("P", bound=Payload)
FAMILIES: tuple[type[Payload], ...] = (
    LeaveDecision,
    LeaveCancel,
    PayslipChoice,
    CaseAction,
    TicketAction,
    StockItemChoice,
    ReminderCancel,
    FormAnswer,
    SlotChoice,
    IntentShortcut,
    ShowHome,
    HomeDecision,
    LanguageChoice,
)


def encode(payload: Payload) -> str:
    text = ":".join((payload.prefix, *payload.fields()))
    if len(text.encode()) > MAX_PAYLOAD:  # only a new family with long fields could; caught by the codec's tests
        raise ValueError(f"payload longer than {MAX_PAYLOAD} bytes: {text!r}")
    return text


def decode(text: str) -> Payload | None:
    """The payload a pressed button carried, validated; None for anything this assistant never sent."""
    if not text.isascii() or len(text) > MAX_PAYLOAD:
        return None
    prefix, _, rest = text.partition(":")
    parts = rest.split(":")
    try:
        return _PARSERS[prefix](parts) if prefix in _PARSERS else None
    except ValueError:  # every refusal below, and the dataclasses' own checks, raise ValueError
        return None


def _leave(parts: list[str]) -> LeaveDecision | LeaveCancel:
    action, number = _arity(parts, 2)
    if action == "cancel":
        return LeaveCancel(_id(number))
    if action not in ("approve", "reject"):
        raise ValueError(f"not a leave action: {action!r}")
    return LeaveDecision(_id(number), approve=action == "approve")


def _payslip(parts: list[str]) -> PayslipChoice:
    if len(parts) not in (2, 3) or parts[0] != "show":
        raise ValueError("not a payslip button")
    period = None if parts[1] == LATEST else parts[1]
    return PayslipChoice(period, _id(parts[2]) if len(parts) == 3 else None)


def _case(parts: list[str]) -> CaseAction:
    verb, number = _arity(parts, 2)
    return CaseAction(CaseVerb(verb), _id(number))


def _ticket(parts: list[str]) -> TicketAction:
    verb, number = _arity(parts, 2)
    return TicketAction(TicketVerb(verb), _id(number))


def _stock(parts: list[str]) -> StockItemChoice:
    action, number = _arity(parts, 2)
    if action != "show":
        raise ValueError(f"not a stock action: {action!r}")
    return StockItemChoice(_id(number))


def _reminder(parts: list[str]) -> ReminderCancel:
    action, number = _arity(parts, 2)
    if action != "cancel":
        raise ValueError(f"not a reminder action: {action!r}")
    return ReminderCancel(_id(number))


def _form(parts: list[str]) -> FormAnswer:
    answer, instance = _arity(parts, 2)
    if answer not in ("yes", "no"):
        raise ValueError(f"not an answer: {answer!r}")
    return FormAnswer(instance, yes=answer == "yes")


def _slot(parts: list[str]) -> SlotChoice:
    instance, index = _arity(parts, 2)
    return SlotChoice(instance, _id(index))


def _intent(parts: list[str]) -> IntentShortcut:
    (name,) = _arity(parts, 1)
    return IntentShortcut(name)


def _home(parts: list[str]) -> ShowHome | HomeDecision:
    if parts == ["show"]:
        return ShowHome()
    action, number = _arity(parts, 2)
    if action not in ("approve", "reject"):
        raise ValueError(f"not a home action: {action!r}")
    return HomeDecision(_id(number), approve=action == "approve")


def _language(parts: list[str]) -> LanguageChoice:
    (code,) = _arity(parts, 1)
    return LanguageChoice(code)


_PARSERS = {
    "leave": _leave,
    "payslip": _payslip,
    "hr": _case,
    "ticket": _ticket,
    "stock": _stock,
    "reminder": _reminder,
    "form": _form,
    "slot": _slot,
    "intent": _intent,
    "home": _home,
    "lang": _language,
}


def decode_as(kind: type[P], text: str) -> P | None:
    """Decode `text` only if it is a `kind` payload (for tests and for code that expects one family)."""
    found = decode(text)
    return found if isinstance(found, kind) else None

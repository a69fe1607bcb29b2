"""Payslips in chat: the latest or a given month's breakdown, only to its owner (and to HR), always privately.

The storage rule (`payroll.read_payslip`) decides who may read what and audits every view; this module only finds
whose payslip and which month the person means, and lays the breakdown out in their language.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

from babel.dates import format_skeleton
from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

from actions.context import ActionContext
from actions.i18n import Translator
from actions.payloads import PayslipChoice, encode
from actions.registry import Routes
from actions.replies import Button, Fields
from storage import payroll, people
from storage.errors import DomainError, PermissionDenied
from storage.payroll import LineKind, Payslip
from storage.people import Employee, Role

routes = Routes()

MONTHS_LISTED = 6
MONTH_BUTTONS = 3
SHORT_NAME = 5
"""Names shorter than this must match exactly: one changed letter already turns 'Bob' into 'Rob'."""
LONG_NAME = 9
"""Names this long tolerate two typos; those in between one ('Alcie' is Alice)."""

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
WORD = re.compile(r"\w+")
KIND_TITLES = {LineKind.EARNING: "payslips.earnings", LineKind.DEDUCTION: "payslips.deductions", LineKind.TAX: "payslips.taxes"}


@routes.intent("payslip_show")
async def show_payslip(ctx: ActionContext) -> None:
    period = _month(ctx.message.entity("month"))
    if not ctx.employee.has_role(Role.HR):
        # Only HR may see someone else's, so for anyone else there is nobody to look for: no fuzzy reading of
        # names ("hurry up" is not Harry), no reading of the staff list. An address that isn't theirs is refused.
        if _other_email(ctx):
            raise PermissionDenied("Payslips are visible only to their owner and HR.", code="not_your_payslip")
        await _show(ctx, ctx.employee, period)
        return
    named = await named_colleagues(ctx)
    if len(named) > 1:
        ctx.say(
            "payslips.which_person",
            names=", ".join(person.name for person in named),
            buttons=[Button(person.name, _payload(period, person.id)) for person in named[:MONTH_BUTTONS]],
            private=True,
        )
        return
    owner = named[0] if named else ctx.employee
    await _show(ctx, owner, period)


@routes.button(PayslipChoice)
async def payslip_button(ctx: ActionContext, press: PayslipChoice) -> None:
    """A month offered, or (for HR) the person picked; the storage rule refuses anyone else's."""
    owner = ctx.employee
    if press.employee_id is not None and press.employee_id != ctx.employee.id:
        owner = await people.get_employee(ctx.session, press.employee_id)
    await _show(ctx, owner, press.period)


async def _show(ctx: ActionContext, owner: Employee, period: str | None) -> None:
    try:
        payslip = await payroll.read_payslip(ctx.session, ctx.employee, employee_id=owner.id, period=period)
    except DomainError as refused:
        if refused.code != "payslip_not_found":
            raise  # the core tells the person why
        await _say_missing(ctx, owner, period)
        return
    ctx.say(
        "payslips.own" if owner.id == ctx.employee.id else "payslips.of_colleague",
        name=owner.name,
        month=month_name(ctx.t, payslip.period),
        blocks=breakdown(ctx.t, payslip),
        private=True,
    )


async def _say_missing(ctx: ActionContext, owner: Employee, period: str | None) -> None:
    own = owner.id == ctx.employee.id
    available = await payroll.periods_of(ctx.session, ctx.employee, employee_id=owner.id)
    if not available:
        ctx.say("payslips.none_yet" if own else "payslips.none_yet_colleague", name=owner.name, private=True)
        return
    employee_id = None if own else owner.id
    ctx.say(
        "payslips.no_month" if own else "payslips.no_month_colleague",
        name=owner.name,
        month=month_name(ctx.t, period or available[0]),
        available=", ".join(month_name(ctx.t, other) for other in available[:MONTHS_LISTED]),
        buttons=[Button(month_name(ctx.t, other), _payload(other, employee_id)) for other in available[:MONTH_BUTTONS]],
        private=True,
    )


def breakdown(t: Translator, payslip: Payslip) -> tuple[Fields, ...]:
    """One Fields block per kind of line that the payslip has, then the totals."""
    blocks = []
    for kind, title in KIND_TITLES.items():
        rows = tuple((line.label, t.money(line.amount, payslip.currency)) for line in payslip.lines if LineKind(line.kind) is kind)
        if rows:
            blocks.append(Fields(rows, title=t(title)))
    totals = ((t("payslips.gross"), t.money(payslip.gross, payslip.currency)), (t("payslips.net"), t.money(payslip.net, payslip.currency)))
    blocks.append(Fields(totals, title=t("payslips.totals")))
    return tuple(blocks)


def month_name(t: Translator, period: str) -> str:
    """'2026-10' → 'October 2026' / 'октябрь 2026 г.' / 'tháng 10 năm 2026'."""
    year, month = (int(part) for part in period.split("-"))
    return format_skeleton("yMMMM", date(year, month, 1), locale=t.locale)


def _other_email(ctx: ActionContext) -> bool:
    own = ctx.employee.email.casefold()
    return any(address.casefold() != own for address in EMAIL.findall(ctx.message.text))


async def named_colleagues(ctx: ActionContext) -> list[Employee]:
    """Colleagues whose email or name the message mentions (never the asker; entity spans such as a month are
    skipped, so 'May' the month is not 'May' the person)."""
    text = _without_entities(ctx.message.text, ctx.message.entities)
    others = [entry for entry in await people.directory(ctx.session) if entry[0] != ctx.employee.id]
    emails = {address.casefold() for address in EMAIL.findall(text)}
    named = [employee_id for employee_id, _, email in others if email.casefold() in emails]
    if not named:
        words = [word.casefold() for word in WORD.findall(EMAIL.sub(" ", text))]
        named = [employee_id for employee_id, name, _ in others if _mentions(words, name)]
    return [await people.get_employee(ctx.session, employee_id) for employee_id in named]


def _mentions(words: list[str], name: str) -> bool:
    """The first name, or the whole name in order, appears among the words (a typo allowed in longer names)."""
    parts = [part.casefold() for part in WORD.findall(name)]
    if not parts or not words:
        return False
    if _has_word(words, parts[0]):
        return True
    size = len(parts)
    return size > 1 and any(words[i : i + size] == parts for i in range(len(words) - size + 1))


def _has_word(words: Iterable[str], name: str) -> bool:
    if len(name) < SHORT_NAME:
        return name in words
    typos = 1 if len(name) < LONG_NAME else 2
    return process.extractOne(name, list(words), scorer=DamerauLevenshtein.distance, score_cutoff=typos) is not None


def _without_entities(text: str, entities: Iterable[dict[str, object]]) -> str:
    chars = list(text)
    for found in entities:
        start, end = found.get("start"), found.get("end")
        if isinstance(start, int) and isinstance(end, int):
            chars[start:end] = " " * (end - start)
    return "".join(chars)


def _month(value: object) -> str | None:
    """The `month` entity as YYYY-MM, if it is one."""
    if value is None:
        return None
    text = str(value)
    return text if payroll.PERIOD.match(text) else None


def _payload(period: str | None, employee_id: int | None) -> str:
    return encode(PayslipChoice(period, employee_id))

"""What the Slack and Telegram scenarios share: the same company with the same payslips and stock, and the same
happy path of every capability, so both channels are held to one script (test_slack_scenarios.py,
test_telegram_scenarios.py)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from actions.i18n import Translator
from storage import payroll, people
from storage.payroll import LineInput, LineKind
from storage.people import Employee
from storage.stock import LocationKind, StockItem, StockLevel, StockLocation
from tests.factories import Company, make_company

EN, RU = Translator("en"), Translator("ru")

ALICE_NET, BOB_NET = Decimal("2339.00"), Decimal("10560000.00")
PAYSLIPS = {  # who: (currency, lines) for October 2026
    "alice": ("EUR", [
        LineInput(LineKind.EARNING, "Base salary", Decimal("2500.00")),
        LineInput(LineKind.EARNING, "Bonus", Decimal("300.00")),
        LineInput(LineKind.DEDUCTION, "Pension fund", Decimal("125.00")),
        LineInput(LineKind.TAX, "Income tax", Decimal("336.00")),
    ]),  # gross 2800.00, net 2339.00
    "bob": ("UZS", [
        LineInput(LineKind.EARNING, "Оклад", Decimal("12000000.00")),
        LineInput(LineKind.TAX, "НДФЛ", Decimal("1440000.00")),
    ]),  # net 10560000.00
}
ALICE_FIGURES = ("2,339", "2339", "2,800", "2800", "2,500", "2500", "336", "125")
"""Alice's payslip amounts as they could appear in any format: none may reach a channel."""


async def prepare(session: AsyncSession, identities: Iterable[tuple[str, str, str]]) -> Company:
    """The demo company with the given (who, platform, user id) chat identities linked, October payslips for Alice
    and Bob, HDMI cables and paper."""
    company = await make_company(session)
    for who, platform, user in identities:
        await people.link_identity(session, getattr(company, who), platform, user)
    for who, (currency, lines) in PAYSLIPS.items():
        employee = await session.get(Employee, getattr(company, who).id)
        assert employee is not None
        await payroll.publish_payslip(session, employee, period="2026-10", currency=currency, lines=lines)
    hdmi = StockItem(sku="CBL-HDMI", name="HDMI cable", aliases=["hdmi lead"])
    paper = StockItem(sku="PAP-A4", name="A4 paper", aliases=["printer paper"])
    room = StockLocation(code="R1", name="Room 1", kind=LocationKind.SUPPLY_ROOM)
    shelf = StockLocation(code="SR-2", name="Supply room 2", kind=LocationKind.SUPPLY_ROOM)
    session.add_all([hdmi, paper, room, shelf])
    await session.flush()  # the stock is there before the service starts: it learns the catalogue's names then
    session.add_all([
        StockLevel(item_id=hdmi.id, location_id=room.id, quantity=12, reorder_level=5),
        StockLevel(item_id=hdmi.id, location_id=shelf.id, quantity=5, reorder_level=3),
        StockLevel(item_id=paper.id, location_id=room.id, quantity=40, reorder_level=10),
    ])
    return company


@dataclass(frozen=True)
class Step:
    """One capability's happy path in a private chat: what is said (in turn), a fragment of the last answer, the
    button then pressed and a fragment of what the chat reads after (the message with the button, updated), and a
    fragment of what someone else is sent."""

    capability: str
    says: tuple[str, ...]
    answer: str
    press: str | None = None
    then: str | None = None
    tells: tuple[str, str] | None = None


HAPPY_PATHS = {  # language: (who, steps)
    "en": ("alice", [
        Step("leave request", ("annual leave from 14 to 18 December",), "Annual leave, Mon 14 Dec – Fri 18 Dec: 5 working days.",
             "Yes", "request #1 for annual leave, Mon 14 Dec – Fri 18 Dec (5 working days) is filed",
             ("manager", "Alice Able asks for annual leave, Mon 14 Dec – Fri 18 Dec (5 working days). Request #1.")),
        Step("leave balance", ("what's my leave balance",), EN("leave.balance_intro", year=2026)),
        Step("payslip", ("show my payslip",), EN.money(ALICE_NET, "EUR")),
        Step("IT ticket", ("my laptop won't turn on",), "I'll open a hardware ticket, normal priority: “my laptop won't turn on”. OK?",
             "Yes", "ticket #1 is open (hardware, normal priority)", ("it_agent", "ticket #1 from Alice Able")),
        Step("stock", ("do we have hdmi cabel?",), EN("stock.levels", item="HDMI cable", count="17")),
        Step("HR escalation", ("I want to talk to HR", "My manager keeps booking meetings over my lunch break"),
             "I'll send this to HR:\n“My manager keeps booking meetings over my lunch break”", "Yes", "your message is with HR (case #1)",
             ("hr", "New HR case #1 from Alice Able")),
    ]),
    "ru": ("bob", [
        Step("leave request", ("отпуск с 14 по 18 декабря",), "5 рабочих дней. Останется 19 дней.",
             "Да", "заявка №1 на ежегодный отпуск", ("manager", "Bob Baker asks for annual leave, Mon 14 Dec – Fri 18 Dec (5 working days).")),
        Step("leave balance", ("покажи остаток отпуска",), RU("leave.balance_intro", year=2026)),
        Step("payslip", ("расчетный лист за октябрь",), RU.money(BOB_NET, "UZS")),
        Step("IT ticket", ("vpn не подключается, срочно",), "Заведу заявку в IT — категория «сеть», приоритет высокий",
             "Да", "заявка #1 открыта", ("it_agent", "Urgent ticket #1 from Bob Baker")),
        Step("stock", ("сколько бумаги а4 осталось",), RU("stock.levels", item="A4 paper", count="40")),
        Step("HR escalation", ("у меня конфликт с руководителем, к кому обратиться",), "Отправлю в HR вот это:", "Да",
             "обращение передано в HR (№1)", ("hr", "New HR case #1 from Bob Baker")),
    ]),
}

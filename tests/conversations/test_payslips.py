"""Payslips in chat: the owner (and HR) see the breakdown privately in their language, every view is audited
without amounts, colleagues are refused, and a month without a payslip lists the months there are."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import select

from actions.i18n import Translator
from actions.replies import Fields, Reply
from storage import payroll
from storage.audit import AuditEntry
from storage.database import Database
from storage.payroll import LineInput, LineKind
from storage.people import Employee
from tests.conversations.conftest import Chat
from tests.factories import Company

ALICE_OCTOBER = [
    LineInput(LineKind.EARNING, "Base salary", Decimal("2500.00")),
    LineInput(LineKind.EARNING, "Bonus", Decimal("300.00")),
    LineInput(LineKind.DEDUCTION, "Pension fund", Decimal("125.00")),
    LineInput(LineKind.TAX, "Income tax", Decimal("336.00")),
]  # gross 2800.00, net 2339.00
ALICE_SEPTEMBER = [
    LineInput(LineKind.EARNING, "Base salary", Decimal("2500.00")),
    LineInput(LineKind.TAX, "Income tax", Decimal("300.00")),
]  # gross 2500.00, net 2200.00
BOB_OCTOBER = [
    LineInput(LineKind.EARNING, "Оклад", Decimal("12000000.00")),
    LineInput(LineKind.TAX, "НДФЛ", Decimal("1440000.00")),
]  # net 10560000.00


@pytest.fixture
async def payslips(database: Database, company: Company) -> dict[str, int]:
    """Payslip ids by '<person>:<period>'."""
    made: dict[str, int] = {}
    async with database.transaction() as session:
        for who, period, currency, lines in (
            (company.alice, "2026-09", "EUR", ALICE_SEPTEMBER),
            (company.alice, "2026-10", "EUR", ALICE_OCTOBER),
            (company.bob, "2026-10", "UZS", BOB_OCTOBER),
        ):
            employee = await session.get(Employee, who.id)
            assert employee is not None
            payslip = await payroll.publish_payslip(session, employee, period=period, currency=currency, lines=lines)
            made[f"{who.name.split()[0].lower()}:{period}"] = payslip.id
    return made


async def views(database: Database) -> list[AuditEntry]:
    async with database.sessions() as session:
        return list(await session.scalars(select(AuditEntry).where(AuditEntry.action == "payslip.viewed").order_by(AuditEntry.id)))


def rows(reply: Reply) -> dict[str, str]:
    return {key: value for block in reply.blocks if isinstance(block, Fields) for key, value in block.rows}


def titles(reply: Reply) -> list[str]:
    return [block.title for block in reply.blocks]


async def test_own_latest_payslip_in_english_is_a_private_breakdown_and_audited_without_amounts(
    chat: Chat, company: Company, payslips: dict[str, int], database: Database
) -> None:
    said = await chat.say(company.alice, "show my payslip")

    [reply] = said.replies
    t = Translator("en")
    assert reply.private
    assert "October 2026" in reply.text
    assert titles(reply) == ["Earnings", "Deductions", "Taxes", "Totals"]
    assert rows(reply) == {
        "Base salary": t.money(Decimal("2500.00"), "EUR"),
        "Bonus": t.money(Decimal("300.00"), "EUR"),
        "Pension fund": t.money(Decimal("125.00"), "EUR"),
        "Income tax": t.money(Decimal("336.00"), "EUR"),
        "Gross pay": "€2,800.00",
        "Net pay": "€2,339.00",
    }
    [view] = await views(database)
    assert (view.actor_id, view.entity, view.entity_id) == (company.alice.id, "payslip", str(payslips["alice:2026-10"]))
    stored = json.dumps(view.details)
    assert not any(amount in stored for amount in ("2800", "2339", "2500", "336", "125"))


async def test_payslip_by_month_in_russian_uses_russian_month_and_money_format(
    chat: Chat, company: Company, payslips: dict[str, int], database: Database
) -> None:
    said = await chat.say(company.bob, "расчетный лист за октябрь")

    [reply] = said.replies
    t = Translator("ru")
    assert reply.private
    assert "октябрь 2026" in reply.text
    assert titles(reply) == ["Начисления", "Налоги", "Итого"]
    assert rows(reply)["К выплате"] == t.money(Decimal("10560000.00"), "UZS")
    assert "10 560 000,00" in rows(reply)["К выплате"].replace("\xa0", " ").replace("\u202f", " ")
    [view] = await views(database)
    assert (view.actor_id, view.entity_id, view.details["period"]) == (company.bob.id, str(payslips["bob:2026-10"]), "2026-10")


async def test_payslip_by_month_in_vietnamese_shows_that_month(
    chat: Chat, company: Company, payslips: dict[str, int], database: Database
) -> None:
    said = await chat.say(company.alice, "cho mình xem phiếu lương tháng 9")

    [reply] = said.replies
    t = Translator("vi")
    assert reply.private
    assert "tháng 9 năm 2026" in reply.text
    assert rows(reply)["Thực nhận (net)"] == t.money(Decimal("2200.00"), "EUR")
    assert "Khấu trừ" not in titles(reply)  # September had no deductions
    [view] = await views(database)
    assert view.entity_id == str(payslips["alice:2026-09"])


async def test_asking_for_someone_elses_payslip_by_name_shows_only_your_own(
    chat: Chat, company: Company, payslips: dict[str, int], database: Database
) -> None:
    said = await chat.say(company.alice, "show Bob's payslip")

    # Only HR may see a colleague's, so for anyone else a name is not looked up at all: it is their own payslip.
    [reply] = said.replies
    assert reply.text.startswith("Here's your payslip") and rows(reply)["Net pay"] == "€2,339.00"
    assert "10,560,000" not in said.text
    [view] = await views(database)
    assert (view.actor_id, view.details["employee_id"]) == (company.alice.id, company.alice.id)


async def test_someone_elses_payslip_by_email_is_refused_in_russian(
    chat: Chat, company: Company, payslips: dict[str, int], database: Database
) -> None:
    said = await chat.say(company.bob, "покажи расчетку alice@example.com")

    assert "только ваш собственный" in said.text
    assert await views(database) == []


async def test_hr_sees_a_colleagues_payslip_and_the_view_is_audited_as_theirs(
    chat: Chat, company: Company, payslips: dict[str, int], database: Database
) -> None:
    said = await chat.say(company.hr, "show Bob's payslip")

    [reply] = said.replies
    assert reply.private
    assert "Bob Baker's payslip for October 2026" in reply.text
    assert rows(reply)["Net pay"] == Translator("en").money(Decimal("10560000.00"), "UZS")
    [view] = await views(database)
    assert (view.actor_id, view.details["employee_id"]) == (company.hr.id, company.bob.id)


async def test_payslip_asked_in_a_group_chat_is_answered_privately(
    chat: Chat, company: Company, payslips: dict[str, int], database: Database
) -> None:
    said = await chat.say(company.alice, "show my payslip", group=True)

    notice, payslip = said.replies
    assert not notice.private and notice.text == Translator("en")("core.answering_privately")
    assert not notice.blocks
    assert payslip.private and rows(payslip)["Net pay"] == "€2,339.00"
    assert len(await views(database)) == 1


async def test_month_without_a_payslip_lists_the_months_there_are_and_offers_them(
    chat: Chat, company: Company, payslips: dict[str, int], database: Database
) -> None:
    said = await chat.say(company.alice, "show my payslip for march")

    assert "no payslip for March 2026" in said.text
    assert "October 2026, September 2026" in said.text
    assert [button.label for button in said.buttons] == ["October 2026", "September 2026"]
    assert await views(database) == []

    said = await chat.press(company.alice, "September 2026")

    assert said.replies[-1].private and rows(said.replies[-1])["Net pay"] == "€2,200.00"
    [view] = await views(database)
    assert view.entity_id == str(payslips["alice:2026-09"])


async def test_month_without_a_payslip_in_vietnamese(chat: Chat, company: Company, payslips: dict[str, int]) -> None:
    said = await chat.say(company.alice, "xem bảng lương tháng 3")

    assert "Không có phiếu lương tháng 3 năm 2026" in said.text
    assert "tháng 10 năm 2026" in said.text


async def test_no_payslips_at_all(chat: Chat, company: Company, payslips: dict[str, int], database: Database) -> None:
    said = await chat.say(company.outsider, "show my payslip")

    assert "don't have any payslips yet" in said.text
    assert await views(database) == []


async def test_hr_naming_two_people_is_asked_whose_payslip_then_sees_the_one_picked(
    chat: Chat, company: Company, payslips: dict[str, int], database: Database
) -> None:
    said = await chat.say(company.hr, "show me the payslip of Alice or Bob")

    assert "Alice Able, Bob Baker" in said.text
    assert await views(database) == []

    said = await chat.press(company.hr, "Bob Baker")

    assert "Bob Baker's payslip for October 2026" in said.text
    [view] = await views(database)
    assert (view.actor_id, view.details["employee_id"]) == (company.hr.id, company.bob.id)

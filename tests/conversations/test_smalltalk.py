"""Greetings, goodbyes, thanks and help: by first name, in the message's language, help fitted to each person's roles."""

from __future__ import annotations

from sqlalchemy import func, select

from actions.i18n import Translator
from storage.conversations import ConversationState
from storage.database import Database
from storage.outbox import OutboxMessage
from storage.people import Employee
from tests.conversations.conftest import Chat
from tests.factories import Company

EN, RU, UZ, EL, VI, AZ = (Translator(language) for language in ("en", "ru", "uz", "el", "vi", "az"))


async def saved_language(database: Database, email: str) -> str:
    async with database.sessions() as session:
        state = await session.scalar(select(ConversationState).where(ConversationState.user_id == email))
    assert state is not None
    return str(state.data["lang"])


async def outbox_size(database: Database) -> int:
    async with database.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(OutboxMessage)) or 0)


async def test_greeting_by_first_name_in_the_language_of_the_message(chat: Chat, company: Company, database: Database) -> None:
    said = await chat.say(company.alice, "hello")
    assert said.text.startswith(EN("smalltalk.greet", name="Alice"))

    said = await chat.say(company.alice, "привет")
    assert said.text.startswith(RU("smalltalk.greet", name="Alice"))
    assert await saved_language(database, company.alice.email) == "ru"

    said = await chat.say(company.bob, "assalomu alaykum")
    assert said.text.startswith(UZ("smalltalk.greet", name="Bob"))

    said = await chat.say(company.hr, "salam")
    assert said.text.startswith(AZ("smalltalk.greet", name="Hana"))

    said = await chat.say(company.manager, "καλημερα")
    assert said.text.startswith(EL("smalltalk.greet", name="Maria"))
    assert await outbox_size(database) == 0


async def test_goodbye_and_thanks(chat: Chat, company: Company, database: Database) -> None:
    assert (await chat.say(company.alice, "thanks a lot")).text == EN("smalltalk.thanks", name="Alice")
    assert (await chat.say(company.alice, "bye")).text == EN("smalltalk.goodbye", name="Alice")
    assert (await chat.say(company.bob, "спасибо")).text == RU("smalltalk.thanks", name="Bob")
    assert (await chat.say(company.bob, "пока")).text == RU("smalltalk.goodbye", name="Bob")
    assert (await chat.say(company.keeper, "cảm ơn bạn")).text == VI("smalltalk.thanks", name="Kate")
    assert (await chat.say(company.keeper, "tạm biệt")).text == VI("smalltalk.goodbye", name="Kate")
    assert await outbox_size(database) == 0


async def test_help_for_an_employee_lists_only_what_everyone_can_do(chat: Chat, company: Company) -> None:
    said = await chat.say(company.alice, "what can you do?")
    text = said.text
    assert text.startswith(EN("smalltalk.help_intro", name="Alice"))
    for key in ("leave", "payslips", "tickets", "stock", "hr", "reminders"):
        assert EN(f"smalltalk.help_{key}") in text
    for key in ("approvals", "it_agent", "stock_keeper", "hr_role"):
        assert EN(f"smalltalk.help_{key}") not in text


async def test_help_adds_each_role_s_section(chat: Chat, company: Company) -> None:
    manager = (await chat.say(company.manager, "help")).text
    assert EN("smalltalk.help_approvals") in manager and EN("smalltalk.help_it_agent") not in manager

    agent = (await chat.say(company.it_agent, "help")).text
    assert EN("smalltalk.help_it_agent") in agent and EN("smalltalk.help_approvals") not in agent

    keeper = (await chat.say(company.keeper, "help")).text
    assert EN("smalltalk.help_stock_keeper") in keeper and EN("smalltalk.help_hr_role") not in keeper

    hr = (await chat.say(company.hr, "help")).text
    assert EN("smalltalk.help_hr_role") in hr and EN("smalltalk.help_stock_keeper") not in hr
    assert EN("smalltalk.help_leave") in hr


async def test_help_in_the_language_of_the_message(chat: Chat, company: Company) -> None:
    russian = (await chat.say(company.manager, "помощь")).text
    assert russian.startswith(RU("smalltalk.help_intro", name="Maria"))
    assert RU("smalltalk.help_approvals") in russian and RU("smalltalk.help_leave") in russian

    greek = (await chat.say(company.keeper, "τι μπορείς να κάνεις;")).text
    assert greek.startswith(EL("smalltalk.help_intro", name="Kate"))
    assert EL("smalltalk.help_stock_keeper") in greek

    vietnamese = (await chat.say(company.alice, "bạn làm được gì")).text
    assert VI("smalltalk.help_reminders") in vietnamese and VI("smalltalk.help_approvals") not in vietnamese


async def test_greeting_in_a_group_chat_is_not_private(chat: Chat, company: Company) -> None:
    said = await chat.say(company.alice, "good morning", group=True)
    assert len(said.replies) == 1 and not said.replies[0].private
    assert said.text.startswith(EN("smalltalk.greet", name="Alice"))


async def test_a_vietnamese_name_is_greeted_by_the_given_name(chat: Chat, company: Company, database: Database) -> None:
    async with database.transaction() as session:
        bob = await session.get(Employee, company.bob.id)
        assert bob is not None
        bob.name, bob.language = "Phạm Thu Hà", "vi"
    said = await chat.say(company.bob, "xin chào")
    assert said.replies[0].text.startswith(Translator("vi")("smalltalk.greet", name="Hà"))

"""Commands (`/balance`, `/lang`…) as the dialogue takes them: told, not guessed (bot/commands.py), in the person's
language, never mistaken for the answer to a form's question; `/lang` to choose the language; and a stale button's
answer marked as a toast, which a channel without toasts (this recording one, like Slack) still sends as a message."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from actions import default_routes
from actions.i18n import Translator
from actions.language import NAMES
from bot.commands import COMMANDS, INTENTS, command_in
from bot.messages import Incoming
from storage.audit import AuditEntry
from storage.database import Database
from storage.people import Employee
from tests.conversations.conftest import Chat
from tests.factories import Company

EN, RU, EL = (Translator(language) for language in ("en", "ru", "el"))


def test_every_command_of_the_menu_asks_for_something_the_assistant_does() -> None:
    routes = default_routes()
    assert set(COMMANDS) <= set(INTENTS)
    assert {INTENTS[command] for command in INTENTS} - {"cancel"} <= {*routes.intents, *routes.forms}
    assert command_in("/Payslip@backoffice_bot  september ") == command_in("/payslip september")
    assert command_in("/payslip september") is not None and command_in("/payslip september").rest == "september"  # type: ignore[union-attr]
    assert command_in("/unknown") is None and command_in("a /balance") is None and command_in("/balances") is None


async def test_a_command_is_answered_in_the_persons_language(chat: Chat, company: Company) -> None:
    said = await chat.say(company.bob, "/balance")  # the NLU would call this English
    assert said.text.startswith(RU("leave.balance_intro", year=2026))
    said = await chat.say(company.alice, "/balance")
    assert said.text.startswith(EN("leave.balance_intro", year=2026))


async def test_a_command_in_a_form_is_not_its_answer(chat: Chat, company: Company) -> None:
    await chat.say(company.alice, "I need an IT ticket")
    said = await chat.say(company.alice, "/balance")  # asked for the description: not "/balance"
    assert EN("leave.balance_intro", year=2026) in said.text and EN("core.form_resume") in said.text
    said = await chat.say(company.alice, "/cancel")
    assert said.text == EN("core.form_cancelled")


async def test_lang_offers_six_languages_and_the_choice_sticks(chat: Chat, company: Company, database: Database) -> None:
    said = await chat.say(company.bob, "/lang")
    assert said.text == RU("language.choose")
    assert [button.label for button in said.buttons] == list(NAMES.values())

    said = await chat.press(company.bob, "Ελληνικά")
    assert said.text == EL("language.chosen") and said.replies[0].replaces_source  # in place of the buttons
    assert (await chat.say(company.bob, "/balance")).text.startswith(EL("leave.balance_intro", year=2026))
    async with database.reading() as session:
        bob = await session.get(Employee, company.bob.id)
        assert bob is not None and bob.language == "el"  # notifications, reminders: in Greek too
        [entry] = (await session.scalars(select(AuditEntry).where(AuditEntry.action == "employee.language"))).all()
        assert entry.details == {"from": "ru", "to": "el"}


async def test_a_stale_button_is_answered_with_a_toast_sent_as_a_message_here(chat: Chat, company: Company) -> None:
    said = await chat.press_payload(company.alice, "stock:show:999999")
    [reply] = said.replies
    assert reply.text == EN("core.button_expired") and reply.toast
    assert [message.reply for message in chat.channel.sent] == [reply]  # no toasts on this channel: a message


async def test_start_from_a_stranger_is_answered_in_the_platforms_language(chat: Chat) -> None:
    incoming = Incoming("console", "dm:nobody", "nobody@example.com", private=True, text="/start", language="uz-UZ",
                        at=datetime(2026, 11, 23, 6, 0))
    receipt = await chat.router().receive(incoming, chat.channel)
    assert [reply.text for reply in receipt.replies] == [Translator("uz")("core.not_linked")]

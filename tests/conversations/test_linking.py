"""Linking a chat account: a linked person asks for a code in chat, sends it from Telegram, and is known there.

The code is a credential: it goes only to the person's private chat, works once, and a refusal is told in the
language the platform says the stranger speaks.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.linking import Linker, link_code_in
from bot.messages import Incoming
from nlu import Interpreter
from storage.database import Database
from storage.people import ChatIdentity, Platform
from tests.channels.recording import RecordingChannel
from tests.conversations.conftest import NOW, Chat, private_chat
from tests.factories import Company

CODE = re.compile(r"\b[0-9A-Z]{5}-[0-9A-Z]{5}\b")


def from_telegram(user_id: str, text: str, *, private: bool = True) -> Incoming:
    return Incoming(platform="telegram", chat_id=user_id if private else "-100200", user_id=user_id, private=private, text=text, at=NOW)


def code_in(text: str) -> str:
    found = CODE.search(text)
    assert found is not None, text
    return found.group(0)


@pytest.fixture
def linker(database: Database) -> Linker:
    return Linker(database, clock=lambda: NOW)


async def telegram_accounts(database: Database) -> dict[str, tuple[int, str | None]]:
    async with database.sessions() as session:
        rows = await session.execute(
            select(ChatIdentity.external_id, ChatIdentity.employee_id, ChatIdentity.private_address).where(
                ChatIdentity.platform == Platform.TELEGRAM
            )
        )
        return {external_id: (employee_id, private) for external_id, employee_id, private in rows}


async def test_asking_for_a_code_then_sending_it_from_telegram_links_the_account(
    chat: Chat, company: Company, database: Database, linker: Linker
) -> None:
    said = await chat.say(company.alice, "link my Telegram")
    assert said.replies[0].private
    assert "Open a direct chat with me in Telegram" in said.text and "15 minutes" in said.text
    code = code_in(said.text)
    assert f"/link {code}" in said.text

    start = from_telegram("700001", f"/start {code}")
    assert link_code_in(start.text) == code
    # The router links before any dialogue, so every platform's adapter only passes the message on.
    channel = RecordingChannel("telegram")
    welcome = (await chat.router().receive(start, channel)).replies
    assert [reply.text[:51] for reply in welcome] == ["Welcome, Alice! Your Telegram account is linked now"]
    assert await telegram_accounts(database) == {"700001": (company.alice.id, "700001")}

    # From now on the assistant knows her on Telegram.
    receipt = await chat.router().receive(from_telegram("700001", "hi"), channel)
    assert "Hi Alice!" in receipt.replies[0].text

    # Telegram retrying the /start update is welcomed again; anyone else sending the code is refused.
    assert (await linker.link(start, code)).text.startswith("Alice, this Telegram account is already linked to you")
    stranger = await linker.link(from_telegram("700002", f"/link {code}"), code)
    assert stranger.text == "That link code has already been used. Please ask for a new one."
    assert set(await telegram_accounts(database)) == {"700001"}


async def test_the_code_is_written_in_the_persons_language(chat: Chat, company: Company) -> None:
    said = await chat.say(company.bob, "привяжи мой телеграм")
    assert said.text.startswith("Ваш одноразовый код привязки:")
    assert f"/link {code_in(said.text)}" in said.text
    said = await chat.say(company.bob, "дай код привязки")
    assert "/link" in said.text and "link " in said.text and "Slack" in said.text  # no platform named: both ways


async def test_a_code_asked_for_in_a_group_goes_only_to_the_private_chat(chat: Chat, company: Company) -> None:
    said = await chat.say(company.alice, "link my slack", group=True)
    to_group = [sent.reply.text for sent in said.sent if sent.address.chat_id == "group:general"]
    to_her = [sent.reply.text for sent in said.sent if sent.address.chat_id == private_chat(company.alice)]
    assert to_her and code_in(to_her[0]) and f"link {code_in(to_her[0])}" in to_her[0]
    assert not any(CODE.search(text) for text in to_group)


async def test_a_newer_code_replaces_the_older_and_a_linked_account_is_mentioned(
    chat: Chat, company: Company, database: Database, linker: Linker
) -> None:
    first = code_in((await chat.say(company.alice, "link my Telegram")).text)
    said = await chat.say(company.alice, "I need a code to link my telegram")
    second = code_in(said.text)
    assert second != first and "replace" not in said.text
    assert (await linker.link(from_telegram("700001", f"/link {first}"), first)).text == "That link code has expired. Please ask for a new one."
    await linker.link(from_telegram("700001", f"/link {second}"), second)

    said = await chat.say(company.alice, "I changed my telegram account, link the new one")
    assert "The new account will replace the Telegram account linked to you now." in said.text


async def test_a_stranger_with_a_bad_code_is_answered_in_their_language(linker: Linker, database: Database) -> None:
    reply = await linker.link(from_telegram("700009", "/link 7KQ4M-2XH9P"), "7KQ4M-2XH9P", language="ru-RU")
    assert reply.text.startswith("Этот код привязки недействителен.")
    reply = await linker.link(from_telegram("700009", "/link 7KQ4M-2XH9P"), "7KQ4M-2XH9P", language="xx")
    assert reply.text.startswith("That link code isn't valid.")
    assert await telegram_accounts(database) == {}


async def test_an_expired_code_is_refused(chat: Chat, company: Company, database: Database) -> None:
    code = code_in((await chat.say(company.alice, "link my Telegram")).text)
    later = Linker(database, clock=lambda: NOW + timedelta(minutes=16))
    incoming = Incoming(platform="telegram", chat_id="700001", user_id="700001", private=True, text=f"/link {code}")
    assert (await later.link(incoming, code)).text == "That link code has expired. Please ask for a new one."


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("/start 7KQ4M-2XH9P", "7KQ4M-2XH9P"),
        ("/link 7kq4m2xh9p", "7kq4m2xh9p"),
        ("/link@BackOfficeBot 7KQ4M-2XH9P", "7KQ4M-2XH9P"),
        ("link 7KQ4M 2XH9P", "7KQ4M 2XH9P"),
        ("/start", None),
        ("/start hello", None),
        ("link my telegram", None),
        ("please /link 7KQ4M-2XH9P", None),
    ],
)
def test_link_commands_are_recognised(text: str, code: str | None) -> None:
    assert link_code_in(text) == code


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("please connect my Telegram to you", "link_account"),
        ("привяжи, пожалуйста, мой телеграм к боту", "link_account"),
        ("telegram akkauntimni bog'lab bering", "link_account"),
        ("telegram hesabımı bağlayın zəhmət olmasa", "link_account"),
        ("θέλω να συνδέσω το telegram μου", "link_account"),
        ("liên kết tài khoản telegram cho mình với", "link_account"),
        ("connect me to someone from HR", "hr_escalate"),
        ("I forgot my password", "ticket_create"),
        ("ξέχασα τον κωδικό μου", "ticket_create"),
    ],
)
def test_asking_to_link_is_understood_in_every_language(interpreter: Interpreter, text: str, intent: str) -> None:
    assert interpreter.parse(text, today=NOW.date())["intent"]["name"] == intent

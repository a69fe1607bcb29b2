"""Telegram scenarios end to end, as tests/channels/test_slack_scenarios.py for Slack: people of the test company
(tests/factories.py) write to the assistant in Telegram and press its inline buttons, through `backoffice run`'s
service with python-telegram-bot's real client in webhook mode (updates POSTed to `/telegram/webhook` as Telegram
posts them; polling is covered in test_telegram.py); what they see is what reached the fake Bot API
(tests/channels/telegram_fake.py) — messages as they read now, and the answers to their button presses.

Everyone is linked to Telegram; a private chat's id is the person's user id, as in Telegram. Bob writes in Russian
(his Telegram is in Russian too), the others in English. The assistant's clock is fixed at Monday 23 November
2026 (tests.running.NOW).
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from actions.language import NAMES
from actions.leave import describe
from bot.channels.telegram import TelegramChannel
from bot.cli import upgrade_database
from bot.service import Service, configured_service
from bot.settings import Settings, load_settings
from nlu import Interpreter
from storage.database import Database
from storage.leave import LeaveRequest
from storage.outbox import OutboxMessage, OutboxStatus
from storage.people import ChatIdentity, Employee, Platform
from tests.channels.office import EN, HAPPY_PATHS, RU, prepare
from tests.channels.slack_fake import FakeSlack
from tests.channels.telegram_fake import FakeTelegram, Sent, callback, message
from tests.running import NOW, count_rows, serving, settled

SECRET = "webhook-secret_1"
WEBHOOK_URL = "https://bot.example.test/telegram/webhook"
PEOPLE = {"alice": (1001, "en"), "manager": (1002, "en"), "bob": (1003, "ru"), "hr": (1004, "en"), "it_agent": (1005, "en"),
          "keeper": (1006, "en")}
"""Who: (Telegram user id = their private chat's id, their Telegram's language_code)."""


@dataclass
class Office:
    database: Database
    settings: Settings
    interpreter: Interpreter
    telegram: FakeTelegram
    slack: FakeSlack | None = None

    @asynccontextmanager
    async def serve(self) -> AsyncIterator[Phones]:
        service = configured_service(self.settings, interpreter=self.interpreter, clock=lambda: NOW)
        async with serving(service), httpx.AsyncClient(base_url=service.url, timeout=10) as http:
            yield Phones(self, service, http)

    async def count(self, what: Any, *where: Any) -> int:
        return await count_rows(self.database, what, *where)

    async def settled(self) -> bool:
        return await settled(self.database, NOW)


@dataclass
class Phones:
    """People using Telegram while the service runs, and what they then see."""

    office: Office
    service: Service
    http: httpx.AsyncClient
    updates: list[dict[str, Any]] = field(default_factory=list)

    @property
    def telegram(self) -> FakeTelegram:
        return self.office.telegram

    def chat(self, who: str) -> list[Sent]:
        return self.telegram.sent_to(PEOPLE[who][0])

    def texts(self, who: str) -> list[str]:
        return [sent.text for sent in self.chat(who)]

    async def quiet(self) -> None:
        async with asyncio.timeout(20):
            while not await self.office.settled():
                await asyncio.sleep(0.02)

    async def post(self, update: dict[str, Any]) -> None:
        body = {"update_id": self.telegram.next_update_id(), **update}
        self.updates.append(body)
        response = await self.http.post("/telegram/webhook", content=json.dumps(body),
                                        headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET})
        assert response.status_code == 200

    async def _changes(self, who: str, update: dict[str, Any]) -> list[Sent]:
        """Post the update; the messages in `who`'s chat that are new or were edited since."""
        before = {sent.message_id: sent.edits for sent in self.chat(who)}
        await self.post(update)
        await self.quiet()
        return [sent for sent in self.chat(who) if before.get(sent.message_id) != sent.edits]

    async def say(self, who: str, text: str) -> list[Sent]:
        user_id, language = PEOPLE[who]
        return await self._changes(who, message(user_id, text, language=language))

    def button_message(self, who: str, label: str) -> Sent:
        """The latest message in `who`'s chat with a button so labelled."""
        found = [sent for sent in self.chat(who) if any(button["text"] == label for button in sent.buttons)]
        assert found, f"no {label!r} button for {who}: {[sent.buttons for sent in self.chat(who)]}"
        return found[-1]

    async def press(self, who: str, label: str, on: Sent | None = None) -> tuple[list[Sent], str]:
        """`who` presses the button (of the latest message with it, or of `on`): what changed in their chat, and
        the callback query's id."""
        user_id, language = PEOPLE[who]
        pressed = callback(user_id, on or self.button_message(who, label), label, language=language)
        changed = await self._changes(who, pressed)
        return changed, pressed["callback_query"]["id"]


@asynccontextmanager
async def office_for(database_url: str, tmp_path: Path, interpreter: Interpreter, *, slack: dict[str, str] | None = None) -> AsyncIterator[Office]:
    database = Database(database_url)
    try:
        await upgrade_database(database)
        async with database.transaction() as session:
            links = [(who, "telegram", str(user_id)) for who, (user_id, _) in PEOPLE.items()]
            company = await prepare(session, links + [(who, "slack", user) for who, user in (slack or {}).items()])
        async with FakeTelegram() as telegram, FakeSlack() as fake_slack:
            for who, user in (slack or {}).items():
                fake_slack.emails[user] = getattr(company, who).email
            settings = load_settings(
                database_url=database_url, data_dir=tmp_path, http_host="127.0.0.1", http_port=0,
                telegram_bot_token=telegram.token, telegram_api_url=telegram.api_url, telegram_file_url=telegram.file_url,
                telegram_webhook_url=WEBHOOK_URL, telegram_webhook_secret=SECRET,
                **({"slack_bot_token": fake_slack.token, "slack_signing_secret": "slack-secret", "slack_api_url": fake_slack.url} if slack else {}),
            )
            yield Office(database, settings, interpreter, telegram, fake_slack if slack else None)
    finally:
        await database.dispose()


@pytest.fixture
async def phones(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, interpreter: Interpreter) -> AsyncIterator[Phones]:
    monkeypatch.chdir(tmp_path)  # no stray .env
    async with office_for(database_url, tmp_path, interpreter) as office, office.serve() as served:
        yield served


# --- every capability, in English and Russian ----------------------------------------------------------------------


@pytest.mark.parametrize("language", list(HAPPY_PATHS))
async def test_every_capability_answers_in_the_private_chat(phones: Phones, language: str) -> None:
    who, steps = HAPPY_PATHS[language]
    for step in steps:
        for said in step.says:
            answer = await phones.say(who, said)
        assert answer, f"{step.capability}: no answer"
        assert step.answer in answer[-1].text, f"{step.capability}: {answer[-1].text!r}"
        if step.press is not None:
            assert any(button["text"] == step.press for button in answer[-1].buttons), f"{step.capability}: {answer[-1].buttons}"
            pressed, query = await phones.press(who, step.press)
            assert step.then is not None and any(step.then in sent.text for sent in pressed), f"{step.capability}: {[s.text for s in pressed]}"
            assert query in phones.telegram.answered and query not in phones.telegram.toasts  # answered, silently
        if step.tells is not None:
            recipient, fragment = step.tells
            assert any(fragment in text for text in phones.texts(recipient)), f"{step.capability}: {recipient} got {phones.texts(recipient)}"
    assert not any(sent.buttons for sent in phones.chat(who) if sent.edits), "a pressed message kept live buttons"


async def test_every_menu_command_is_answered_in_the_persons_language(phones: Phones) -> None:
    for command in ("/help", "/balance", "/payslip", "/tickets", "/approvals", "/cancel", "/lang", "/link"):
        [answer] = await phones.say("bob", command)
        assert any("а" <= char.lower() <= "я" for char in answer.text), f"{command}: {answer.text!r}"  # Russian
        assert answer.text not in (RU("core.not_understood"), RU("core.offer_human")), command


async def test_lang_switches_the_language_with_a_keyboard_that_goes_away(phones: Phones) -> None:
    [choose] = await phones.say("bob", "/lang")
    assert choose.text == RU("language.choose") and [button["text"] for button in choose.buttons] == list(NAMES.values())
    [chosen], query = await phones.press("bob", "English")
    assert chosen.message_id == choose.message_id and chosen.text == EN("language.chosen") and chosen.reply_markup is None
    assert query in phones.telegram.answered
    [balance] = await phones.say("bob", "/balance")
    assert balance.text.startswith(EN("leave.balance_intro", year=2026))


# --- buttons: decisions, stale ones ----------------------------------------------------------------------------------


async def alice_asks_for_leave(phones: Phones) -> tuple[LeaveRequest, Sent]:
    await phones.say("alice", "annual leave from 14 to 18 December")
    await phones.press("alice", "Yes")
    async with phones.office.database.reading() as session:
        request = await session.scalar(select(LeaveRequest))
    assert request is not None
    asked = phones.button_message("manager", "Approve")
    assert asked.text == EN("leave.manager_request", name="Alice Able", **describe(EN, request))
    return request, asked


async def test_the_manager_decides_by_text_and_the_keyboard_message_is_edited_too(phones: Phones) -> None:
    request, asked = await alice_asks_for_leave(phones)

    changed = await phones.say("manager", f"approve {request.id}")

    assert [sent.text for sent in changed if sent is not asked] == [EN("approvals.approved", name="Alice Able", **describe(EN, request))]
    assert asked in changed and asked.text == EN("live.leave_approved", name="Alice Able", decider="Maria Manager", **describe(EN, request))
    assert asked.reply_markup is None and asked.edits == 1
    news = EN("approvals.notify_approved", decider="Maria Manager", **describe(EN, request))
    assert phones.texts("alice").count(news) == 1


async def test_a_stale_button_is_answered_with_a_toast_and_no_message(phones: Phones) -> None:
    await phones.say("alice", "annual leave from 14 to 18 December")
    question = copy.deepcopy(phones.button_message("alice", "Yes"))  # as a phone that missed the edit shows it
    await phones.press("alice", "Yes")
    messages = len(phones.telegram.calls_to("sendMessage")) + len(phones.telegram.calls_to("editMessageText"))

    changed, query = await phones.press("alice", "Yes", on=question)  # pressed again: the form is long gone

    assert phones.telegram.toasts[query] == EN("core.button_expired")
    assert changed == [] and len(phones.telegram.calls_to("sendMessage")) + len(phones.telegram.calls_to("editMessageText")) == messages
    assert await phones.office.count(LeaveRequest) == 1


async def test_a_toast_too_late_for_its_press_comes_as_a_message(phones: Phones) -> None:
    channel = phones.service.channels["telegram"]
    assert isinstance(channel, TelegramChannel)
    channel.receiver.presses.answer_within = 0.0  # the spinner is stopped before the turn runs (a busy inbox, say)
    await phones.say("alice", "annual leave from 14 to 18 December")
    question = copy.deepcopy(phones.button_message("alice", "Yes"))
    await phones.press("alice", "Yes")

    [told], query = await phones.press("alice", "Yes", on=question)

    assert told.text == EN("core.button_expired") and query in phones.telegram.answered and query not in phones.telegram.toasts


# --- a person who blocked the bot: the outbox falls back to Slack, else dead-letters ---------------------------------


async def test_a_blocked_bot_falls_back_to_slack_where_linked_else_the_message_is_dead_lettered(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, interpreter: Interpreter
) -> None:
    monkeypatch.chdir(tmp_path)
    async with office_for(database_url, tmp_path, interpreter, slack={"manager": "UMARIA"}) as office, office.serve() as phones:
        office.telegram.blocked.update({PEOPLE["manager"][0], PEOPLE["it_agent"][0]})
        await phones.say("alice", "annual leave from 14 to 18 December")
        await phones.press("alice", "Yes")
        await phones.say("alice", "my laptop won't turn on")
        await phones.press("alice", "Yes")

        assert office.slack is not None
        [asked] = office.slack.posted("DUMARIA")  # Maria blocked the bot in Telegram: the request reached her in Slack
        assert "Alice Able asks for annual leave" in asked["text"]
        assert phones.chat("manager") == [] and phones.chat("it_agent") == []
        async with office.database.reading() as session:
            [dead] = (await session.scalars(select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.DEAD))).all()
            assert dead.recipient_id == (await session.scalar(select(Employee.id).where(Employee.email == "ivan@example.com")))
            assert "forbidden" in dead.last_error  # Ivan is on Telegram only
            unreachable = await session.scalars(select(ChatIdentity.employee_id).where(
                ChatIdentity.platform == Platform.TELEGRAM, ChatIdentity.unreachable_at.is_not(None)))
            assert len(set(unreachable)) == 2

"""The Telegram channel end to end: `backoffice run`'s service with python-telegram-bot's real client, against a fake
Bot API over HTTP on 127.0.0.1 (tests/channels/telegram_fake.py) — updates fetched by long polling, or POSTed to
`/telegram/webhook` as Telegram posts them — through the inbox, the real NLU, dialogue and database, and back.

Alice (1001, English), Maria her manager (1002) and Bob (1003, Russian) are linked to Telegram; their private chat
ids are their user ids, as in Telegram. The group is chat -5001.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from telegram.error import BadRequest, Forbidden, RetryAfter, TimedOut

from actions.i18n import LANGUAGES, Translator
from actions.replies import Button, Fields, Reply, Table
from bot.channels.base import Address, PermanentDeliveryError, TransientDeliveryError
from bot.channels.telegram import TelegramChannel, delivery_error, render, telegram
from bot.cli import upgrade_database
from bot.inbox import Inbox
from bot.service import Service, ServiceError, configured_service
from bot.settings import SettingsError, load_settings
from nlu import Interpreter
from storage import linking, payroll, people
from storage.database import Database
from storage.inbox import InboxUpdate
from storage.payroll import LineInput, LineKind
from storage.people import Employee
from tests.channels.telegram_fake import BOT_ID, BOT_USERNAME, FakeTelegram, Sent, callback, message
from tests.factories import Company, make_company
from tests.running import NOW, serving, until

ALICE, MARIA, BOB = 1001, 1002, 1003
GROUP = -5001
SECRET = "webhook-secret_1"
WEBHOOK_URL = "https://bot.example.test/telegram/webhook"
FIGURES = ("2,339", "2,800", "2,500", "336")
"""Alice's October payslip: net, gross, base salary, income tax."""


async def in_database(database_url: str, work: Any) -> Any:
    database = Database(database_url)
    try:
        async with database.transaction() as session:
            return await work(session)
    finally:
        await database.dispose()


async def prepare(database_url: str) -> Company:
    database = Database(database_url)
    try:
        await upgrade_database(database)
        async with database.transaction() as session:
            company = await make_company(session)
            for who, user_id in ((company.alice, ALICE), (company.manager, MARIA), (company.bob, BOB)):
                await people.link_identity(session, who, "telegram", str(user_id))
            for who, currency in ((company.alice, "EUR"), (company.bob, "UZS")):
                employee = await session.get(Employee, who.id)
                assert employee is not None
                await payroll.publish_payslip(session, employee, period="2026-10", currency=currency, lines=[
                    LineInput(LineKind.EARNING, "Base salary", Decimal("2500.00")),
                    LineInput(LineKind.EARNING, "Bonus", Decimal("300.00")),
                    LineInput(LineKind.DEDUCTION, "Pension fund", Decimal("125.00")),
                    LineInput(LineKind.TAX, "Income tax", Decimal("336.00")),
                ])
        return company
    finally:
        await database.dispose()


@dataclass
class Running:
    service: Service
    telegram: FakeTelegram
    http: httpx.AsyncClient
    database_url: str
    company: Company

    async def inbox_rows(self) -> int:
        async def count(session: Any) -> int:
            return int(await session.scalar(select(func.count()).select_from(InboxUpdate)) or 0)

        return int(await in_database(self.database_url, count))

    async def post(self, update_id: int, update: dict[str, Any], secret: str | None = SECRET) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        return await self.http.post("/telegram/webhook", content=json.dumps({"update_id": update_id, **update}), headers=headers)

    async def answer_to(self, chat_id: int, count: int = 1) -> list[Sent]:
        """Wait until `chat_id` got at least `count` messages; all it got."""
        await until(lambda: len(self.telegram.sent_to(chat_id)) >= count)
        return self.telegram.sent_to(chat_id)


@pytest.fixture(params=["polling", "webhook"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def _running(database_url: str, tmp_path: Path, interpreter: Interpreter, *, webhook: bool) -> AsyncIterator[Running]:
    company = await prepare(database_url)
    async with FakeTelegram() as fake:
        settings = load_settings(
            database_url=database_url, data_dir=tmp_path, http_host="127.0.0.1", http_port=0,
            telegram_bot_token=fake.token, telegram_api_url=fake.api_url, telegram_file_url=fake.file_url,
            telegram_webhook_url=WEBHOOK_URL if webhook else "", telegram_webhook_secret=SECRET if webhook else "",
        )
        service = configured_service(settings, interpreter=interpreter, clock=lambda: NOW)
        async with serving(service), httpx.AsyncClient(base_url=service.url, timeout=10) as http:
            running = Running(service, fake, http, database_url, company)
            await until(lambda: len(fake.commands) == len(LANGUAGES) + 1)  # started: webhook set or deleted, menus set
            yield running


@pytest.fixture
async def running(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, interpreter: Interpreter, mode: str) -> AsyncIterator[Running]:
    """The service with Telegram configured, in polling and in webhook mode."""
    monkeypatch.chdir(tmp_path)  # no stray .env
    async for running in _running(database_url, tmp_path, interpreter, webhook=mode == "webhook"):
        yield running


@pytest.fixture
async def webhook(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, interpreter: Interpreter) -> AsyncIterator[Running]:
    monkeypatch.chdir(tmp_path)
    async for running in _running(database_url, tmp_path, interpreter, webhook=True):
        yield running


async def deliver(running: Running, update: dict[str, Any], mode: str) -> int:
    """Hand Telegram's update to the service as the mode does: queued for getUpdates, or POSTed to the webhook."""
    if mode == "polling":
        return running.telegram.push(update)
    update_id = running.telegram.next_update_id()
    response = await running.post(update_id, update)
    assert response.status_code == 200
    return update_id


def chats_texts(running: Running, chat_id: int) -> str:
    return "\n".join(running.telegram.texts(chat_id))


# --- receiving, answering -----------------------------------------------------------------------------------------


async def test_a_private_message_is_answered_in_the_private_chat_as_plain_text(running: Running, mode: str) -> None:
    update_id = await deliver(running, message(ALICE, "hi <b>there</b>"), mode)
    [answer] = await running.answer_to(ALICE)
    assert answer.text and answer.reply_markup is None
    assert await running.inbox_rows() == 1
    assert all("parse_mode" not in call.args for call in running.telegram.calls_to("sendMessage"))
    if mode == "polling":
        await until(lambda: running.telegram.confirmed > update_id)  # acknowledged by the next getUpdates' offset
        methods = [call.method for call in running.telegram.calls]
        assert methods.index("deleteWebhook") < methods.index("getUpdates")
        assert running.telegram.webhook is None
    else:
        assert running.telegram.webhook == {"url": WEBHOOK_URL, "secret_token": SECRET, "allowed_updates": ["message", "callback_query"]}
        assert running.telegram.calls_to("getUpdates") == []


async def test_the_command_menu_is_set_in_all_six_languages(webhook: Running) -> None:
    menus = webhook.telegram.commands
    assert set(menus) == {None, "en", "ru", "uz", "az", "el", "vi"}
    for language in ("en", "ru", "uz", "az", "el", "vi"):
        assert [item["command"] for item in menus[language]] == ["help", "balance", "payslip", "tickets", "approvals", "cancel", "lang", "link"]
        assert menus[language][1]["description"] == Translator(language)("commands.balance")
    assert menus["ru"][0]["description"] == "Что я умею" and menus[None] == menus["en"]


async def test_start_with_a_fresh_code_links_and_an_expired_or_reused_code_is_refused(running: Running, mode: str) -> None:
    async def issue(session: Any, who: Employee, now: Any) -> str:
        employee = await session.get(Employee, who.id)
        return (await linking.issue(session, employee, platform="telegram", now=now)).code

    fresh = await in_database(running.database_url, lambda session: issue(session, running.company.hr, NOW))
    expired = await in_database(running.database_url, lambda session: issue(session, running.company.keeper, NOW - timedelta(hours=1)))

    await deliver(running, message(2001, f"/start {fresh}"), mode)
    [welcome] = await running.answer_to(2001)
    assert welcome.text.startswith("Welcome, Hana!")
    await deliver(running, message(2002, f"/start {fresh}", language="ru"), mode)
    [reused] = await running.answer_to(2002)
    assert reused.text == Translator("ru")("error.link_code_used")
    await deliver(running, message(2003, f"/link {expired}", language="uz"), mode)
    [late] = await running.answer_to(2003)
    assert late.text == Translator("uz")("error.link_code_expired")

    async def owners(session: Any) -> dict[str, int]:
        rows = await session.execute(select(people.ChatIdentity.external_id, people.ChatIdentity.employee_id).where(
            people.ChatIdentity.external_id.in_(["2001", "2002", "2003"])))
        return dict(rows.all())

    assert await in_database(running.database_url, owners) == {"2001": running.company.hr.id}


async def test_a_stranger_is_told_how_to_link_and_nothing_more(running: Running, mode: str) -> None:
    await deliver(running, message(3001, "покажи мой расчётный лист", language="ru"), mode)
    [told] = await running.answer_to(3001)
    assert told.text == Translator("ru")("core.not_linked")
    await deliver(running, message(3002, "/start", language="az"), mode)  # the Start button, in an Azerbaijani Telegram
    [told] = await running.answer_to(3002)
    assert told.text == Translator("az")("core.not_linked")


async def test_a_payslip_asked_in_a_group_goes_privately_and_the_group_sees_no_figures(running: Running, mode: str) -> None:
    await deliver(running, message(ALICE, "lunch anyone?", chat_id=GROUP), mode)  # not for the bot: left alone
    await deliver(running, message(ALICE, "/payslip", chat_id=GROUP), mode)
    [notice] = await running.answer_to(GROUP)
    [payslip] = await running.answer_to(ALICE)
    assert notice.text == Translator("en")("core.answering_privately")
    assert notice.buttons == [{"text": f"@{BOT_USERNAME}", "url": f"https://t.me/{BOT_USERNAME}"}]  # to the private chat
    assert not any(figure in chats_texts(running, GROUP) for figure in FIGURES)
    assert "€2,339.00" in payslip.text and any(entity["type"] == "pre" for entity in payslip.entities)
    assert await running.inbox_rows() == 1


async def test_in_a_group_only_commands_mentions_and_replies_to_the_bot_are_answered(running: Running, mode: str) -> None:
    await deliver(running, message(ALICE, "/help@some_other_bot", chat_id=GROUP), mode)
    await deliver(running, message(ALICE, f"@{BOT_USERNAME} what can you do?", chat_id=GROUP), mode)
    [answer] = await running.answer_to(GROUP)
    mine = {"message_id": answer.message_id, "date": 0, "chat": {"id": GROUP, "type": "supergroup", "title": "Team"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Backoffice", "username": BOT_USERNAME}, "text": answer.text}
    theirs = {**mine, "message_id": 77, "from": {"id": MARIA, "is_bot": False, "first_name": "Maria"}}
    await deliver(running, message(ALICE, "and my leave balance?", chat_id=GROUP, reply_to=theirs), mode)  # not to us
    await deliver(running, message(ALICE, "and my leave balance?", chat_id=GROUP, reply_to=mine), mode)
    await running.answer_to(GROUP, 2)
    assert await running.inbox_rows() == 2


async def test_a_person_who_blocked_the_bot_gets_only_a_pointer_in_the_group(running: Running, mode: str) -> None:
    running.telegram.blocked.add(BOB)
    await deliver(running, message(BOB, f"@{BOT_USERNAME} покажи мой расчётный лист", chat_id=GROUP, language="ru"), mode)
    [pointer] = await running.answer_to(GROUP)
    assert pointer.text == Translator("ru")("core.open_private_chat")
    assert pointer.buttons == [{"text": f"@{BOT_USERNAME}", "url": f"https://t.me/{BOT_USERNAME}"}]  # opens on Start
    assert running.telegram.sent_to(BOB) == [] and len(running.telegram.calls_to("sendMessage")) == 2  # refused, then the pointer

    async def reason(session: Any) -> str | None:
        identity = await session.scalar(select(people.ChatIdentity).where(people.ChatIdentity.external_id == str(BOB)))
        return identity.unreachable_reason if identity.unreachable_at is not None else None

    assert "forbidden" in str(await in_database(running.database_url, reason))


async def test_a_leave_request_approved_by_the_managers_inline_button(running: Running, mode: str) -> None:
    await deliver(running, message(ALICE, "annual leave from 14 to 18 December"), mode)
    await until(lambda: any(sent.buttons for sent in running.telegram.sent_to(ALICE)))
    question = next(sent for sent in running.telegram.sent_to(ALICE) if sent.buttons)
    yes = callback(ALICE, question, "Yes")
    await deliver(running, yes, mode)
    await until(lambda: question.reply_markup is None)  # the answer took the place of the Yes/No, now stale
    assert question.edits == 1 and "is filed" in question.text

    await until(lambda: any(sent.buttons for sent in running.telegram.sent_to(MARIA)))
    asked = next(sent for sent in running.telegram.sent_to(MARIA) if sent.buttons)
    approve = callback(MARIA, asked, "Approve")
    await deliver(running, approve, mode)

    await until(lambda: asked.reply_markup is None)  # the decision took the live keyboard away
    assert asked.edits >= 1 and "Alice" in asked.text
    await until(lambda: yes["callback_query"]["id"] in running.telegram.answered and approve["callback_query"]["id"] in running.telegram.answered)
    await until(lambda: "approved" in chats_texts(running, ALICE).lower())
    assert await running.inbox_rows() == 3

    async def presses(session: Any) -> list[dict[str, Any]]:
        rows = await session.scalars(select(InboxUpdate).order_by(InboxUpdate.id))
        return [row.incoming for row in rows if row.incoming["payload"]]

    pressed_yes, pressed_approve = await in_database(running.database_url, presses)
    assert (pressed_yes["text"], pressed_yes["payload"], pressed_yes["source"]) == ("Yes", yes["callback_query"]["data"], f"{ALICE}:{question.message_id}")
    assert (pressed_approve["user_id"], pressed_approve["private"], pressed_approve["source"]) == (str(MARIA), True, f"{MARIA}:{asked.message_id}")


async def test_a_decision_typed_as_text_also_takes_the_keyboard_away_in_russian(webhook: Running) -> None:
    await deliver(webhook, message(BOB, "отпуск с 14 по 18 декабря", language="ru"), "webhook")
    await webhook.answer_to(BOB)
    await deliver(webhook, message(BOB, "да", language="ru", message_id=2), "webhook")
    await until(lambda: any(sent.buttons for sent in webhook.telegram.sent_to(MARIA)))
    asked = next(sent for sent in webhook.telegram.sent_to(MARIA) if sent.buttons)
    request_id = asked.buttons[0]["callback_data"].rsplit(":", 1)[1]

    await deliver(webhook, message(MARIA, f"approve {request_id}"), "webhook")
    await until(lambda: asked.reply_markup is None)
    await until(lambda: any("одобр" in text.lower() for text in webhook.telegram.texts(BOB)))  # Bob is told, in Russian


async def test_a_rate_limited_answer_is_retried_after_retry_after_and_delivered_once(running: Running, mode: str) -> None:
    running.telegram.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    started = time.monotonic()
    await deliver(running, message(ALICE, "hi"), mode)
    await running.answer_to(ALICE)
    assert time.monotonic() - started >= 1.0
    assert len([call for call in running.telegram.calls_to("sendMessage") if call.args["chat_id"] == ALICE]) == 2
    assert len(running.telegram.sent_to(ALICE)) == 1


# --- the webhook ----------------------------------------------------------------------------------------------


async def test_a_repeated_webhook_delivery_makes_one_record_and_one_answer(webhook: Running) -> None:
    update = message(ALICE, "hi")
    assert (await webhook.post(700, update)).status_code == 200
    assert (await webhook.post(700, update)).status_code == 200  # Telegram did not get our 200 the first time
    assert (await webhook.post(701, message(ALICE, "thanks", message_id=2))).status_code == 200
    await webhook.answer_to(ALICE, 2)  # the inbox runs a chat's updates in order: the repeat, if run, came before
    assert len(webhook.telegram.sent_to(ALICE)) == 2
    assert await webhook.inbox_rows() == 2


@pytest.mark.parametrize("secret", ["not-the-secret", None])
async def test_a_webhook_call_without_the_right_secret_is_refused_and_leaves_nothing(webhook: Running, secret: str | None) -> None:
    response = await webhook.post(800, message(ALICE, "hi"), secret=secret)
    assert response.status_code == 403
    assert (await webhook.post(801, message(ALICE, "hi"))).status_code == 200  # the right one is taken…
    await webhook.answer_to(ALICE)
    assert await webhook.inbox_rows() == 1  # …and only that one


# --- polling: acknowledged only once stored -------------------------------------------------------------------


async def test_a_polled_update_is_confirmed_only_once_it_is_stored(database: Database) -> None:
    inbox: list[Inbox] = []
    async with FakeTelegram() as fake:
        parts = telegram(fake.token, inbox=lambda: inbox[0] if inbox else None, api_url=fake.api_url, file_url=fake.file_url)
        stop = asyncio.Event()
        polling = asyncio.create_task(parts.channel.poll(stop))
        try:
            update_id = fake.push(message(ALICE, "hi"))
            await until(lambda: len(fake.calls_to("getUpdates")) >= 2)  # fetched, not stored (no inbox yet), fetched again
            assert fake.confirmed <= update_id and [update["update_id"] for update in fake.pending] == [update_id]
            inbox.append(Inbox(database, clock=lambda: NOW))
            await until(lambda: fake.confirmed > update_id)
        finally:
            stop.set()
            await asyncio.wait_for(polling, 10)
            await parts.channel.close()
    async with database.reading() as session:
        [row] = (await session.scalars(select(InboxUpdate))).all()
    assert row.key == str(update_id) and row.incoming["text"] == "hi" and row.incoming["private"] is True
    assert row.incoming["language"] == "en" and row.incoming["user_id"] == str(ALICE)


# --- the channel on its own, against the fake -----------------------------------------------------------------


@pytest.fixture
async def channel() -> AsyncIterator[tuple[TelegramChannel, FakeTelegram]]:
    async with FakeTelegram() as fake:
        parts = telegram(fake.token, inbox=lambda: None, api_url=fake.api_url, file_url=fake.file_url)
        try:
            yield parts.channel, fake
        finally:
            await parts.channel.close()


async def test_what_users_typed_is_sent_verbatim_with_entities_and_an_inline_keyboard(channel: tuple[TelegramChannel, FakeTelegram]) -> None:
    telegram_channel, fake = channel
    reply = Reply("Ticket: <b>broken</b> & *bold* _x_ [link](http://x)",
                  buttons=(Button("Approve", "leave:42:approve"), Button("Reject", "leave:42:reject")),
                  blocks=(Fields((("Base salary", "€2,500.00"), ("Net pay", "€2,339.00")), "Totals"),
                          Table(("#", "Item", "Status"), (("42", "Laptop", "open"),), "Tickets")))
    reference = await telegram_channel.send(Address("telegram", str(ALICE)), reply)
    [sent] = fake.sent_to(ALICE)
    assert reference == f"{ALICE}:{sent.message_id}"
    assert sent.text.startswith("Ticket: <b>broken</b> & *bold* _x_ [link](http://x)\n")
    [call] = fake.calls_to("sendMessage")
    assert "parse_mode" not in call.args and call.args["link_preview_options"] == {"is_disabled": True}
    shown = {sent.text[entity["offset"] : entity["offset"] + entity["length"]]: entity["type"] for entity in sent.entities}
    assert shown["Totals"] == "bold" and shown["#42"] == "bold"
    assert shown["Base salary  €2,500.00\nNet pay      €2,339.00"] == "pre"  # aligned for a phone
    assert "Item: Laptop · Status: open" in sent.text
    assert [[button["callback_data"] for button in row] for row in sent.reply_markup["inline_keyboard"]] == [["leave:42:approve", "leave:42:reject"]]


async def test_a_long_reply_is_split_under_4096_at_line_boundaries(channel: tuple[TelegramChannel, FakeTelegram]) -> None:
    telegram_channel, fake = channel
    lines = [f"line {number:03}: " + "я" * 60 for number in range(200)]  # about 14,000 characters
    reference = await telegram_channel.send(Address("telegram", str(ALICE)), Reply("\n".join(lines), buttons=(Button("OK", "form:1:ok"),)))
    sent = fake.sent_to(ALICE)
    assert len(sent) == 4 and all(len(message.text) <= 4096 for message in sent)
    assert [line for message in sent for line in message.text.split("\n")] == lines  # whole lines, all of them, in order
    assert reference == f"{ALICE}:{sent[-1].message_id}"
    assert [message.reply_markup is not None for message in sent] == [False, False, False, True]


async def test_an_edit_removes_the_keyboard_and_not_modified_is_success(channel: tuple[TelegramChannel, FakeTelegram]) -> None:
    telegram_channel, fake = channel
    reference = await telegram_channel.send(Address("telegram", str(MARIA)), Reply("Approve?", buttons=(Button("Approve", "leave:1:approve"),)))
    await telegram_channel.edit(reference, Reply("Approved by Maria"))
    [edited] = fake.sent_to(MARIA)
    assert (edited.text, edited.reply_markup, edited.edits) == ("Approved by Maria", None, 1)
    await telegram_channel.edit(reference, Reply("Approved by Maria"))  # Telegram: "message is not modified"
    assert edited.edits == 1 and len(fake.calls_to("editMessageText")) == 2
    with pytest.raises(PermanentDeliveryError, match="message to edit not found"):
        await telegram_channel.edit(f"{MARIA}:999", Reply("late"))


async def test_a_blocked_chat_is_a_permanent_failure_and_no_server_a_transient_one(channel: tuple[TelegramChannel, FakeTelegram]) -> None:
    telegram_channel, fake = channel
    fake.blocked.add(BOB)
    with pytest.raises(PermanentDeliveryError, match="forbidden"):
        await telegram_channel.send(Address("telegram", str(BOB)), Reply("hi"))
    assert await telegram_channel.private_address(str(BOB)) == Address("telegram", str(BOB))

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()
    nowhere = telegram("123:x", inbox=lambda: None, api_url=f"http://127.0.0.1:{port}/bot").channel
    try:
        with pytest.raises(TransientDeliveryError):
            await asyncio.wait_for(nowhere.send(Address("telegram", str(ALICE)), Reply("hi")), 20)
    finally:
        await nowhere.close()


async def test_the_bot_api_client_logs_no_message_text_even_at_debug(channel: tuple[TelegramChannel, FakeTelegram], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    telegram_channel, fake = channel
    await telegram_channel.send(Address("telegram", str(ALICE)), Reply("Net pay €2,339.00"))
    assert fake.sent_to(ALICE)
    assert not [record for record in caplog.records if record.name.startswith("telegram") and "2,339" in record.getMessage()]


def test_bot_api_errors_become_typed_delivery_errors() -> None:
    limited = delivery_error(RetryAfter(3))
    assert isinstance(limited, TransientDeliveryError) and limited.retry_after == 3
    assert isinstance(delivery_error(Forbidden("Forbidden: bot was blocked by the user")), PermanentDeliveryError)
    assert isinstance(delivery_error(BadRequest("Bad Request: chat not found")), PermanentDeliveryError)
    assert isinstance(delivery_error(TimedOut()), TransientDeliveryError)
    with pytest.raises(KeyError):
        delivery_error(KeyError("not the client's"))


def test_key_value_rows_too_wide_for_a_phone_become_lines() -> None:
    [shown] = render(Reply("", blocks=(Fields((("Compensation for unused annual leave", "€1,234.56"),), "Extras"),)))
    assert shown.text == "Extras\nCompensation for unused annual leave: €1,234.56"
    assert [entity.type for entity in shown.entities] == ["bold"]


# --- configuration --------------------------------------------------------------------------------------------


def test_a_webhook_without_its_secret_stops_start_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ServiceError, match="TELEGRAM_WEBHOOK_SECRET"):
        configured_service(load_settings(data_dir=tmp_path, telegram_bot_token="123:x", telegram_webhook_url=WEBHOOK_URL))
    with pytest.raises(SettingsError, match="TELEGRAM_WEBHOOK_SECRET"):
        load_settings(data_dir=tmp_path, telegram_webhook_secret="no spaces allowed")
    with pytest.raises(SettingsError, match="TELEGRAM_API_URL"):
        load_settings(data_dir=tmp_path, telegram_api_url="api.telegram.org/bot")


async def test_a_refused_token_stops_the_service_naming_the_setting(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, interpreter: Interpreter) -> None:
    monkeypatch.chdir(tmp_path)
    await prepare(database_url)
    async with FakeTelegram() as fake:
        settings = load_settings(database_url=database_url, data_dir=tmp_path, http_host="127.0.0.1", http_port=0,
                                 telegram_bot_token="123456:not-the-token", telegram_api_url=fake.api_url)
        service = configured_service(settings, interpreter=interpreter, clock=lambda: NOW)
        with pytest.raises(ServiceError, match="TELEGRAM_BOT_TOKEN was refused") as raised:
            await asyncio.wait_for(service.run(asyncio.Event()), 30)
    assert "not-the-token" not in str(raised.value)


async def test_a_press_the_core_does_not_answer_in_time_is_answered_silently(channel: tuple[TelegramChannel, FakeTelegram]) -> None:
    telegram_channel, fake = channel
    presses = telegram_channel.receiver.presses
    presses.answer_within = 0.05
    presses.wait_for_core("7", "q7")
    await until(lambda: "q7" in fake.answered)  # the spinner stops without the core
    assert await telegram_channel.answer_press("7", "That button is no longer active.") is False  # the core: a message
    presses.answer_within = 30
    presses.wait_for_core("8", "q8")
    assert await telegram_channel.answer_press("8", "x" * 201) is False  # too long for a toast: answered, told as a message
    presses.wait_for_core("9", "q9")
    assert await telegram_channel.answer_press("9", "That button is no longer active.") is True
    assert fake.answered == ["q7", "q8", "q9"] and fake.toasts == {"q9": "That button is no longer active."}
    assert await telegram_channel.answer_press("9", None) is False and await telegram_channel.answer_press(None, None) is False

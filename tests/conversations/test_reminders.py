"""Personal reminders: set with a time (asked for when missing), listed in the person's time zone, delivered when due.

Conversation time is Monday 2026-11-23 06:00 UTC, which is 11:00 in Tashkent where everyone in the test company
lives, so "at 5pm" is today 12:00 UTC and "at 9:00" is already past (tomorrow 04:00 UTC).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from actions.i18n import Translator
from storage.database import Database
from storage.outbox import OutboxMessage
from tests.conversations.conftest import NOW, Chat
from tests.factories import Company

EN, RU, UZ, EL, VI, AZ = (Translator(language) for language in ("en", "ru", "uz", "el", "vi", "az"))


async def reminders_of(database: Database, employee_id: int) -> list[OutboxMessage]:
    async with database.sessions() as session:
        rows = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.recipient_id == employee_id).order_by(OutboxMessage.due_at)
        )
        return [row for row in rows if row.payload.get("kind") == "reminder"]


async def test_reminder_with_a_time_is_confirmed_stored_and_delivered_when_due(chat: Chat, company: Company, database: Database) -> None:
    said = await chat.say(company.alice, "remind me at 5pm to submit the report")
    assert said.text == EN("reminders.confirm", when="today at 17:00", what="submit the report")
    assert [button.label for button in said.buttons] == ["Yes", "No"]

    said = await chat.press(company.alice, "Yes")
    assert said.text == EN("reminders.set", when="today at 17:00", what="submit the report")

    [stored] = await reminders_of(database, company.alice.id)
    assert stored.due_at == datetime(2026, 11, 23, 12, 0)
    assert stored.payload["text"] == "⏰ Reminder: submit the report"
    assert stored.delivered_at is None

    assert await chat.inbox(company.alice) == []  # not due yet
    chat.now = datetime(2026, 11, 23, 12, 0)
    [delivered] = await chat.inbox(company.alice)
    assert delivered.text == "⏰ Reminder: submit the report"
    assert await chat.inbox(company.bob) == []


async def test_a_clock_time_already_past_today_means_tomorrow(chat: Chat, company: Company, database: Database) -> None:
    said = await chat.say(company.alice, "remind me at 9:00 to call the client")
    assert said.text == EN("reminders.confirm", when="tomorrow at 09:00", what="call the client")
    await chat.press(company.alice, "Yes")
    [stored] = await reminders_of(database, company.alice.id)
    assert stored.due_at == datetime(2026, 11, 24, 4, 0)


async def test_missing_time_is_asked_for(chat: Chat, company: Company, database: Database) -> None:
    said = await chat.say(company.alice, "remind me to call the bank")
    assert said.text == EN("reminders.ask_time")
    assert await reminders_of(database, company.alice.id) == []

    said = await chat.say(company.alice, "17:30")
    assert said.text == EN("reminders.confirm", when="today at 17:30", what="call the bank")
    await chat.press(company.alice, "Yes")
    [stored] = await reminders_of(database, company.alice.id)
    assert stored.due_at == datetime(2026, 11, 23, 12, 30)
    assert stored.payload["what"] == "call the bank"


async def test_missing_text_is_asked_for_and_taken_as_written(chat: Chat, company: Company, database: Database) -> None:
    said = await chat.say(company.alice, "set a reminder for 3pm")
    assert said.text == EN("reminders.ask_what")
    said = await chat.say(company.alice, "renew my parking permit")
    assert said.text == EN("reminders.confirm", when="today at 15:00", what="renew my parking permit")
    await chat.press(company.alice, "Yes")
    [stored] = await reminders_of(database, company.alice.id)
    assert stored.due_at == datetime(2026, 11, 23, 10, 0)


async def test_a_day_without_a_time_asks_for_the_time_on_that_day(chat: Chat, company: Company, database: Database) -> None:
    said = await chat.say(company.alice, "please remind me on friday to book the meeting room")
    assert said.text == EN("reminders.ask_time_on_day", day="Fri 27 Nov")
    said = await chat.say(company.alice, "10:00")
    assert said.text == EN("reminders.confirm", when="on Fri 27 Nov at 10:00", what="book the meeting room")
    await chat.press(company.alice, "Yes")
    [stored] = await reminders_of(database, company.alice.id)
    assert stored.due_at == datetime(2026, 11, 27, 5, 0)


async def test_relative_time_counts_from_now(chat: Chat, company: Company, database: Database) -> None:
    said = await chat.say(company.alice, "remind me in 2 hours to take a break")
    assert said.text == EN("reminders.confirm", when="today at 13:00", what="take a break")
    await chat.press(company.alice, "Yes")
    [stored] = await reminders_of(database, company.alice.id)
    assert stored.due_at == NOW + timedelta(hours=2)


async def test_saying_no_stores_nothing(chat: Chat, company: Company, database: Database) -> None:
    await chat.say(company.alice, "remind me at 5pm to submit the report")
    said = await chat.press(company.alice, "No")
    assert said.text == EN("core.form_not_done")
    assert await reminders_of(database, company.alice.id) == []


async def test_the_time_can_be_changed_before_confirming(chat: Chat, company: Company, database: Database) -> None:
    await chat.say(company.alice, "remind me at 5pm to submit the report")
    said = await chat.say(company.alice, "at 18:30")
    assert said.text == EN("reminders.confirm", when="today at 18:30", what="submit the report")
    await chat.press(company.alice, "Yes")
    [stored] = await reminders_of(database, company.alice.id)
    assert stored.due_at == datetime(2026, 11, 23, 13, 30)


async def test_listing_shows_only_my_pending_reminders_in_my_time_zone(chat: Chat, company: Company, database: Database) -> None:
    assert (await chat.say(company.alice, "what reminders do I have?")).text == EN("reminders.none")

    await chat.say(company.alice, "remind me at 9:00 to call the client")
    await chat.press(company.alice, "Yes")
    await chat.say(company.alice, "remind me at 5pm to submit the report")
    await chat.press(company.alice, "Yes")
    await chat.say(company.bob, "remind me at 4pm to water the plants")
    await chat.press(company.bob, "Yes")

    said = await chat.say(company.alice, "show my reminders")
    assert said.text.splitlines() == [
        EN("reminders.list_title"),
        EN("reminders.list_item", day="Mon 23 Nov", time="17:00", what="submit the report"),
        EN("reminders.list_item", day="Tue 24 Nov", time="09:00", what="call the client"),
    ]
    assert said.replies[0].private

    chat.now = datetime(2026, 11, 23, 12, 0)
    await chat.inbox(company.alice)  # the 17:00 one is delivered and leaves the list
    said = await chat.say(company.alice, "list my reminders")
    assert "submit the report" not in said.text and "call the client" in said.text
    assert len(await reminders_of(database, company.bob.id)) == 1


async def test_listing_in_a_group_chat_answers_privately(chat: Chat, company: Company) -> None:
    await chat.say(company.alice, "remind me at 5pm to submit the report")
    await chat.press(company.alice, "Yes")
    said = await chat.say(company.alice, "my reminders", group=True)
    assert said.replies[0].text == EN("core.answering_privately")
    assert said.replies[1].private and "submit the report" in said.text


async def test_a_time_in_the_past_is_refused_and_asked_again(chat: Chat, company: Company, database: Database) -> None:
    chat.now = datetime(2026, 11, 27, 6, 0)  # Friday 11:00 in Tashkent
    said = await chat.say(company.alice, "remind me to book the meeting room")
    assert said.text == EN("reminders.ask_time")
    said = await chat.say(company.alice, "today at 9")
    assert said.text.splitlines() == [EN("error.reminder_in_past"), EN("reminders.ask_time")]
    assert await reminders_of(database, company.alice.id) == []


async def test_russian_reminder_is_written_and_delivered_in_russian(chat: Chat, company: Company, database: Database) -> None:
    said = await chat.say(company.bob, "напомни в 17:00 отправить отчет")
    assert said.text == RU("reminders.confirm", when="сегодня в 17:00", what="отправить отчет")
    said = await chat.press(company.bob, "Да")
    assert said.text == RU("reminders.set", when="сегодня в 17:00", what="отправить отчет")
    chat.now = datetime(2026, 11, 23, 12, 0)
    [delivered] = await chat.inbox(company.bob)
    assert delivered.text == "⏰ Напоминание: отправить отчет"

    said = await chat.say(company.bob, "какие у меня напоминания")
    assert said.text == RU("reminders.none")


async def test_uzbek_reminder_is_set_and_listed(chat: Chat, company: Company, database: Database) -> None:
    said = await chat.say(company.alice, "soat 17:00 da hisobotni topshirishni eslat")
    assert said.text == UZ("reminders.confirm", when="bugun soat 17:00 da", what="hisobotni topshirishni")
    await chat.press(company.alice, "Ha")
    [stored] = await reminders_of(database, company.alice.id)
    assert stored.payload["text"] == "⏰ Eslatma: hisobotni topshirishni"
    assert (await chat.say(company.alice, "qanday eslatmalarim bor")).text.startswith(UZ("reminders.list_title"))


async def test_vietnamese_and_greek_reminders(chat: Chat, company: Company, database: Database) -> None:
    said = await chat.say(company.keeper, "nhắc mình lúc 17:30 gọi ngân hàng")
    assert said.text == VI("reminders.confirm", when="hôm nay lúc 17:30", what="gọi ngân hàng")
    await chat.press(company.keeper, "Đồng ý")

    said = await chat.say(company.it_agent, "θύμισέ μου στις 17:00 να στείλω την αναφορά")
    assert said.text == EL("reminders.confirm", when="σήμερα στις 5:00\u202fμ.μ.", what="να στείλω την αναφορά")
    await chat.press(company.it_agent, "Ναι")

    assert [r.payload["text"] for r in await reminders_of(database, company.keeper.id)] == ["⏰ Nhắc việc: gọi ngân hàng"]
    assert [r.payload["text"] for r in await reminders_of(database, company.it_agent.id)] == ["⏰ Υπενθύμιση: να στείλω την αναφορά"]


async def test_azerbaijani_reminder_and_list(chat: Chat, company: Company, database: Database) -> None:
    said = await chat.say(company.hr, "15:00-da müştəriyə zəng etməyi xatırlat")
    assert said.text == AZ("reminders.confirm", when="bu gün, saat 15:00", what="müştəriyə zəng etməyi")
    await chat.press(company.hr, "Bəli")
    said = await chat.say(company.hr, "hansı xatırlatmalarım var?")
    assert said.text.splitlines() == [
        AZ("reminders.list_title"),
        AZ("reminders.list_item", day=AZ.day_month(NOW.date()), time="15:00", what="müştəriyə zəng etməyi"),
    ]
    [stored] = await reminders_of(database, company.hr.id)
    assert stored.due_at == datetime(2026, 11, 23, 10, 0)

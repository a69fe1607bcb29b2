"""Personal reminders: set with a time (asked for when missing), once or repeatedly, listed in the person's time zone,
cancelled in chat, delivered when due.

Conversation time is Monday 2026-11-23 06:00 UTC, which is 11:00 in Tashkent where everyone in the test company
lives, so "at 5pm" is today 12:00 UTC and "at 9:00" is already past (tomorrow 04:00 UTC).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from babel.dates import format_date
from sqlalchemy import select

from actions import recurrence
from actions.i18n import Translator
from storage.database import Database
from storage.holidays import PublicHoliday
from storage.schedules import PERSONAL, Schedule
from tests.conversations.conftest import NOW, Chat
from tests.factories import TEST_CALENDAR, Company

EN, RU, UZ, EL, VI, AZ = (Translator(language) for language in ("en", "ru", "uz", "el", "vi", "az"))


async def reminders_of(database: Database, employee_id: int) -> list[Schedule]:
    """The person's reminders still to come, the next one first."""
    async with database.sessions() as session:
        rows = await session.scalars(
            select(Schedule)
            .where(Schedule.owner_id == employee_id, Schedule.kind == PERSONAL, Schedule.active)
            .order_by(Schedule.next_due, Schedule.id)
        )
        return list(rows)


async def test_reminder_with_a_time_is_confirmed_stored_and_delivered_when_due(chat: Chat, company: Company, database: Database) -> None:
    said = await chat.say(company.alice, "remind me at 5pm to submit the report")
    assert said.text == EN("reminders.confirm", when="today at 17:00", what="submit the report")
    assert [button.label for button in said.buttons] == ["Yes", "No"]

    said = await chat.press(company.alice, "Yes")
    assert said.text == EN("reminders.set", when="today at 17:00", what="submit the report")

    [stored] = await reminders_of(database, company.alice.id)
    assert (stored.once_at, stored.next_due, stored.rule) == (datetime(2026, 11, 23, 12, 0), datetime(2026, 11, 23, 12, 0), None)
    assert stored.payload == {"what": "submit the report", "language": "en"}

    assert await chat.inbox(company.alice) == []  # not due yet
    chat.now = datetime(2026, 11, 23, 12, 0)
    [delivered] = await chat.inbox(company.alice)
    assert delivered.text == "⏰ Reminder: submit the report"
    assert await chat.inbox(company.bob) == []
    assert await reminders_of(database, company.alice.id) == []  # done
    chat.now = datetime(2026, 11, 24, 12, 0)
    assert len(await chat.inbox(company.alice)) == 1  # once


async def test_a_clock_time_already_past_today_means_tomorrow(chat: Chat, company: Company, database: Database) -> None:
    said = await chat.say(company.alice, "remind me at 9:00 to call the client")
    assert said.text == EN("reminders.confirm", when="tomorrow at 09:00", what="call the client")
    await chat.press(company.alice, "Yes")
    [stored] = await reminders_of(database, company.alice.id)
    assert stored.next_due == datetime(2026, 11, 24, 4, 0)


async def test_missing_time_is_asked_for(chat: Chat, company: Company, database: Database) -> None:
    said = await chat.say(company.alice, "remind me to call the bank")
    assert said.text == EN("reminders.ask_time")
    assert await reminders_of(database, company.alice.id) == []

    said = await chat.say(company.alice, "17:30")
    assert said.text == EN("reminders.confirm", when="today at 17:30", what="call the bank")
    await chat.press(company.alice, "Yes")
    [stored] = await reminders_of(database, company.alice.id)
    assert stored.next_due == datetime(2026, 11, 23, 12, 30)
    assert stored.payload["what"] == "call the bank"


async def test_missing_text_is_asked_for_and_taken_as_written(chat: Chat, company: Company, database: Database) -> None:
    said = await chat.say(company.alice, "set a reminder for 3pm")
    assert said.text == EN("reminders.ask_what")
    said = await chat.say(company.alice, "renew my parking permit")
    assert said.text == EN("reminders.confirm", when="today at 15:00", what="renew my parking permit")
    await chat.press(company.alice, "Yes")
    [stored] = await reminders_of(database, company.alice.id)
    assert stored.next_due == datetime(2026, 11, 23, 10, 0)


async def test_a_day_without_a_time_asks_for_the_time_on_that_day(chat: Chat, company: Company, database: Database) -> None:
    said = await chat.say(company.alice, "please remind me on friday to book the meeting room")
    assert said.text == EN("reminders.ask_time_on_day", day="Fri 27 Nov")
    said = await chat.say(company.alice, "10:00")
    assert said.text == EN("reminders.confirm", when="on Fri 27 Nov at 10:00", what="book the meeting room")
    await chat.press(company.alice, "Yes")
    [stored] = await reminders_of(database, company.alice.id)
    assert stored.next_due == datetime(2026, 11, 27, 5, 0)


async def test_relative_time_counts_from_now(chat: Chat, company: Company, database: Database) -> None:
    said = await chat.say(company.alice, "remind me in 2 hours to take a break")
    assert said.text == EN("reminders.confirm", when="today at 13:00", what="take a break")
    await chat.press(company.alice, "Yes")
    [stored] = await reminders_of(database, company.alice.id)
    assert stored.next_due == NOW + timedelta(hours=2)


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
    assert stored.next_due == datetime(2026, 11, 23, 13, 30)


async def test_listing_shows_only_my_pending_reminders_in_my_time_zone(chat: Chat, company: Company, database: Database) -> None:
    assert (await chat.say(company.alice, "what reminders do I have?")).text == EN("reminders.none")

    await chat.say(company.alice, "remind me at 9:00 to call the client")
    await chat.press(company.alice, "Yes")
    await chat.say(company.alice, "remind me at 5pm to submit the report")
    await chat.press(company.alice, "Yes")
    await chat.say(company.bob, "remind me at 4pm to water the plants")
    await chat.press(company.bob, "Yes")

    said = await chat.say(company.alice, "show my reminders")
    assert [button.label for button in said.buttons] == ["✕ submit the report", "✕ call the client"]
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
    assert "water the plants" not in said.text  # Bob's


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
    assert stored.payload == {"what": "hisobotni topshirishni", "language": "uz"}
    chat.now = stored.next_due or NOW
    assert [reply.text for reply in await chat.inbox(company.alice)] == ["⏰ Eslatma: hisobotni topshirishni"]
    await chat.say(company.alice, "soat 18:00 da hisobotni topshirishni eslat")
    await chat.press(company.alice, "Ha")
    assert (await chat.say(company.alice, "qanday eslatmalarim bor")).text.startswith(UZ("reminders.list_title"))


async def test_vietnamese_and_greek_reminders(chat: Chat, company: Company, database: Database) -> None:
    said = await chat.say(company.keeper, "nhắc mình lúc 17:30 gọi ngân hàng")
    assert said.text == VI("reminders.confirm", when="hôm nay lúc 17:30", what="gọi ngân hàng")
    await chat.press(company.keeper, "Đồng ý")

    said = await chat.say(company.it_agent, "θύμισέ μου στις 17:00 να στείλω την αναφορά")
    assert said.text == EL("reminders.confirm", when="σήμερα στις 5:00\u202fμ.μ.", what="να στείλω την αναφορά")
    await chat.press(company.it_agent, "Ναι")

    assert [(r.payload["what"], r.payload["language"]) for r in await reminders_of(database, company.keeper.id)] == [("gọi ngân hàng", "vi")]
    assert [(r.payload["what"], r.payload["language"]) for r in await reminders_of(database, company.it_agent.id)] == [("να στείλω την αναφορά", "el")]
    chat.now = datetime(2026, 11, 23, 12, 30)
    assert [reply.text for reply in await chat.inbox(company.keeper)] == ["⏰ Nhắc việc: gọi ngân hàng"]
    assert [reply.text for reply in await chat.inbox(company.it_agent)] == ["⏰ Υπενθύμιση: να στείλω την αναφορά"]


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
    assert stored.next_due == datetime(2026, 11, 23, 10, 0)


# --- recurring reminders, and cancelling in chat ------------------------------------------------------------------


async def test_a_weekly_reminder_comes_every_friday_until_cancelled_in_chat(chat: Chat, company: Company, database: Database) -> None:
    said = await chat.say(company.alice, "remind me every friday at 5pm to fill in my timesheet")
    every_friday = EN("reminders.repeat.weekly", days="Friday", time="17:00")
    assert said.text == EN("reminders.confirm_repeat", repeat=every_friday, first="on Fri 27 Nov at 17:00", what="fill in my timesheet")
    said = await chat.press(company.alice, "Yes")
    assert said.text == EN("reminders.set_repeat", repeat=every_friday, first="on Fri 27 Nov at 17:00", what="fill in my timesheet")
    [stored] = await reminders_of(database, company.alice.id)
    assert stored.rule == "DTSTART:20261123T170000\nRRULE:FREQ=WEEKLY;BYDAY=FR"
    assert (stored.timezone, stored.next_due, stored.explicit_time) == ("Asia/Tashkent", datetime(2026, 11, 27, 12, 0), True)

    chat.now = datetime(2026, 11, 27, 12, 0)
    assert [reply.text for reply in await chat.inbox(company.alice)] == ["⏰ Reminder: fill in my timesheet"]
    chat.now = datetime(2026, 12, 4, 12, 1)
    assert len(await chat.inbox(company.alice)) == 2
    said = await chat.say(company.alice, "show my reminders")
    assert said.text.splitlines()[1] == EN("reminders.list_item_repeat", repeat=every_friday, what="fill in my timesheet", day="Fri 11 Dec", time="17:00")

    said = await chat.say(company.alice, "cancel my timesheet reminder")
    assert said.text == EN("reminders.cancelled_repeat", what="fill in my timesheet", repeat=every_friday)
    assert await reminders_of(database, company.alice.id) == []
    chat.now = datetime(2026, 12, 11, 12, 0)
    assert len(await chat.inbox(company.alice)) == 2  # no third one
    assert (await chat.say(company.alice, "my reminders")).text == EN("reminders.none")


async def test_with_several_reminders_cancel_asks_which_and_a_button_cancels_it(chat: Chat, company: Company, database: Database) -> None:
    await chat.say(company.alice, "remind me every day at 1pm to drink water")
    await chat.press(company.alice, "Yes")
    await chat.say(company.alice, "remind me at 5pm to submit the report")
    await chat.press(company.alice, "Yes")

    said = await chat.say(company.alice, "cancel reminder")
    assert said.text.splitlines()[0] == EN("reminders.cancel_which")
    assert [button.label for button in said.buttons] == ["✕ drink water", "✕ submit the report"]
    drink_water = said.button("✕ drink water").payload
    said = await chat.press(company.alice, "✕ drink water")
    assert said.text == EN("reminders.cancelled_repeat", what="drink water", repeat=EN("reminders.repeat.daily", time="13:00"))
    assert [r.payload["what"] for r in await reminders_of(database, company.alice.id)] == ["submit the report"]

    again = await chat.press_payload(company.alice, drink_water)  # the same button once more
    assert again.text == EN("reminders.cancel_gone")
    [report] = await reminders_of(database, company.alice.id)
    forged = await chat.press_payload(company.bob, f"reminder:cancel:{report.id}")  # not Bob's to cancel
    assert forged.text == RU("reminders.cancel_gone")
    assert len(await reminders_of(database, company.alice.id)) == 1


async def test_a_working_day_reminder_skips_weekends_and_holidays_and_is_cancelled_in_russian(
    chat: Chat, company: Company, database: Database
) -> None:
    said = await chat.say(company.bob, "напоминай каждый рабочий день в 9:00 проверять почту")
    repeat = RU("reminders.repeat.workdays", time="09:00")
    assert said.text == RU("reminders.confirm_repeat", repeat=repeat, first=RU("reminders.when_tomorrow", time="09:00"), what="проверять почту")
    await chat.press(company.bob, "Да")
    fired: list[str] = []
    received = 0
    for day in range(12):  # Tue 24 Nov to Sat 5 Dec, each day at 09:00 in Tashkent (04:00 UTC)
        chat.now = datetime(2026, 11, 24, 4, 0) + timedelta(days=day)
        if len(await chat.inbox(company.bob)) > received:
            received += 1
            fired.append(chat.now.strftime("%a %d"))
    # Not on Saturday 28 and Sunday 29 November, nor on Thursday 3 December (the test calendar's holiday).
    assert fired == ["Tue 24", "Wed 25", "Thu 26", "Fri 27", "Mon 30", "Tue 01", "Wed 02", "Fri 04"]
    assert {reply.text for reply in chat.delivered["dm:bob@example.com"]} == {"⏰ Напоминание: проверять почту"}

    said = await chat.say(company.bob, "отмени напоминание")
    assert said.text == RU("reminders.cancelled_repeat", what="проверять почту", repeat=repeat)
    assert await reminders_of(database, company.bob.id) == []


async def test_the_first_working_day_of_the_month_moves_past_a_holiday(chat: Chat, company: Company, database: Database) -> None:
    said = await chat.say(company.alice, "remind me on the first working day of every month at 9 to send invoices")
    repeat = EN("reminders.repeat.monthly_first_workday", time="09:00")
    assert said.text == EN("reminders.confirm_repeat", repeat=repeat, first="on Tue 1 Dec at 09:00", what="send invoices")
    await chat.press(company.alice, "Yes")
    [stored] = await reminders_of(database, company.alice.id)
    assert stored.next_due == datetime(2026, 12, 1, 4, 0)
    async with database.transaction() as session:  # 1 and 2 February 2027 become holidays of her calendar
        session.add_all([PublicHoliday(calendar=TEST_CALENDAR, day=date(2027, 2, day), name="Test") for day in (1, 2)])
    chat.now = datetime(2026, 12, 1, 4, 0)
    await chat.inbox(company.alice)
    [stored] = await reminders_of(database, company.alice.id)
    assert stored.next_due == datetime(2027, 1, 1, 4, 0)  # a Friday (no holiday in this calendar)
    chat.now = datetime(2027, 1, 1, 4, 0)
    await chat.inbox(company.alice)
    [stored] = await reminders_of(database, company.alice.id)
    assert stored.next_due == datetime(2027, 2, 3, 4, 0)  # Mon 1 and Tue 2 are holidays: Wednesday


@pytest.mark.parametrize(
    ("who", "text", "yes", "translator", "repeat", "what"),
    [
        ("alice", "har juma soat 17:00 da tabelni to'ldirishni eslat", "Ha", UZ, "weekly", "tabelni to'ldirishni"),
        ("hr", "hər cümə saat 17:00-da tabeli doldurmağı xatırlat", "Bəli", AZ, "weekly", "tabeli doldurmağı"),
        ("it_agent", "κάθε Παρασκευή στις 17:00 θύμισέ μου να συμπληρώσω το φύλλο", "Ναι", EL, "weekly", "να συμπληρώσω το φύλλο"),
        ("keeper", "nhắc tôi mỗi thứ sáu lúc 17:00 điền bảng chấm công", "Đồng ý", VI, "weekly", "điền bảng chấm công"),
    ],
)
async def test_weekly_reminders_in_other_languages(
    chat: Chat, company: Company, database: Database, who: str, text: str, yes: str, translator: Translator, repeat: str, what: str
) -> None:
    person = getattr(company, who)
    said = await chat.say(person, text)
    [friday] = {format_date(date(2026, 11, 27), "EEEE", locale=translator.locale)}
    expected_repeat = translator("reminders.repeat.weekly", days=friday, time=translator.time(datetime(2026, 11, 27, 17, 0)))
    assert expected_repeat in said.text and what in said.text, said.text
    await chat.press(person, yes)
    [stored] = await reminders_of(database, person.id)
    assert stored.rule is not None and stored.rule.endswith("RRULE:FREQ=WEEKLY;BYDAY=FR")
    assert stored.payload["what"] == what
    chat.now = datetime(2026, 11, 27, 12, 0)
    [fired] = await chat.inbox(person)
    assert fired.text == translator("reminders.fire", what=what)
    said = await chat.say(person, {UZ: "eslatmani bekor qil", AZ: "xatırlatmanı ləğv et", EL: "ακύρωσε την υπενθύμιση", VI: "hủy lời nhắc"}[translator])
    assert said.text == translator("reminders.cancelled_repeat", what=what, repeat=expected_repeat)
    assert await reminders_of(database, person.id) == []


@pytest.mark.parametrize(
    ("text", "language", "spec", "said"),
    [
        ("hər cume axsami saat 9-da hesabatı göndər", "az", "weekly:TH", "hər cume axsami"),  # typed without ə ş ı
        ("har oyning 5–kuni hisobotni yubor", "uz", "monthly_day:5", "har oyning 5–kuni"),  # an en dash
        ("Straße: every Friday at 5", "en", "weekly:FR", "every Friday"),  # ß folds to two letters
    ],
)
def test_repeats_are_read_as_the_nlu_folds_text_and_found_where_they_were_typed(text: str, language: str, spec: str, said: str) -> None:
    found = recurrence.find(text, language)
    assert found is not None and found.spec == spec
    assert text[found.start : found.end] == said

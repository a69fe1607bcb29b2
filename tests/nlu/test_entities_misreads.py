"""Misreads reported by the conversation layer, one test per fix, against a fixed Monday (2026-11-23).

The extractor here is built from the shipped training data (its synonyms included), as the interpreter builds it.
"""

from datetime import date
from pathlib import Path
from typing import Any

import pytest

import nlu
from nlu.entities import EntityExtractor
from nlu.training_data import load_training_data

MONDAY = date(2026, 11, 23)
PACKAGE_DATA = Path(nlu.__file__).parent / "data"


@pytest.fixture(scope="module")
def extractor() -> EntityExtractor:
    data = load_training_data(PACKAGE_DATA)
    return EntityExtractor(data.synonyms, data.lookups, data.regexes)


def extract(extractor: EntityExtractor, text: str, language: str, today: date = MONDAY) -> list[dict[str, Any]]:
    return extractor.extract(text, language=language, today=today)


def values(extractor: EntityExtractor, text: str, language: str, entity: str, today: date = MONDAY) -> list[str]:
    return [e["value"] for e in extract(extractor, text, language, today) if e["entity"] == entity]


def date_roles(extractor: EntityExtractor, text: str, language: str, today: date = MONDAY) -> dict[str, str]:
    return {
        e["entity"]: e["value"]
        for e in extract(extractor, text, language, today)
        if e["entity"] in ("start_date", "end_date")
    }


@pytest.mark.parametrize(
    ("language", "text", "end"),
    [
        ("en", "until Friday", "2026-11-27"),
        ("en", "until 11 December", "2026-12-11"),
        ("en", "no, until the 8th", "2026-12-08"),
        ("en", "till Wednesday", "2026-11-25"),
        ("en", "to the 4th", "2026-12-04"),
        ("ru", "по пятницу", "2026-11-27"),
        ("ru", "до пятницы", "2026-11-27"),
        ("ru", "до 11 декабря", "2026-12-11"),
        ("uz", "jumagacha", "2026-11-27"),
        ("uz", "11-dekabrgacha", "2026-12-11"),
        ("az", "cüməyə qədər", "2026-11-27"),
        ("az", "11 dekabradək", "2026-12-11"),
        ("az", "11 dekabra qədər", "2026-12-11"),
        ("el", "μέχρι την Παρασκευή", "2026-11-27"),
        ("el", "έως 11 Δεκεμβρίου", "2026-12-11"),
        ("vi", "đến thứ sáu", "2026-11-27"),
        ("vi", "đến ngày 11/12", "2026-12-11"),
    ],
)
def test_a_lone_date_after_an_end_word_is_an_end_date(
    extractor: EntityExtractor, language: str, text: str, end: str
) -> None:
    assert date_roles(extractor, text, language) == {"end_date": end}


@pytest.mark.parametrize(
    ("language", "text"),
    [("en", "on Friday"), ("en", "I want to take Friday off"), ("ru", "в пятницу"), ("uz", "jumadan"), ("az", "cümə")],
)
def test_a_lone_date_without_an_end_word_stays_a_start_date(
    extractor: EntityExtractor, language: str, text: str
) -> None:
    assert date_roles(extractor, text, language) == {"start_date": "2026-11-27"}


@pytest.mark.parametrize(
    ("language", "text", "start"),
    [
        ("en", "sick leave last Monday", "2026-11-16"),
        ("en", "I was ill last Friday", "2026-11-20"),
        ("en", "on Wednesday last week", "2026-11-18"),
        ("en", "yesterday", "2026-11-22"),
        ("en", "the day before yesterday", "2026-11-21"),
        ("ru", "больничный в прошлый понедельник", "2026-11-16"),
        ("ru", "в прошлую пятницу", "2026-11-20"),
        ("ru", "вчера", "2026-11-22"),
        ("uz", "o'tgan dushanba kasal edim", "2026-11-16"),
        ("uz", "kecha", "2026-11-22"),
        ("az", "keçən bazar ertəsi xəstə idim", "2026-11-16"),
        ("az", "dünən", "2026-11-22"),
        ("el", "την προηγούμενη Δευτέρα", "2026-11-16"),
        ("el", "την περασμένη Παρασκευή", "2026-11-20"),
        ("el", "χθες", "2026-11-22"),
        ("vi", "thứ hai tuần trước", "2026-11-16"),
        ("vi", "thứ sáu trước", "2026-11-20"),
        ("vi", "hôm qua", "2026-11-22"),
    ],
)
def test_past_words_give_past_dates(extractor: EntityExtractor, language: str, text: str, start: str) -> None:
    assert date_roles(extractor, text, language) == {"start_date": start}


@pytest.mark.parametrize(
    ("language", "text", "start", "end"),
    [
        ("en", "from 10.12.2026 to 15.12.2026", "2026-12-10", "2026-12-15"),
        ("en", "10.12.2026 - 15.12.2026", "2026-12-10", "2026-12-15"),
        ("en", "from 10/12/2027 to 15/12/2027", "2027-12-10", "2027-12-15"),
        ("en", "from 10 December 2027 to 15 December 2027", "2027-12-10", "2027-12-15"),
        ("ru", "с 10.12.2026 г. по 15.12.2026 г.", "2026-12-10", "2026-12-15"),
    ],
)
def test_dates_with_a_year_keep_it(
    extractor: EntityExtractor, language: str, text: str, start: str, end: str
) -> None:
    assert date_roles(extractor, text, language) == {"start_date": start, "end_date": end}


def test_a_lone_date_with_a_year_keeps_it(extractor: EntityExtractor) -> None:
    assert date_roles(extractor, "10/12/2027", "en") == {"start_date": "2027-12-10"}


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "from December 10 to December 5"),
        ("en", "10-5 December"),
        ("en", "annual leave from 10.12.2026 to 05.12.2026"),
        ("ru", "с 10 по 5 декабря"),
        ("uz", "10-5 dekabr"),
        ("el", "από 10 έως 5 Δεκεμβρίου"),
    ],
)
def test_a_backwards_range_in_one_month_stays_in_that_month(
    extractor: EntityExtractor, language: str, text: str
) -> None:
    assert date_roles(extractor, text, language) == {"start_date": "2026-12-10", "end_date": "2026-12-05"}


def test_a_range_over_the_year_end_still_rolls_over(extractor: EntityExtractor) -> None:
    assert date_roles(extractor, "from 28 December to 3 January", "en") == {
        "start_date": "2026-12-28",
        "end_date": "2027-01-03",
    }


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("annual leave on 10 November", "2026-11-10"),  # 13 days ago: the past date, for the rules to judge
        ("sick leave on 1 November", "2026-11-01"),
        ("annual leave on 20 October", "2027-10-20"),  # over a month ago: the next one
        ("annual leave on the 10th", "2026-12-10"),  # a bare day number is the next such day
    ],
)
def test_dates_without_a_year_near_in_the_past_stay_in_the_past(
    extractor: EntityExtractor, text: str, start: str
) -> None:
    assert date_roles(extractor, text, "en") == {"start_date": start}


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "I need leave next week"),
        ("en", "I need time off tomorrow"),
        ("en", "can I have a day off on Friday"),
        ("ru", "хочу взять отгул"),
        ("ru", "нужен выходной в пятницу"),
        ("uz", "dam olish kuni kerak"),
        ("el", "θέλω άδεια την Παρασκευή"),
        ("el", "θα πάρω άδεια αύριο"),
        ("vi", "tôi muốn xin nghỉ ngày mai"),
        ("vi", "cho tôi nghỉ thứ sáu"),
        ("az", "istirahət günü lazımdır"),
    ],
)
def test_generic_leave_words_leave_the_type_open(extractor: EntityExtractor, language: str, text: str) -> None:
    assert values(extractor, text, language, "leave_type") == []


@pytest.mark.parametrize(
    ("language", "text", "leave_type"),
    [
        ("en", "vacation next week", "annual"),
        ("en", "annual leave", "annual"),
        ("ru", "хочу в отпуск", "annual"),
        ("ru", "отпуск за свой счёт", "unpaid"),
        ("uz", "ta'tilga chiqmoqchiman", "annual"),
        ("az", "məzuniyyət istəyirəm", "annual"),
        ("el", "κανονική άδεια", "annual"),
        ("el", "άδεια ασθενείας", "sick"),
        ("vi", "nghỉ phép năm", "annual"),
        ("vi", "tôi muốn xin nghỉ phép", "annual"),
        ("vi", "xin nghỉ phép vì bị ốm", "sick"),
    ],
)
def test_specific_leave_words_keep_their_type(
    extractor: EntityExtractor, language: str, text: str, leave_type: str
) -> None:
    assert values(extractor, text, language, "leave_type") == [leave_type]


@pytest.mark.parametrize(
    ("language", "text", "half"),
    [
        ("en", "half day tomorrow", "half"),
        ("en", "I need a half-day on Friday", "half"),
        ("en", "sick leave tomorrow in the afternoon", "afternoon"),
        ("en", "off tomorrow morning", "morning"),
        ("ru", "завтра до обеда", "morning"),
        ("ru", "отгул после обеда", "afternoon"),
        ("ru", "полдня в пятницу", "half"),
        ("uz", "ertaga yarim kun", "half"),
        ("uz", "tushdan keyin javob bering", "afternoon"),
        ("az", "sabah yarım gün", "half"),
        ("az", "günortadan sonra icazə", "afternoon"),
        ("el", "μισή μέρα αύριο", "half"),
        ("el", "αύριο το απόγευμα άδεια", "afternoon"),
        ("vi", "nghỉ nửa ngày", "half"),
        ("vi", "nghỉ buổi sáng thứ sáu", "morning"),
        ("vi", "xin nghỉ buổi chiều mai", "afternoon"),
        ("vi", "chiều thứ sáu cho em nghỉ nửa ngày", "afternoon"),  # the half that is said wins over "half a day"
        ("en", "half a day on Friday, in the afternoon", "afternoon"),
    ],
)
def test_half_days(extractor: EntityExtractor, language: str, text: str, half: str) -> None:
    assert values(extractor, text, language, "half_day") == [half]


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "good morning"),
        ("en", "good afternoon, I need sick leave"),
        ("en", "remind me in the afternoon to call Bob"),
        ("vi", "chào buổi sáng"),
        ("ru", "напомни вечером"),
    ],
)
def test_greetings_and_reminders_are_not_half_days(extractor: EntityExtractor, language: str, text: str) -> None:
    assert values(extractor, text, language, "half_day") == []


@pytest.mark.parametrize(
    ("language", "text", "value", "span"),
    [
        ("en", "remind me tomorrow at 9 to call the client", "2026-11-24T09:00", "tomorrow at 9"),
        ("en", "remind me tomorrow morning to call the client", "2026-11-24T09:00", "tomorrow morning"),
        ("ru", "напомни завтра в 9 позвонить клиенту", "2026-11-24T09:00", "завтра в 9"),
        ("uz", "ertaga soat 9 da mijozga qo'ng'iroq qilishni eslat", "2026-11-24T09:00", "ertaga soat 9 da"),
        ("en", "remind me tonight at 8", "20:00", "tonight at 8"),  # a clock time alone is the next one to come
        ("ru", "напомни завтра вечером в 8", "2026-11-24T20:00", "завтра вечером в 8"),
    ],
)
def test_a_reminder_time_span_covers_its_day_words(
    extractor: EntityExtractor, language: str, text: str, value: str, span: str
) -> None:
    times = [e for e in extract(extractor, text, language) if e["entity"] == "time"]
    assert [(t["value"], text[t["start"] : t["end"]]) for t in times] == [(value, span)]
    assert not [e for e in extract(extractor, text, language) if e["entity"] in ("start_date", "end_date")]


@pytest.mark.parametrize(
    ("text", "time"),
    [
        ("remind me tonight at 8", "20:00"),
        ("remind me this evening at 7", "19:00"),
        ("remind me in the morning at 6", "06:00"),
    ],
)
def test_a_part_of_the_day_before_an_hour_sets_its_half(extractor: EntityExtractor, text: str, time: str) -> None:
    assert [v[-5:] for v in values(extractor, text, "en", "time")] == [time]


@pytest.mark.parametrize(
    ("text", "time"),
    [
        ("nhắc tôi lúc 9 giờ gọi khách hàng", "09:00"),
        ("nhắc tôi 9 giờ tôi cần gọi khách", "09:00"),
        ("nhắc tôi lúc 8 giờ tối", "20:00"),
        ("nhắc tôi tối nay", "18:00"),
    ],
)
def test_vietnamese_toi_is_not_toi_evening(extractor: EntityExtractor, text: str, time: str) -> None:
    assert values(extractor, text, "vi", "time") == [time]


@pytest.mark.parametrize(("text", "time"), [("в 10", "10:00"), ("в 10:30", "10:30"), ("к 9", "09:00"), ("в 3", "15:00")])
def test_a_russian_bare_hour_alone_is_a_time(extractor: EntityExtractor, text: str, time: str) -> None:
    assert values(extractor, text, "ru", "time") == [time]


def test_a_russian_bare_hour_in_a_sentence_is_not_a_time(extractor: EntityExtractor) -> None:
    assert values(extractor, "в 10 кабинете нет бумаги", "ru", "time") == []


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "received 20 A4 paper in room 1"),
        ("ru", "получили 20 пачек бумаги А4 в комнату 1"),
        ("uz", "20 ta qog'oz 1 xonaga keldi"),
        ("az", "20 ədəd kağız otaq 1 üçün gəldi"),
        ("el", "παρέλαβα 20 πακέτα χαρτί Α4 στο δωμάτιο 1"),
        ("vi", "nhập 20 ram giấy A4 phòng 1"),
        ("en", "received 20 HDMI cables, room 2 HDMI cables were moved"),
    ],
)
def test_a_number_after_a_place_word_is_not_a_quantity(extractor: EntityExtractor, language: str, text: str) -> None:
    assert values(extractor, text, language, "quantity") == ["20"]


def test_a_counted_number_after_a_place_word_is_still_a_quantity(extractor: EntityExtractor) -> None:
    assert values(extractor, "выдал в кабинет 5 пачек бумаги", "ru", "quantity") == ["5"]


@pytest.mark.parametrize(
    ("language", "text"),
    [("en", "ticket 42 is still broken"), ("en", "#42 still broken"), ("ru", "заявка #42 не решена")],
)
def test_an_id_is_given_once(extractor: EntityExtractor, language: str, text: str) -> None:
    found = [e for e in extract(extractor, text, language) if e["entity"] in ("ticket_id", "request_id")]
    assert [(e["entity"], e["value"]) for e in found] == [("ticket_id", "42")]


@pytest.mark.parametrize(
    ("language", "text"),
    [("en", "approve 42"), ("en", "reject #42 overlaps the audit"), ("ru", "одобрить 42"), ("vi", "duyệt 42")],
)
def test_a_number_after_a_decision_is_only_a_request_id(extractor: EntityExtractor, language: str, text: str) -> None:
    found = [e for e in extract(extractor, text, language) if e["entity"] in ("ticket_id", "request_id", "quantity")]
    assert [(e["entity"], e["value"]) for e in found] == [("request_id", "42")]


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "low stock"),
        ("en", "what's low on supplies"),
        ("en", "which items are running low"),
        ("en", "paper stock is low"),
        ("ru", "низкий остаток бумаги"),
        ("vi", "hàng tồn kho thấp"),
    ],
)
def test_low_beside_stock_words_is_not_a_priority(extractor: EntityExtractor, language: str, text: str) -> None:
    assert values(extractor, text, language, "priority") == []


@pytest.mark.parametrize(
    ("language", "text"), [("en", "low priority please"), ("en", "printer broken, low"), ("ru", "приоритет низкий")]
)
def test_low_priority_is_still_a_priority(extractor: EntityExtractor, language: str, text: str) -> None:
    assert values(extractor, text, language, "priority") == ["low"]


def test_a_phrase_with_a_short_word_is_found_only_in_its_order(extractor: EntityExtractor) -> None:
    assert values(extractor, "I'm working on it", "en", "ticket_status") == ["in_progress"]
    assert values(extractor, "what's the company policy on working from home?", "en", "ticket_status") == []

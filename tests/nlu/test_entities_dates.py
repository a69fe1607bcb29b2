"""Dates and date ranges in the six languages, resolved against a fixed Monday and near a year end."""

from datetime import date

import pytest

from nlu.entities import EntityExtractor

MONDAY = date(2026, 11, 23)
YEAR_END = date(2026, 12, 28)


@pytest.fixture(scope="module")
def extractor() -> EntityExtractor:
    return EntityExtractor({}, {}, {})


def dates(extractor: EntityExtractor, text: str, language: str, today: date = MONDAY) -> tuple[str | None, ...]:
    found = extractor.extract(text, language=language, today=today)
    for entity in found:
        assert text[entity["start"] : entity["end"]].strip() == text[entity["start"] : entity["end"]]
        assert entity["end"] > entity["start"]
    start = [e["value"] for e in found if e["entity"] == "start_date"]
    end = [e["value"] for e in found if e["entity"] == "end_date"]
    return (start[0] if start else None, end[0] if end else None)


@pytest.mark.parametrize(
    ("language", "text", "start", "end"),
    [
        ("en", "tomorrow", "2026-11-24", None),
        ("en", "I'm off today", "2026-11-23", None),
        ("en", "the day after tomorrow", "2026-11-25", None),
        ("en", "next Monday", "2026-11-30", None),
        ("en", "on Friday", "2026-11-27", None),
        ("en", "next week", "2026-11-30", "2026-12-04"),
        ("en", "off nxt wk", "2026-11-30", "2026-12-04"),  # chat shorthand
        ("en", "1–5 December", "2026-12-01", "2026-12-05"),
        ("en", "1-5 Dec", "2026-12-01", "2026-12-05"),
        ("en", "from 3 to 7 January", "2027-01-03", "2027-01-07"),
        ("en", "cancel my leave on 12.12", "2026-12-12", None),
        ("en", "12/12", "2026-12-12", None),
        ("en", "2026-12-14", "2026-12-14", None),
        ("en", "from Monday to Wednesday", "2026-11-30", "2026-12-02"),
        ("en", "for 3 days from Monday", "2026-11-30", "2026-12-02"),
        ("en", "sick leave for today and tomorrow", "2026-11-23", "2026-11-24"),
        ("en", "in 3 days", "2026-11-26", None),
        ("en", "on the 25th", "2026-11-25", None),
        ("ru", "завтра", "2026-11-24", None),
        ("ru", "послезавтра", "2026-11-25", None),
        ("ru", "с 14.12 по 18.12", "2026-12-14", "2026-12-18"),
        ("ru", "с понедельника по среду", "2026-11-30", "2026-12-02"),
        ("ru", "5 декабря", "2026-12-05", None),
        ("ru", "со 2 по 6 декабря", "2026-12-02", "2026-12-06"),
        ("ru", "в следующий понедельник", "2026-11-30", None),
        ("ru", "через 3 дня", "2026-11-26", None),
        ("uz", "ertaga", "2026-11-24", None),
        ("uz", "1-4 dekabr", "2026-12-01", "2026-12-04"),
        ("uz", "dushanbadan", "2026-11-30", None),
        ("uz", "5-dekabrdan 9-dekabrgacha", "2026-12-05", "2026-12-09"),
        ("uz", "12.12 dan 16.12 gacha ta'til kerak", "2026-12-12", "2026-12-16"),
        ("uz", "dushanbadan chorshanbagacha", "2026-11-30", "2026-12-02"),
        ("az", "sabah", "2026-11-24", None),
        ("az", "5 dekabr", "2026-12-05", None),
        ("az", "1-4 dekabr", "2026-12-01", "2026-12-04"),
        ("az", "bazar ertəsi", "2026-11-30", None),
        ("az", "bazar ertəsindən çərşənbəyə qədər", "2026-11-30", "2026-12-02"),
        ("el", "αύριο", "2026-11-24", None),
        ("el", "avrio", "2026-11-24", None),
        ("el", "5 Δεκεμβρίου", "2026-12-05", None),
        ("el", "από 3 έως 7 Ιανουαρίου", "2027-01-03", "2027-01-07"),
        ("el", "Δευτέρα", "2026-11-30", None),
        ("el", "ΑΥΡΙΟ", "2026-11-24", None),
        ("vi", "ngày mai", "2026-11-24", None),
        ("vi", "ngay mai", "2026-11-24", None),
        ("vi", "ngày 5/12", "2026-12-05", None),
        ("vi", "từ 1/12 đến 5/12", "2026-12-01", "2026-12-05"),
        ("vi", "thứ hai tuần sau", "2026-11-30", None),
        ("vi", "từ ngày 10/1 đến ngày 20/1", "2027-01-10", "2027-01-20"),
    ],
)
def test_date_expressions_resolve_against_today(
    extractor: EntityExtractor, language: str, text: str, start: str, end: str | None
) -> None:
    assert dates(extractor, text, language) == (start, end)


@pytest.mark.parametrize(
    ("language", "text", "start", "end"),
    [
        ("en", "next week we move house, so from Wednesday to Friday I'm off", "2026-12-02", "2026-12-04"),
        ("vi", "tuần sau nhà em có việc nên từ thứ ba đến thứ năm em xin nghỉ", "2026-12-01", "2026-12-03"),
        ("vi", "tuan sau nha e co viec nen tu t2 den t4 e nghi nhe", "2026-11-30", "2026-12-02"),
        ("el", "tin epomeni evdomada exw metakomisi, ara apo deftera mexri triti leipw", "2026-11-30", "2026-12-01"),
        ("ru", "на следующей неделе у меня переезд, поэтому со среды по пятницу меня не будет", "2026-12-02", "2026-12-04"),
        # another sentence: the weekdays are their own (this week's), and the week stays a range of its own
        ("en", "next week is packed. Can I take Wednesday to Friday off?", "2026-11-30", "2026-12-04"),
    ],
)
def test_a_weekday_range_later_in_the_sentence_falls_in_the_named_week(
    extractor: EntityExtractor, language: str, text: str, start: str, end: str
) -> None:
    assert dates(extractor, text, language) == (start, end)


def test_a_lone_weekday_far_from_the_named_week_keeps_its_own_week(extractor: EntityExtractor) -> None:
    found = extractor.extract("next week I'm swamped, can I take Friday off", language="en", today=MONDAY)
    assert ("start_date", "2026-11-27") in {(e["entity"], e["value"]) for e in found}


@pytest.mark.parametrize(
    ("language", "text", "start", "end"),
    [
        ("en", "5 January", "2027-01-05", None),
        ("en", "28 December - 3 January", "2026-12-28", "2027-01-03"),
        ("en", "next week", "2027-01-04", "2027-01-08"),
        ("en", "tomorrow", "2026-12-29", None),
        ("en", "24 December", "2026-12-24", None),  # four days ago is still this December
        ("ru", "с 30.12 по 2.01", "2026-12-30", "2027-01-02"),
        ("vi", "ngày 2/1", "2027-01-02", None),
    ],
)
def test_dates_without_a_year_roll_over_the_year_end(
    extractor: EntityExtractor, language: str, text: str, start: str, end: str | None
) -> None:
    assert dates(extractor, text, language, today=YEAR_END) == (start, end)


def test_range_spans_point_at_their_own_parts(extractor: EntityExtractor) -> None:
    text = "book vacation 1–5 December please"
    found = {e["entity"]: text[e["start"] : e["end"]] for e in extractor.extract(text, language="en", today=MONDAY)}
    assert found["start_date"] == "1"
    assert found["end_date"] == "5 December"


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "may I take a day off?"),
        ("en", "the printer on the 3rd floor is broken"),
        ("en", "how many vacation days do I have left"),
        ("ru", "сколько у меня дней отпуска"),
        ("vi", "tôi sẽ nhớ mãi"),
        ("uz", "qancha kun qoldi"),
    ],
)
def test_ordinary_sentences_have_no_dates(extractor: EntityExtractor, language: str, text: str) -> None:
    found = extractor.extract(text, language=language, today=MONDAY)
    assert not [e for e in found if e["entity"] in ("start_date", "end_date", "month")]

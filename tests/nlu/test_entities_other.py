"""Months, ids, quantities, times and gazetteer words (typos, inflections, no false positives), offsets, pickling."""

import pickle
from datetime import date

import pytest

from nlu.entities import EntityExtractor

MONDAY = date(2026, 11, 23)

DATA_LIKE_SYNONYMS = {
    "": {
        "бумага а4": "A4 paper",
        "бумаги а4": "A4 paper",
        "qog'oz": "A4 paper",
        "kağız": "A4 paper",
        "hdmi kabel": "HDMI cable",
        "картридж": "Ink cartridge",
        "ốm": "sick",
        "the blue one": "not a catalogue name",
    }
}


@pytest.fixture(scope="module")
def extractor() -> EntityExtractor:
    return EntityExtractor(DATA_LIKE_SYNONYMS, {}, {})


def found(extractor: EntityExtractor, text: str, language: str, today: date = MONDAY) -> dict[str, str]:
    entities = extractor.extract(text, language=language, today=today)
    assert entities == sorted(entities, key=lambda e: e["start"])
    return {e["entity"]: e["value"] for e in entities}


@pytest.mark.parametrize(
    ("language", "text", "month"),
    [
        ("en", "show my payslip for October", "2026-10"),
        ("en", "how much was I paid last month", "2026-10"),
        ("en", "payslip this month", "2026-11"),
        ("en", "payslip 2026-10", "2026-10"),
        ("en", "payslip 10/2026", "2026-10"),
        ("en", "payslip for December", "2025-12"),  # a month name means the most recent one, never the future
        ("ru", "расчётный лист за октябрь", "2026-10"),
        ("ru", "за прошлый месяц", "2026-10"),
        ("uz", "oktyabr uchun oylik", "2026-10"),
        ("uz", "may oyi uchun", "2026-05"),
        ("az", "keçən ay maaş", "2026-10"),
        ("el", "μισθοδοσία Οκτώβριος", "2026-10"),
        ("el", "το εκκαθαριστικό του Οκτωβρίου", "2026-10"),
        ("el", "to ekkatharistiko tou proigoumenou mhna", "2026-10"),  # Greeklish, η typed as h
        ("el", "misthodosia perasmeno mina", "2026-10"),
        ("el", "το εκκαθαριστικο του προιγουμενου μήνα", "2026-10"),  # as Greeklish comes out of the normaliser
        ("vi", "bảng lương tháng 10", "2026-10"),
        ("vi", "bang luong thang 10", "2026-10"),
    ],
)
def test_payslip_months(extractor: EntityExtractor, language: str, text: str, month: str) -> None:
    assert found(extractor, text, language)["month"] == month


@pytest.mark.parametrize(
    ("language", "text", "entity", "value"),
    [
        ("en", "status of ticket 4521", "ticket_id", "4521"),
        ("en", "what about #4521?", "ticket_id", "4521"),
        ("ru", "заявка 4521", "ticket_id", "4521"),
        ("ru", "тикет №4521", "ticket_id", "4521"),
        ("uz", "tiket 4521 holati", "ticket_id", "4521"),
        ("az", "4521 nömrəli tiketin statusu", "ticket_id", "4521"),
        ("el", "κατάσταση αιτήματος 4521", "ticket_id", "4521"),
        ("vi", "yêu cầu số 4521", "ticket_id", "4521"),
        ("en", "ticket 42 resolved", "ticket_status", "resolved"),
        ("ru", "4523 в работе", "ticket_id", "4523"),
        ("en", "approve 42", "request_id", "42"),
        ("en", "reject #42 overlaps the audit", "request_id", "42"),
        ("ru", "одобрить 42", "request_id", "42"),
        ("ru", "по заявке 27 отказываю", "request_id", "27"),
        ("el", "εγκρίνω 42", "request_id", "42"),
        ("vi", "duyệt 42", "decision", "approve"),
    ],
)
def test_ids_and_their_context(extractor: EntityExtractor, language: str, text: str, entity: str, value: str) -> None:
    assert found(extractor, text, language)[entity] == value


@pytest.mark.parametrize(
    ("language", "text", "quantity", "item"),
    [
        ("en", "received 20 toners", "20", "Printer toner"),
        ("en", "20 A4 papers please", "20", "A4 paper"),
        ("en", "do we have hdmi cabel?", None, "HDMI cable"),
        ("en", "3 x HDMI cables", "3", "HDMI cable"),
        ("ru", "нужно 5 пачек бумаги а4", "5", "A4 paper"),
        ("ru", "закончились картриджи", None, "Ink cartridge"),
        ("uz", "qogʻoz 20 ta kerak", "20", "A4 paper"),
        ("uz", "qog'ozlar bormi", None, "A4 paper"),
        ("az", "10 ədəd kağız lazımdır", "10", "A4 paper"),
        ("en", "need a new keybaord", None, "Keyboard"),
    ],
)
def test_items_and_quantities(
    extractor: EntityExtractor, language: str, text: str, quantity: str | None, item: str
) -> None:
    entities = found(extractor, text, language)
    assert entities["item"] == item
    assert entities.get("quantity") == quantity


@pytest.mark.parametrize(
    ("language", "text", "entity", "value"),
    [
        ("en", "I need sick leave", "leave_type", "sick"),
        ("en", "book an unpaid leave", "leave_type", "unpaid"),
        ("en", "vacation please", "leave_type", "annual"),
        ("ru", "хочу отпуск за свой счёт", "leave_type", "unpaid"),
        ("ru", "я на больничном", "leave_type", "sick"),
        ("uz", "kasallik ta'tili kerak", "leave_type", "sick"),
        ("az", "məzuniyyət istəyirəm", "leave_type", "annual"),
        ("el", "θέλω άδεια ασθενείας", "leave_type", "sick"),
        ("vi", "tôi bị ốm", "leave_type", "sick"),
        ("vi", "toi xin nghi khong luong", "leave_type", "unpaid"),
        ("en", "it's urgent", "priority", "high"),
        ("en", "critical, production down", "priority", "critical"),
        ("ru", "не срочно", "priority", "low"),
        ("en", "the ticket is in progres", "ticket_status", "in_progress"),
        ("ru", "закрыто", "ticket_status", "closed"),
        ("el", "απορρίπτω", "decision", "reject"),
    ],
)
def test_gazetteer_words_in_every_language(
    extractor: EntityExtractor, language: str, text: str, entity: str, value: str
) -> None:
    assert found(extractor, text, language)[entity] == value


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "my laptop won't turn on, I'll call you later"),
        ("en", "is my request still pending?"),
        ("en", "mind the gap"),
        ("en", "there is a concert tonight"),
        ("ru", "концерт был отличный"),
        ("vi", "tôi muốn ôm bạn"),
        ("uz", "qalay ishlar"),
        ("az", "salam necəsən"),
        ("el", "τι κάνεις σήμερα το βράδυ"),
    ],
)
def test_no_gazetteer_false_positives_on_ordinary_sentences(
    extractor: EntityExtractor, language: str, text: str
) -> None:
    entities = found(extractor, text, language)
    assert not {"item", "leave_type", "priority", "decision", "ticket_status"} & set(entities)


@pytest.mark.parametrize(
    ("language", "text", "time"),
    [
        ("en", "remind me at 5pm", "17:00"),
        ("en", "at 17:30", "17:30"),
        ("en", "remind me tomorrow at 9am", "2026-11-24T09:00"),
        ("en", "remind me in 2 hours", "PT2H"),
        ("en", "remind me in half an hour", "PT30M"),
        ("en", "remind me on Friday", "2026-11-27"),
        ("ru", "напомни в 17:00", "17:00"),
        ("ru", "в 5 вечера", "17:00"),
        ("ru", "напомни завтра в 9", "2026-11-24T09:00"),
        ("ru", "напомни через 15 минут", "PT15M"),
        ("uz", "soat 17:00 da eslat", "17:00"),
        ("az", "saat 17:00-da xatırlat", "17:00"),
        ("el", "στις 5 το απόγευμα", "17:00"),
        ("vi", "nhắc tôi lúc 5 giờ chiều", "17:00"),
        ("vi", "lúc 17h30", "17:30"),
    ],
)
def test_reminder_times(extractor: EntityExtractor, language: str, text: str, time: str) -> None:
    assert found(extractor, text, language)["time"] == time


def test_offsets_point_at_the_matched_text(extractor: EntityExtractor) -> None:
    text = "Xin nghỉ ốm NGÀY MAI, ticket #4521, 20 A4 papers"
    spans = {e["entity"]: text[e["start"] : e["end"]] for e in extractor.extract(text, language="vi", today=MONDAY)}
    assert spans == {
        "leave_type": "nghỉ ốm",
        "start_date": "NGÀY MAI",
        "ticket_id": "4521",
        "quantity": "20",
        "item": "A4 papers",
    }


def test_every_entity_has_the_contract_fields(extractor: EntityExtractor) -> None:
    for entity in extractor.extract("sick leave 1-5 Dec", language="en", today=MONDAY):
        assert set(entity) == {"entity", "value", "start", "end", "extractor"}


def test_unknown_synonym_values_are_ignored(extractor: EntityExtractor) -> None:
    assert found(extractor, "the blue one", "en") == {}


def test_catalogue_can_be_replaced_at_run_time() -> None:
    extractor = EntityExtractor({}, {}, {})
    extractor.set_catalogue({"Ergonomic chair": ["office chair", "кресло"]})
    assert found(extractor, "do we have an office chair?", "en")["item"] == "Ergonomic chair"
    assert found(extractor, "есть кресла?", "ru")["item"] == "Ergonomic chair"
    assert "item" not in found(extractor, "do we have A4 paper?", "en")


def test_lookups_and_regexes_from_data_are_used() -> None:
    extractor = EntityExtractor({}, {"item": ["Stapler"]}, {"ticket_id": [r"\bINC-(\d+)\b"]})
    assert found(extractor, "a stapler please", "en")["item"] == "Stapler"
    assert found(extractor, "what about INC-77?", "en")["ticket_id"] == "77"


def test_the_extractor_survives_pickling(extractor: EntityExtractor) -> None:
    restored = pickle.loads(pickle.dumps(extractor))
    text = "20 hdmi cabels tomorrow"
    assert restored.extract(text, language="en", today=MONDAY) == extractor.extract(
        text, language="en", today=MONDAY
    )


def test_unknown_language_falls_back_to_english(extractor: EntityExtractor) -> None:
    assert found(extractor, "tomorrow", "fr")["start_date"] == "2026-11-24"

"""Message catalogues are complete in every language, and values are formatted for each language's locale."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from string import Formatter

import pytest
import yaml

from actions import i18n
from actions.i18n import CATALOGUES, LANGUAGES, LOCALES, CatalogueError, Translator, catalogue, placeholders

CATALOGUE_FILES = sorted(CATALOGUES.glob("*.yml"))


def spaced(text: str) -> str:
    """CLDR uses no-break and narrow no-break spaces; compare them as plain spaces."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def file_messages(path: Path) -> dict[str, dict[str, str]]:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


@pytest.mark.parametrize("path", CATALOGUE_FILES, ids=lambda path: path.name)
def test_every_message_has_all_six_languages_and_no_empty_text(path: Path) -> None:
    for key, translations in file_messages(path).items():
        missing = [language for language in LANGUAGES if language not in translations]
        assert not missing, f"{path.name}: {key} lacks {missing}"
        extra = set(translations) - set(LOCALES)  # a second script (uz-Cyrl) may have its own text
        assert not extra, f"{path.name}: {key} has unknown languages {extra}"
        empty = [language for language, text in translations.items() if not str(text or "").strip()]
        assert not empty, f"{path.name}: {key} is empty in {empty}"


@pytest.mark.parametrize("path", CATALOGUE_FILES, ids=lambda path: path.name)
def test_every_language_uses_the_placeholders_of_the_english_text(path: Path) -> None:
    for key, translations in file_messages(path).items():
        english = placeholders(str(translations["en"]))
        for language in LANGUAGES:
            assert placeholders(str(translations[language])) == english, f"{path.name}: {key} [{language}]"


def test_all_catalogues_load_together_without_a_key_defined_twice() -> None:
    loaded = catalogue()
    assert sum(len(file_messages(path)) for path in CATALOGUE_FILES) == len(loaded)
    assert "error.generic" in loaded and "core.not_understood" in loaded


def test_a_key_defined_in_two_files_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a.yml").write_text('x.hello:\n  en: "Hello"\n', encoding="utf-8")
    (tmp_path / "b.yml").write_text('x.hello:\n  en: "Hi"\n', encoding="utf-8")
    monkeypatch.setattr(i18n, "CATALOGUES", tmp_path)
    catalogue.cache_clear()
    try:
        with pytest.raises(CatalogueError, match="defined twice"):
            catalogue()
    finally:
        monkeypatch.undo()
        catalogue.cache_clear()


def test_every_template_renders_in_every_language() -> None:
    for key, translations in catalogue().items():
        params = {name: "X" for name in placeholders(translations["en"])}
        for language in LANGUAGES:
            assert Translator(language)(key, **params).strip(), (key, language)


def test_a_value_with_braces_is_not_read_as_a_template() -> None:
    assert Translator("en")("reminders.fire", what="fix {name} in the {report}") == "⏰ Reminder: fix {name} in the {report}"


def test_unknown_language_falls_back_to_english() -> None:
    translator = Translator("fr")
    assert translator.language == "en"
    assert translator("error.generic") == "Sorry, something went wrong — nothing was changed."


# What a reader notices, checked against the pinned locale data itself rather than literals: a routine CLDR update
# that changes an abbreviation or a space must not fail these, a formatter that ignores the locale must.
@pytest.mark.parametrize("language", LANGUAGES)
def test_dates_follow_the_locale(language: str) -> None:
    translator = Translator(language)
    shown = translator.date(date(2026, 12, 1))
    months = translator.locale.months
    december = {months[context]["abbreviated"][12] for context in ("format", "stand-alone")}
    assert any(name in shown for name in december), (shown, december)
    assert "2026" in shown and "1" in shown.replace("2026", "")
    if language != "en":
        assert shown != Translator("en").date(date(2026, 12, 1))


@pytest.mark.parametrize("language", LANGUAGES)
def test_money_follows_the_locale(language: str) -> None:
    translator = Translator(language)
    symbols = translator.locale.number_symbols["latn"]
    shown = translator.money(Decimal("1234.50"), "EUR")
    assert f"234{symbols['decimal']}50" in shown, shown
    assert "€" in shown
    assert f"1{symbols['group']}234" in shown or "1234" in shown, shown  # some locales don't group four digits


def test_money_keeps_decimal_precision() -> None:
    # 0.1 + 0.2 as floats would print 0.30000000000000004 somewhere; Decimals never drift.
    assert Translator("en").money(Decimal("0.1") + Decimal("0.2"), "USD") == "US$0.30"


def test_numbers_days_and_times_follow_the_locale() -> None:
    assert Translator("en").number(Decimal("1234.5")) == "1,234.5"
    assert spaced(Translator("ru").number(Decimal("1234.5"))) == "1 234,5"
    assert Translator("en").days(Decimal("2.50")) == "2.5"
    assert Translator("ru").days(Decimal("0.5")) == "0,5"
    assert Translator("en").time(datetime(2026, 11, 23, 17, 5)) == "17:05"
    assert spaced(Translator("el").time(datetime(2026, 11, 23, 17, 5))) == "5:05 μ.μ."


def test_template_parameters_are_formatted_for_the_locale() -> None:
    translator = Translator("ru")
    rendered = translator("reminders.ask_time_on_day", day=translator.day_month(date(2026, 11, 27)))
    assert rendered == f"Во сколько {translator.day_month(date(2026, 11, 27))}?"
    assert translator.locale.days["format"]["abbreviated"][4] in rendered  # Friday, in Russian


def test_keywords_match_stems_and_whole_short_words() -> None:
    keywords = i18n.Keywords((("ноутбук",), ("vpn",), ("out", "of", "paper"), ("screen",)))
    assert keywords.count(i18n.words_of("Ноутбука нет, VPN тоже")) == 2  # a long keyword is a stem
    assert keywords.count(i18n.words_of("vpnclient and screens")) == 1  # a short one is a whole word only
    assert keywords.count(i18n.words_of("printer is out of paper")) == 1
    assert keywords.count(i18n.words_of("out of toner, paper jam")) == 0  # a phrase's words in their order
    assert keywords.count(i18n.words_of("screen, screen, screen")) == 1  # phrases are counted once
    assert keywords.count(i18n.words_of("out of")) == 0  # a phrase cut off at the end of the text


def test_keywords_tell_a_single_word_and_combine() -> None:
    common = i18n.Keywords((("please",), ("thank", "you")))
    combined = common | i18n.Keywords((("pls",), ("please",)))
    assert combined.matches("pleased") and combined.matches("pls")
    assert not combined.matches("thank")  # only one-word phrases stand for a word alone
    assert combined.phrases == (("please",), ("thank", "you"), ("pls",))


def test_catalogue_keyword_tables_hold_every_language() -> None:
    table = i18n.keyword_table("stock.keywords.in")
    assert table.count(i18n.words_of("received 20 boxes")) == 2  # "received" and its stem "receive"
    assert table.count(i18n.words_of("пришло 20 коробок")) == 1
    assert table.count(i18n.words_of("đã nhận 20 hộp")) == 2  # "nhận" and "đã nhận"
    assert table.count(i18n.words_of("how many boxes are left")) == 0


# --- Uzbek in Cyrillic, generated from the Latin texts (nlu.normalize.uzbek_to_cyrillic) -----------------------

LATIN_IN_UZBEK_CYRILLIC = re.compile(r"\{[^}]*\}|/link|\b(?:HR|IT|HDMI|hdmi|A4|Telegram|Slack|link)(?![A-Za-z])")
"""What a Cyrillic Uzbek text writes in Latin: placeholders, commands, abbreviations and product names (an Uzbek
suffix after them is Cyrillic: HRга, Telegramда)."""


def uzbek_texts() -> dict[str, tuple[str, str]]:
    return {key: (texts["uz"], texts["uz-Cyrl"]) for key, texts in catalogue().items() if "uz" in texts}


def fields(template: str) -> list[tuple[str, str | None, str | None]]:
    return sorted((name, spec, conversion) for _, name, spec, conversion in Formatter().parse(template) if name)


def test_uzbek_cyrillic_keeps_exactly_the_placeholders_of_the_latin_text() -> None:
    for key, (latin, cyrillic) in uzbek_texts().items():
        assert fields(cyrillic) == fields(latin), key


def test_uzbek_cyrillic_leaves_no_latin_letters_but_placeholders_commands_abbreviations_and_names() -> None:
    # Keyword lists are matched in the six languages and never shown, so their foreign words may stay as typed.
    leftovers = {
        key: found
        for key, (_, cyrillic) in uzbek_texts().items()
        if ".keywords." not in key and (found := re.findall(r"[A-Za-z]+", LATIN_IN_UZBEK_CYRILLIC.sub("", cyrillic)))
    }
    assert leftovers == {}


@pytest.mark.parametrize(
    ("key", "excerpt"),
    [
        ("error.bad_period", '"октябрь учун расчётка"'),  # a month: я and ь the Latin does not write
        ("leave.ask_dates", '"14-декабрь" ёки "14-декабрдан 18-декабргача"'),  # ь dropped before a suffix; digits
        ("smalltalk.help_stock", "«2-хонада нечта hdmi кабель бор»"),  # a loanword, a word after a number
        ("escalations.answer_sent", "HRга юборилди."),  # an abbreviation keeps its letters, the suffix is Uzbek
        ("linking.code_slack", "Slackда менга шахсий хабар очинг ва link {code} деб юборинг — Slack аккаунтингиз"),
        ("core.not_linked", "уни менга шундай юборинг: link КОД"),  # the catalogue's own uz-Cyrl text
    ],
)
def test_uzbek_cyrillic_catalogue_texts_as_reviewed(key: str, excerpt: str) -> None:
    assert excerpt in Translator("uz-Cyrl")(key, **{name: f"{{{name}}}" for name in placeholders(catalogue()[key]["uz"])})

"""Message catalogues (one YAML file per capability in `actions/messages/`, all six languages side by side)
and locale-aware formatting of dates, numbers and money with Babel."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from decimal import Decimal
from functools import cache
from pathlib import Path
from string import Formatter
from typing import Any

import yaml
from babel import Locale
from babel.dates import format_date, format_datetime, format_time
from babel.numbers import format_currency, format_decimal

from nlu.normalize import uzbek_to_cyrillic, words

LANGUAGES = ("en", "ru", "uz", "az", "el", "vi")
FALLBACK = "en"
CATALOGUES = Path(__file__).with_name("messages")
BABEL_LOCALES = {
    "en": "en_GB", "ru": "ru_RU", "uz": "uz_Latn_UZ", "az": "az_Latn_AZ", "el": "el_GR", "vi": "vi_VN",
    "uz-Cyrl": "uz_Cyrl_UZ",
}  # fmt: skip
SCRIPT_LOCALES = {("uz", "Cyrl"): "uz-Cyrl"}
"""Catalogues in a second script: a person who writes Uzbek in Cyrillic is answered in Cyrillic. Generated from the
``uz`` texts by `nlu.normalize.uzbek_to_cyrillic` when a message has no ``uz-Cyrl`` text of its own."""
LOCALES = (*LANGUAGES, *SCRIPT_LOCALES.values())


def locale_for(language: str, script: str | None) -> str:
    """The catalogue to answer in: ``uz`` written in Cyrillic → ``uz-Cyrl``; a locale given as such stays."""
    if language in LOCALES and "-" in language:
        return language
    return SCRIPT_LOCALES.get((language, script or ""), language)


class CatalogueError(Exception):
    pass


@cache
def catalogue() -> dict[str, dict[str, str]]:
    """Every message id → {language: template}, loaded once from all files in `actions/messages/`."""
    messages: dict[str, dict[str, str]] = {}
    for path in sorted(CATALOGUES.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict):
            raise CatalogueError(f"{path.name}: expected a mapping of message ids")
        for key, translations in data.items():
            if key in messages:
                raise CatalogueError(f"{path.name}: message {key!r} is defined twice")
            if not isinstance(translations, dict) or FALLBACK not in translations:
                raise CatalogueError(f"{path.name}: message {key!r} needs at least an {FALLBACK!r} text")
            messages[key] = {str(lang): str(text).rstrip("\n") for lang, text in translations.items()}
            if "uz" in messages[key] and "uz-Cyrl" not in messages[key]:
                messages[key]["uz-Cyrl"] = uzbek_to_cyrillic(messages[key]["uz"])
    return messages


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(template) if name}


@cache
def _locale(language: str) -> Locale:
    # Parsed once: Babel's formatters given a locale name parse it again on every call.
    return Locale.parse(BABEL_LOCALES[language])


class Translator:
    """Renders message ids in one language; values are formatted for that language's locale."""

    def __init__(self, language: str) -> None:
        self.language = language if language in LOCALES else FALLBACK
        self.locale = _locale(self.language)

    def __call__(self, key: str, **params: Any) -> str:
        translations = catalogue().get(key)
        if translations is None:
            raise CatalogueError(f"unknown message {key!r}")
        template = translations.get(self.language) or translations[FALLBACK]
        return template.format_map(_Formatted(self, params))

    def date(self, value: dt.date, style: str = "medium") -> str:
        return format_date(value, format=style, locale=self.locale)

    def day_month(self, value: dt.date) -> str:
        """'1 Dec' style, with the weekday: short enough for lists."""
        return format_date(value, format="EEE d MMM", locale=self.locale)

    def datetime(self, value: dt.datetime, style: str = "medium") -> str:
        return format_datetime(value, format=style, locale=self.locale)

    def time(self, value: dt.datetime) -> str:
        return format_time(value, format="short", locale=self.locale)

    def number(self, value: Decimal | int | float) -> str:
        return format_decimal(value, locale=self.locale)

    def money(self, amount: Decimal, currency: str) -> str:
        return format_currency(amount, currency, locale=self.locale)

    def days(self, value: Decimal) -> str:
        return format_decimal(value.normalize() if isinstance(value, Decimal) else value, locale=self.locale)


class _Formatted(Mapping[str, Any]):
    """Template parameters, with dates and Decimals formatted for the translator's locale."""

    def __init__(self, translator: Translator, params: dict[str, Any]) -> None:
        self.translator = translator
        self.params = params

    def __getitem__(self, key: str) -> Any:
        value = self.params[key]
        if isinstance(value, dt.datetime):
            return self.translator.datetime(value)
        if isinstance(value, dt.date):
            return self.translator.date(value)
        if isinstance(value, Decimal):
            return self.translator.days(value)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self.params)

    def __len__(self) -> int:
        return len(self.params)


# --- word lists kept in the catalogues (keywords per capability, all languages together) ---------------------

def words_of(text: str) -> list[str]:
    """Lower-case, accent-free words; apostrophes and hyphens join ("wi-fi" → "wifi", "o'rnatib" → "ornatib").
    The one normalisation of the NLU (`nlu.normalize.words`), so keywords and the model fold text alike."""
    return words(text, joined=True)


STEM_LENGTH = 4
"""Keywords this long or longer are stems ("ноутбук" matches "ноутбука"); shorter ones ("pc", "vpn", "app") must
match whole words."""


class Keywords:
    """Keyword phrases indexed by their first word, so a message is matched in a few dictionary look-ups."""

    def __init__(self, phrases: tuple[tuple[str, ...], ...]) -> None:
        self.phrases = phrases
        self._by_first: dict[str, list[tuple[str, ...]]] = {}
        for phrase in phrases:
            self._by_first.setdefault(phrase[0], []).append(phrase)

    def __or__(self, other: Keywords) -> Keywords:
        return Keywords(self.phrases + tuple(phrase for phrase in other.phrases if phrase not in self.phrases))

    def count(self, words: list[str]) -> int:
        """How many different phrases occur in the words."""
        found: set[tuple[str, ...]] = set()
        for start, word in enumerate(words):
            for phrase in self._starting_with(word):
                end = start + len(phrase)
                if phrase not in found and end <= len(words) and all(
                    _token_matches(later, token) for later, token in zip(words[start + 1 : end], phrase[1:], strict=True)
                ):
                    found.add(phrase)
        return len(found)

    def matches(self, word: str) -> bool:
        """Whether the word alone is one of the phrases."""
        return any(len(phrase) == 1 for phrase in self._starting_with(word))

    def _starting_with(self, word: str) -> list[tuple[str, ...]]:
        stems = (word[:end] for end in range(STEM_LENGTH, len(word)))
        return [phrase for key in (word, *stems) for phrase in self._by_first.get(key, ())]


def _token_matches(word: str, keyword: str) -> bool:
    return word.startswith(keyword) if len(keyword) >= STEM_LENGTH else word == keyword


@cache
def keyword_table(key: str) -> Keywords:
    """A comma-separated word list from the catalogue, all languages together (people mix languages)."""
    phrases: list[tuple[str, ...]] = []
    for language in LANGUAGES:
        for phrase in catalogue()[key].get(language, "").split(","):
            tokens = tuple(words_of(phrase))
            if tokens and tokens not in phrases:
                phrases.append(tokens)
    return Keywords(tuple(phrases))

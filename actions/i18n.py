"""Message catalogues (one YAML file per capability in `actions/messages/`, all six languages side by side)
and locale-aware formatting of dates, numbers and money with Babel."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from string import Formatter
from typing import Any

import yaml
from babel.dates import format_date, format_datetime, format_time
from babel.numbers import format_currency, format_decimal

LANGUAGES = ("en", "ru", "uz", "az", "el", "vi")
FALLBACK = "en"
CATALOGUES = Path(__file__).with_name("messages")
BABEL_LOCALES = {"en": "en_GB", "ru": "ru_RU", "uz": "uz_Latn_UZ", "az": "az_Latn_AZ", "el": "el_GR", "vi": "vi_VN"}


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
    return messages


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(template) if name}


class Translator:
    """Renders message ids in one language; values are formatted for that language's locale."""

    def __init__(self, language: str) -> None:
        self.language = language if language in LANGUAGES else FALLBACK
        self.locale = BABEL_LOCALES[self.language]

    def __call__(self, key: str, **params: Any) -> str:
        translations = catalogue().get(key)
        if translations is None:
            raise CatalogueError(f"unknown message {key!r}")
        template = translations.get(self.language) or translations[FALLBACK]
        return template.format_map(_Formatted(self, params))

    def date(self, value: date, style: str = "medium") -> str:
        return format_date(value, format=style, locale=self.locale)

    def day_month(self, value: date) -> str:
        """'1 Dec' style, with the weekday: short enough for lists."""
        return format_date(value, format="EEE d MMM", locale=self.locale)

    def datetime(self, value: datetime, style: str = "medium") -> str:
        return format_datetime(value, format=style, locale=self.locale)

    def time(self, value: datetime) -> str:
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
        if isinstance(value, datetime):
            return self.translator.datetime(value)
        if isinstance(value, date):
            return self.translator.date(value)
        if isinstance(value, Decimal):
            return self.translator.days(value)
        return value

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.params)

    def __len__(self) -> int:
        return len(self.params)


# --- word lists kept in the catalogues (keywords per capability, all languages together) ---------------------

_APOSTROPHES = re.compile(r"['‘’ʻʼ`´\-]")


def words_of(text: str) -> list[str]:
    """Lower-case, accent-free words; apostrophes and hyphens join ("wi-fi" → "wifi", "o'rnatib" → "ornatib")."""
    decomposed = unicodedata.normalize("NFKD", _APOSTROPHES.sub("", text.casefold()))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.findall(r"\w+", plain)


def _token_matches(word: str, keyword: str) -> bool:
    # Long keywords are stems ("ноутбук" → "ноутбука"); short ones ("pc", "vpn", "app") must match whole words.
    return word.startswith(keyword) if len(keyword) >= 4 else word == keyword


def count_keywords(words: list[str], keywords: tuple[tuple[str, ...], ...]) -> int:
    hits = 0
    for phrase in keywords:
        size = len(phrase)
        for start in range(len(words) - size + 1):
            if all(_token_matches(words[start + i], phrase[i]) for i in range(size)):
                hits += 1
                break
    return hits


@cache
def keyword_table(key: str) -> tuple[tuple[str, ...], ...]:
    """A comma-separated word list from the catalogue, all languages together (people mix languages)."""
    phrases: list[tuple[str, ...]] = []
    for language in LANGUAGES:
        for phrase in catalogue()[key].get(language, "").split(","):
            tokens = tuple(words_of(phrase))
            if tokens and tokens not in phrases:
                phrases.append(tokens)
    return tuple(phrases)

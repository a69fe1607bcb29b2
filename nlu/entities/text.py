"""Accent- and case-folded views of a message that keep a map back to the original offsets."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

APOSTROPHES = "'ʻʼ’‘`´ʹ′"
DASHES = "-‐‑‒–—―−"

# Letters that do not decompose under NFD but still need a plain form for matching.
_SPECIAL_FOLDS = {
    "ı": "i",
    "ə": "e",
    "đ": "d",
    "ς": "σ",
    "ß": "ss",
    "ł": "l",
    "ø": "o",
}
_SPECIAL_FOLDS.update({mark: "'" for mark in APOSTROPHES})
_SPECIAL_FOLDS.update({dash: "-" for dash in DASHES})


@lru_cache(maxsize=4096)
def fold_char(char: str) -> str:
    """Lower-case `char` and drop its accents (Vietnamese tones, Greek tonos, ё/й breves...)."""
    special = _SPECIAL_FOLDS.get(char)
    if special is not None:
        return special
    lowered = char.lower()
    decomposed = unicodedata.normalize("NFD", lowered)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SPECIAL_FOLDS.get(plain, plain)


def fold(text: str) -> str:
    """The folded form of `text`, for building patterns and keys that are compared with `FoldedText`."""
    return "".join(fold_char(c) for c in text)


@dataclass(frozen=True, slots=True)
class FoldedText:
    """`folded` is the matching form of `original`; `origin[i]` is where folded char i came from."""

    original: str
    folded: str
    origin: tuple[int, ...]

    @classmethod
    def of(cls, text: str) -> FoldedText:
        pieces: list[str] = []
        origin: list[int] = []
        for index, char in enumerate(text):
            folded = fold_char(char)
            pieces.append(folded)
            origin.extend([index] * len(folded))
        return cls(text, "".join(pieces), tuple(origin))

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Map a folded [start, end) span back to the original text."""
        if start >= end:
            position = self.origin[start] if start < len(self.origin) else len(self.original)
            return position, position
        return self.origin[start], self.origin[end - 1] + 1


_TOKEN = re.compile(r"[^\W_]+(?:['][^\W_]+)*")


@dataclass(frozen=True, slots=True)
class Token:
    text: str  # folded
    start: int  # folded offsets
    end: int


def tokenize(folded: str) -> list[Token]:
    """Word tokens of a folded text; apostrophes stay inside words (Uzbek oʻ/gʻ)."""
    return [Token(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(folded)]

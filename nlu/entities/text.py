"""Accent- and case-folded views of a message that keep a map back to the original offsets (the folding itself is
`nlu.normalize.fold`, shared with the classifier and the actions' keyword tables)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from nlu.normalize import APOSTROPHES, DASHES, fold, fold_char

__all__ = ["APOSTROPHES", "DASHES", "FoldedText", "Token", "fold", "fold_char", "tokenize"]


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

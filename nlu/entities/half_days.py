"""The `half_day` entity: "half day", "до обеда" (morning), "buổi chiều" (afternoon) in a leave request."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from nlu.entities.grammar import WORD_END, WORD_START, alternation
from nlu.entities.text import FoldedText
from nlu.entities.vocabulary import WORDS

HALF_DAY_VALUES = ("half", "morning", "afternoon")

# Vietnamese words that fold like a part of the day: "sang" (to go over) is not "sáng" (morning).
_VIETNAMESE_HOMOGRAPHS = {"sang": "sáng"}


@dataclass(frozen=True, slots=True)
class HalfDayMatch:
    value: str  # half | morning | afternoon
    start: int  # folded offsets
    end: int


@cache
def half_day_pattern(language: str) -> re.Pattern[str]:
    words = WORDS[language]
    fragments = {"half": words.half_day_half, "morning": words.half_day_morning, "afternoon": words.half_day_afternoon}
    return re.compile(
        WORD_START
        + "(?:"
        + "|".join(f"(?P<{value}>{alternation(fragments[value])})" for value in HALF_DAY_VALUES)
        + ")"
        + WORD_END
    )


def find_half_days(text: FoldedText, language: str, taken: list[tuple[int, int]]) -> list[HalfDayMatch]:
    """Half-day words outside `taken` (clock times: "remind me in the afternoon" is a time, not a half day)."""
    found = []
    for match in half_day_pattern(language).finditer(text.folded):
        start, end = match.span()
        if any(start < t_end and t_start < end for t_start, t_end in taken):
            continue
        if language == "vi" and _has_homograph(text, start, end):
            continue
        found.append(HalfDayMatch(match.lastgroup or "half", start, end))
    if any(half.value != "half" for half in found):  # "half a day, Friday afternoon": which half is said too
        found = [half for half in found if half.value != "half"]
    return found


def _has_homograph(text: FoldedText, start: int, end: int) -> bool:
    for word in re.finditer(r"\w+", text.folded[start:end]):
        accented = _VIETNAMESE_HOMOGRAPHS.get(word.group())
        if accented is None:
            continue
        original_start, original_end = text.span(start + word.start(), start + word.end())
        if text.original[original_start:original_end].lower() != accented:
            return True
    return False

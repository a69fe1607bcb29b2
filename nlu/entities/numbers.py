"""Ticket and request ids, and stock quantities: numbers identified by the words around them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from nlu.entities.grammar import WORD_END, WORD_START, alternation
from nlu.entities.vocabulary import ENGLISH, WORDS

MAX_QUANTITY = 100_000
TIME_UNITS = (
    r"hours?|hrs?|minutes?|mins?|months?|years?|час\w*|минут\w*|месяц\w*|год\w*|лет|soat\w*|daqiqa\w*|oy\w*|"
    r"yil\w*|saat\w*|dəqiqə\w*|ay\w*|il\w*|ωρ\w*|λεπτ\w*|μην\w*|χρον\w*|giờ|phút|tháng|năm|%"
)


@dataclass(frozen=True, slots=True)
class NumberMatch:
    entity: str
    value: str
    start: int  # folded offsets
    end: int


@dataclass(frozen=True)
class NumberGrammar:
    ticket: re.Pattern[str]
    request: re.Pattern[str]
    hashed: re.Pattern[str]
    before_ticket_word: re.Pattern[str]
    bare_id: re.Pattern[str]
    after_decision: re.Pattern[str]
    number: re.Pattern[str]
    before_item: re.Pattern[str]
    after_item: re.Pattern[str]
    after_movement: re.Pattern[str]
    counter_after: re.Pattern[str]
    unit_after: re.Pattern[str]
    after_place: re.Pattern[str]


@cache
def number_grammar(language: str) -> NumberGrammar:
    words = WORDS[language]
    number_words = alternation(f"{words.number_words}|{ENGLISH.number_words}")
    ticket_words = alternation(f"{words.ticket_words}|{ENGLISH.ticket_words}")
    request_words = alternation(f"{words.request_words}|{ENGLISH.request_words}")
    id_tail = rf"\s*(?:{number_words})?\s*[:#№]?\s*(?P<n>\d{{1,9}})(?!\d|[./:]\d)"
    counters = alternation(words.counters)
    numbered = alternation(r"raqamli|nomerli|nömrəli|nomreli|saylı|номер")
    units = alternation("|".join(w for w in (words.day_unit, words.week_unit, ENGLISH.day_unit, ENGLISH.week_unit) if w))
    return NumberGrammar(
        ticket=re.compile(rf"{WORD_START}(?:{ticket_words}){id_tail}"),
        request=re.compile(rf"{WORD_START}(?:{request_words}){id_tail}"),
        hashed=re.compile(r"(?:#|№)\s*(?P<n>\d{1,9})(?!\d)"),
        bare_id=re.compile(r"(?<![\w.,:/#№-])(?P<n>\d{1,7})(?![\w]|[.,:/]\d)"),
        before_ticket_word=re.compile(
            rf"(?<![\w.,:/])(?P<n>\d{{1,9}})\s*-?\s*(?:(?:{numbered})(?:\s+(?:{ticket_words}))?|(?:{ticket_words}))"
        ),
        after_decision=re.compile(rf"\s*(?:(?:{request_words}|{ticket_words})\s*)?{id_tail}"),
        number=re.compile(r"(?<![\w.,:/#№-])\d{1,6}(?![\w]|[.,:/]\d)"),
        before_item=re.compile(rf"\s*(?:(?:{counters})\.?\s*(?:of\s+)?)?(?:x\s*)?"),
        after_item=re.compile(r"\s*(?:x|×|:|-|—)\s*$"),
        after_movement=re.compile(rf"{WORD_START}(?:{alternation(words.movement_words)})\s+$"),
        counter_after=re.compile(rf"\s*(?:{counters}){WORD_END}"),
        unit_after=re.compile(rf"\s*-?\s*(?:{units}|{alternation(TIME_UNITS)})"),
        after_place=re.compile(rf"{WORD_START}(?:{alternation(f'{words.place_words}|{ENGLISH.place_words}')})\s*[#№]?\s*$"),
    )


def _overlaps(start: int, end: int, taken: list[tuple[int, int]]) -> bool:
    return any(start < t_end and t_start < end for t_start, t_end in taken)


def find_ids(
    folded: str,
    language: str,
    decisions: list[tuple[int, int]],
    statuses: list[tuple[int, int]],
    taken: list[tuple[int, int]],
) -> list[NumberMatch]:
    """Numbers named by a keyword ("ticket 4521", "#42"), or any bare number in a message that approves or
    rejects (`decisions`: request ids) or sets a ticket status (`statuses`: ticket ids)."""
    grammar = number_grammar(language)
    found: list[NumberMatch] = []
    claimed = list(taken)

    def claim(entity: str, match: re.Match[str]) -> None:
        start, end = match.span("n")
        if not _overlaps(start, end, claimed):
            found.append(NumberMatch(entity, match.group("n"), start, end))
            claimed.append((start, end))

    for _, decision_end in decisions:
        match = grammar.after_decision.match(folded, decision_end)
        if match:
            claim("request_id", match)
    for match in grammar.request.finditer(folded):
        claim("request_id", match)
    # "заявка"/"ariza" name leave requests as well as IT tickets: beside approve/reject they are requests.
    keyword_entity = "request_id" if decisions else "ticket_id"
    for pattern in (grammar.ticket, grammar.before_ticket_word, grammar.hashed):
        for match in pattern.finditer(folded):
            claim(keyword_entity, match)
    context_entity = "request_id" if decisions else "ticket_id" if statuses and not found else None
    if context_entity is not None:
        for match in grammar.bare_id.finditer(folded):
            if not grammar.unit_after.match(folded, match.end()) and not grammar.counter_after.match(folded, match.end()):
                claim(context_entity, match)
    return found


def find_quantities(
    folded: str, language: str, items: list[tuple[int, int]], taken: list[tuple[int, int]]
) -> list[NumberMatch]:
    grammar = number_grammar(language)
    found = []
    for match in grammar.number.finditer(folded):
        start, end = match.span()
        if _overlaps(start, end, taken) or int(match.group()) > MAX_QUANTITY:
            continue
        if grammar.unit_after.match(folded, end):
            continue
        if grammar.after_place.search(folded, max(0, start - 30), start) and not grammar.counter_after.match(folded, end):
            continue  # "room 1" is a place; "в кабинет 5 пачек" still counts packs
        if _is_quantity(folded, start, end, items, grammar):
            found.append(NumberMatch("quantity", match.group(), start, end))
    return found


def _is_quantity(folded: str, start: int, end: int, items: list[tuple[int, int]], grammar: NumberGrammar) -> bool:
    for item_start, item_end in items:
        if item_start >= end and grammar.before_item.fullmatch(folded, end, item_start):
            return True
        if item_end <= start and grammar.after_item.match(folded[item_end:start]):
            return True
    if grammar.after_movement.search(folded[max(0, start - 40) : start]):
        return True
    return grammar.counter_after.match(folded, end) is not None

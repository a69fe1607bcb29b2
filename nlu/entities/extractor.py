"""`EntityExtractor`: every entity of the NLU contract from one message, in well under a millisecond."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from functools import cache
from typing import Any

from nlu.entities.dates import DateMatch, DateparserFallback, extract_dates
from nlu.entities.defaults import DEFAULT_CATALOGUE, DEFAULT_SYNONYMS, HEAD_WORD_EXCLUSIONS
from nlu.entities.gazetteer import Gazetteer, PhraseMatch
from nlu.entities.grammar import WORD_END, WORD_START, alternation
from nlu.entities.half_days import find_half_days
from nlu.entities.numbers import find_ids, find_quantities
from nlu.entities.text import FoldedText, fold
from nlu.entities.times import TimeMatch, extract_times, is_reminder
from nlu.entities.vocabulary import WORDS

log = logging.getLogger(__name__)

FALLBACK_LANGUAGE = "en"
GAZETTEER_ENTITIES = ("leave_type", "priority", "decision", "ticket_status", "item")

# Ranks: lower wins when two sources give the same phrase different meanings.
RANK_DATA_SYNONYM = 0
RANK_LOOKUP = 1
RANK_CATALOGUE = 2
RANK_DEFAULT = 3
RANK_HEAD_WORD = 4

Entity = dict[str, Any]


class EntityExtractor:
    def __init__(
        self,
        synonyms: Mapping[str, Mapping[str, str]] | None = None,
        lookups: Mapping[str, Sequence[str]] | None = None,
        regexes: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self._gazetteer = Gazetteer()
        self._catalogue: dict[str, str] = {}  # folded name → canonical name
        self._dateparser = DateparserFallback()
        self._regexes = _compile_regexes(regexes or {})
        self._add_defaults()
        self._load_catalogue({name: () for name in DEFAULT_CATALOGUE})
        self._add_data(synonyms or {}, lookups or {})
        self._gazetteer.finish()

    def set_catalogue(self, items: Mapping[str, Iterable[str]]) -> None:
        """Replace the stock catalogue (canonical name → aliases) used for `item`."""
        self._gazetteer.remove_entity("item", RANK_CATALOGUE)
        self._gazetteer.remove_entity("item", RANK_HEAD_WORD)
        self._load_catalogue(items)
        self._gazetteer.finish()

    def warm_up(self, languages: Iterable[str], today: date) -> None:
        """Load what the first message in each language would otherwise wait for (dateparser's data)."""
        self._dateparser.warm_up({_rules_language(language) for language in languages}, today)

    def extract(self, text: str, *, language: str, today: date) -> list[Entity]:
        language = _rules_language(language)
        folded = FoldedText.of(text)
        entities: list[Entity] = []

        times = extract_times(folded, language)
        taken = [(t.start, t.end) for t in times]
        # before the dates: "buổi chiều mai" is both tomorrow and an afternoon
        half_days = find_half_days(folded, language, taken)
        dates = extract_dates(folded, language, today, taken, self._dateparser)
        taken += [(d.start, d.end) for d in dates]

        phrases = _prefer_specific_leave(self._gazetteer.find(folded, taken))
        phrases = _drop_stock_levels(phrases, folded.folded, language)
        decisions = [(p.start, p.end) for p in phrases if p.entity == "decision"]
        statuses = [(p.start, p.end) for p in phrases if p.entity == "ticket_status"]
        ids = find_ids(folded.folded, language, decisions, statuses, taken)
        phrases = _drop_weak_decisions(phrases, ids, folded.folded)
        taken += [(n.start, n.end) for n in ids]
        items = [(p.start, p.end) for p in phrases if p.entity == "item"]
        quantities = find_quantities(folded.folded, language, items, taken)

        single_day = _single_day(dates)
        reminder_day = None
        if single_day and is_reminder(folded.folded, language):
            # "remind me tomorrow (at 9)": the day belongs to the reminder's time, not to a leave period
            reminder_day = next(d for d in dates if d.entity == "start_date")
            dates = [d for d in dates if d is not reminder_day]
            if not times:
                day = reminder_day
                entities.append(_entity(folded, "time", day.value, day.start, day.end, day.source))
        for found in times:
            value = f"{single_day}T{found.value}" if single_day and not found.from_now else found.value
            start, end = found.start, found.end
            if reminder_day is not None and not found.from_now and _adjacent(folded.folded, reminder_day, found):
                # the span covers every date and time word, so the reminder's own text can leave them out
                start, end = min(start, reminder_day.start), max(end, reminder_day.end)
            entities.append(_entity(folded, "time", value, start, end, "rules"))
        for found_date in dates:
            entities.append(
                _entity(folded, found_date.entity, found_date.value, found_date.start, found_date.end, found_date.source)
            )
        for phrase in phrases:
            entities.append(_entity(folded, phrase.entity, phrase.value, phrase.start, phrase.end, "gazetteer"))
        for half in half_days:
            entities.append(_entity(folded, "half_day", half.value, half.start, half.end, "rules"))
        for number in [*ids, *quantities]:
            entities.append(_entity(folded, number.entity, number.value, number.start, number.end, "rules"))
        entities.extend(self._regex_entities(text, entities))
        entities.sort(key=lambda e: (e["start"], e["end"]))
        return entities

    def _add_defaults(self) -> None:
        for entity, values in DEFAULT_SYNONYMS.items():
            for value, aliases in values.items():
                for alias in aliases:
                    self._gazetteer.add(entity, alias, value, RANK_DEFAULT)

    def _load_catalogue(self, items: Mapping[str, Iterable[str]]) -> None:
        self._catalogue = {fold(name): name for name in items}
        for name, aliases in items.items():
            self._gazetteer.add("item", name, name, RANK_CATALOGUE)
            for alias in aliases:
                self._gazetteer.add("item", alias, name, RANK_CATALOGUE)
        head_words: dict[str, list[str]] = {}
        for name in items:
            words = fold(name).replace("-", " ").split()
            if len(words) > 1 and words[-1] not in HEAD_WORD_EXCLUSIONS:
                head_words.setdefault(words[-1], []).append(name)
        for head, names in head_words.items():
            if len(names) == 1:
                self._gazetteer.add("item", head, names[0], RANK_HEAD_WORD)

    def _add_data(self, synonyms: Mapping[str, Mapping[str, str]], lookups: Mapping[str, Sequence[str]]) -> None:
        known_values = {
            value: entity for entity, values in DEFAULT_SYNONYMS.items() for value in values
        }
        for entity, aliases in synonyms.items():
            for alias, value in aliases.items():
                target = entity or self._guess_entity(value, known_values)
                if target is None:
                    continue
                if target not in GAZETTEER_ENTITIES:
                    # numbers (ids, quantities) come from the rules: an annotated "#42" → 42 would match every 42,
                    # "room 1" would be a quantity; only number words ("ένα" → 1) are worth a phrase
                    if target == "quantity" and not any(c.isdigit() for c in alias):
                        self._gazetteer.add(target, alias, value, RANK_DATA_SYNONYM)
                    continue
                if target == "item":
                    value = self._catalogue.get(fold(value), value)
                self._gazetteer.add(target, alias, value, RANK_DATA_SYNONYM)
                self._gazetteer.add(target, value, value, RANK_DATA_SYNONYM)
        for entity, values in lookups.items():
            if entity not in GAZETTEER_ENTITIES:
                continue
            for alias in values:
                value = self._catalogue.get(fold(alias), alias) if entity == "item" else alias
                self._gazetteer.add(entity, alias, value, RANK_LOOKUP)

    def _guess_entity(self, value: str, known_values: Mapping[str, str]) -> str | None:
        if fold(value) in self._catalogue:
            return "item"
        return known_values.get(value)

    def _regex_entities(self, text: str, found: list[Entity]) -> list[Entity]:
        extra: list[Entity] = []
        for entity, patterns in self._regexes.items():
            for pattern in patterns:
                for match in pattern.finditer(text):
                    group = 1 if match.re.groups else 0
                    start, end = match.span(group)
                    if start == end or any(start < e["end"] and e["start"] < end for e in [*found, *extra]):
                        continue
                    extra.append(
                        {"entity": entity, "value": match.group(group), "start": start, "end": end, "extractor": "regex"}
                    )
        return extra


def _rules_language(language: str) -> str:
    """The language whose entity rules read a message: its own, or the fallback's for one they do not know."""
    return language if language in WORDS else FALLBACK_LANGUAGE


def _compile_regexes(regexes: Mapping[str, Sequence[str]]) -> dict[str, list[re.Pattern[str]]]:
    compiled: dict[str, list[re.Pattern[str]]] = {}
    for entity, patterns in regexes.items():
        for pattern in patterns:
            try:
                compiled.setdefault(entity, []).append(re.compile(pattern, re.IGNORECASE))
            except re.error as error:
                log.warning("Skipping the regex %r for %s: %s", pattern, entity, error)
    return compiled


def _prefer_specific_leave(phrases: list[PhraseMatch]) -> list[PhraseMatch]:
    """"Unpaid leave" also contains the generic "leave"/"отпуск" word: keep only the specific type."""
    leave_values = {p.value for p in phrases if p.entity == "leave_type"}
    if len(leave_values) < 2 or "annual" not in leave_values:
        return phrases
    return [p for p in phrases if not (p.entity == "leave_type" and p.value == "annual")]


# Everyday words that are a decision only beside a request id ("no to 66", "ok 42"): "shows no signal" is not a
# rejection, "bác" is also an uncle, "qəbul" a reception.
WEAK_DECISIONS = frozenset(
    fold(word)
    for word in (
        "no", "ok", "okay", "yes", "allow", "confirm", "οκ", "όχι", "ναι", "bác", "đồng ý", "cho qua", "olmaz",
        "qəbul", "qebul", "qaytar", "rad", "принять", "принимаю", "отказ", "ma'qul", "maqul", "ma‘qul", "imzala",
    )
)  # fmt: skip


def _drop_weak_decisions(phrases: list[PhraseMatch], ids: Sequence[Any], folded: str) -> list[PhraseMatch]:
    if any(number.entity == "request_id" for number in ids):
        return phrases
    return [p for p in phrases if not (p.entity == "decision" and folded[p.start : p.end] in WEAK_DECISIONS)]


_JOINER = re.compile(r"[\s,]*")
STOCK_LEVEL_WINDOW = 25  # characters either side of "low" looked at for stock words


@cache
def _stock_words(language: str) -> re.Pattern[str]:
    words = f"{WORDS[language].stock_words}|{WORDS[FALLBACK_LANGUAGE].stock_words}"
    return re.compile(rf"{WORD_START}(?:{alternation(words)}){WORD_END}")


def _drop_stock_levels(phrases: list[PhraseMatch], folded: str, language: str) -> list[PhraseMatch]:
    """"low stock", "running low", "низкий остаток": a one-word "low" among stock words is a level, not a priority."""
    pattern = _stock_words(language)

    def is_stock_level(phrase: PhraseMatch) -> bool:
        if phrase.entity != "priority" or phrase.value != "low" or " " in folded[phrase.start : phrase.end]:
            return False
        window_start, window_end = max(0, phrase.start - STOCK_LEVEL_WINDOW), phrase.end + STOCK_LEVEL_WINDOW
        around = folded[window_start : phrase.start] + " " + folded[phrase.end : window_end]
        return pattern.search(around) is not None

    return [p for p in phrases if not is_stock_level(p)]


def _adjacent(folded: str, day: DateMatch, time: TimeMatch) -> bool:
    first, second = (day, time) if day.start < time.start else (time, day)
    return _JOINER.fullmatch(folded, first.end, second.start) is not None


def _single_day(dates: list[DateMatch]) -> str | None:
    starts = [d for d in dates if d.entity == "start_date"]
    if len(starts) == 1 and not any(d.entity == "end_date" for d in dates):
        return starts[0].value
    return None


def _entity(folded: FoldedText, entity: str, value: str, start: int, end: int, extractor: str) -> Entity:
    original_start, original_end = folded.span(start, end)
    return {"entity": entity, "value": value, "start": original_start, "end": original_end, "extractor": extractor}

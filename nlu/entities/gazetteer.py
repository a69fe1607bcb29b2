"""Typo- and inflection-tolerant lookup of known phrases (leave types, priorities, stock items...)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import process
from rapidfuzz.distance import OSA

from nlu.entities.text import FoldedText, Token, fold, tokenize
from nlu.normalize import one_apostrophe

MIN_FUZZY_LENGTH = 5  # shorter words have too many one-letter neighbours among ordinary words
# A lone word is corrected only when long: "keybaord" yes, "still" (→ "stilo") or "концерт" (→ "конверт") no.
MIN_LONE_FUZZY_LENGTH = 8
MIN_STEM_LENGTH = 3
MIN_INFLECTED_LENGTH = 4
STRICT_ACCENT_LENGTH = 4  # short accented words (Vietnamese ốm, gấp) must keep their accents
MAX_PHRASE_TOKENS = 5
_CACHE_LIMIT = 20_000

_ENDINGS_BY_SCRIPT: dict[str, tuple[str, ...]] = {
    "cyrillic": tuple(
        fold(e)
        for e in "ями ами ого его ому ему ыми ими ой ей ом ем ам ям ах ях ов ев ую юю ая яя ое ее ые ие ый ий ых их "
        "а я о е ы и у ю ь".split()
    ),
    "greek": ("ους", "ων", "ες", "ας", "ος", "ου", "οι", "ης", "α", "η", "ο", "ι", "ε", "σ"),
    "latin": tuple(
        fold(e)
        for e in "larimiz larini larning lardan larga larda lari lar ning dagi dan gacha ga da ni imiz im ing si "
        "ları ləri lar lər ndan ndən dan dən nın nin nun nün ya yə na nə da də es s a ə ı i u ü".split()
    ),
}
_ENDINGS_BY_SCRIPT = {
    script: tuple(sorted(set(endings), key=len, reverse=True)) for script, endings in _ENDINGS_BY_SCRIPT.items()
}
_HOMOGLYPHS = str.maketrans("авсекмнорту", "abcekmhopty")


def _script(token: str) -> str:
    first = token[0]
    if "\u0400" <= first <= "\u04ff":
        return "cyrillic"
    if "\u0370" <= first <= "\u03ff":
        return "greek"
    return "latin"


def stem(token: str) -> str:
    """Strip one case/plural ending so "бумаги", "papers" and "qog'ozlar" meet "бумага", "paper", "qog'oz"."""
    if any(c.isdigit() for c in token):
        return token
    if token.endswith("ies") and len(token) > 4:
        return token[:-3] + "y"
    for ending in _ENDINGS_BY_SCRIPT[_script(token)]:
        if token.endswith(ending) and len(token) - len(ending) >= MIN_STEM_LENGTH:
            return token[: -len(ending)]
    return token


def normalize_token(folded_token: str) -> str:
    """Digits next to Cyrillic look-alikes ("а4" typed on a Russian keyboard) become Latin ("a4")."""
    if any(c.isdigit() for c in folded_token):
        return folded_token.translate(_HOMOGLYPHS)
    return folded_token


@dataclass(frozen=True, slots=True)
class PhraseMatch:
    entity: str
    value: str
    start: int  # folded offsets
    end: int


@dataclass(frozen=True, slots=True)
class _Entry:
    entity: str
    value: str
    rank: int  # lower wins when two entries share a phrase


ORDERED_WORD_LENGTH = 2
"""A phrase with a word this short matches only in the order its alias writes it."""


class Gazetteer:
    """Phrases indexed once by their (order-free) normalized tokens; matching costs a few dict look-ups."""

    def __init__(self) -> None:
        self._phrases: dict[tuple[str, ...], _Entry] = {}
        # phrase → folded word → how the aliases write it (accents kept)
        self._spellings: dict[tuple[str, ...], dict[str, set[str]]] = {}
        # phrase → its words in the orders its aliases write them (a phrase with a short word keeps its order)
        self._orders: dict[tuple[str, ...], set[tuple[str, ...]]] = {}
        self._vocabulary: set[str] = set()
        self._stems: dict[str, str] = {}
        self._fuzzy_by_initial: dict[str, list[str]] = {}
        self._cache: dict[str, tuple[str | None, bool]] = {}

    def __getstate__(self) -> dict[str, object]:
        return {"phrases": self._phrases, "spellings": self._spellings, "orders": self._orders}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__init__()  # type: ignore[misc]
        self._phrases = state["phrases"]  # type: ignore[assignment]
        self._spellings = state["spellings"]  # type: ignore[assignment]
        self._orders = state.get("orders", {})  # type: ignore[assignment]  # a model saved before: any order
        self.finish()

    def add(self, entity: str, alias: str, value: str, rank: int) -> None:
        for tokens, written in _alias_token_variants(alias):
            key = tuple(sorted(tokens))
            if not key or len(key) > MAX_PHRASE_TOKENS:
                continue
            existing = self._phrases.get(key)
            if existing is None or rank < existing.rank:
                self._phrases[key] = _Entry(entity, value, rank)
            self._orders.setdefault(key, set()).add(tuple(tokens))
            spellings = self._spellings.setdefault(key, {})
            for token, spelling in zip(tokens, written, strict=False):
                spellings.setdefault(token, set()).add(spelling)

    def remove_entity(self, entity: str, rank: int) -> None:
        self._phrases = {k: e for k, e in self._phrases.items() if not (e.entity == entity and e.rank == rank)}
        self._spellings = {k: s for k, s in self._spellings.items() if k in self._phrases}
        self._orders = {k: o for k, o in self._orders.items() if k in self._phrases}

    def finish(self) -> None:
        """Rebuild the derived look-ups after a batch of `add` calls."""
        self._vocabulary = {token for key in self._phrases for token in key}
        self._stems = {}
        self._fuzzy_by_initial = {}
        self._cache = {}
        for token in sorted(self._vocabulary, key=len):
            self._stems.setdefault(stem(token), token)
            if len(token) >= MIN_FUZZY_LENGTH and not any(c.isdigit() for c in token):
                self._fuzzy_by_initial.setdefault(token[0], []).append(token)

    def _known_token(self, token: str) -> tuple[str | None, bool]:
        """The vocabulary word `token` stands for, and whether that took a spelling correction."""
        cached = self._cache.get(token)
        if cached is not None:
            return cached
        found = self._lookup_token(token)
        if len(self._cache) > _CACHE_LIMIT:
            self._cache.clear()
        self._cache[token] = found
        return found

    def _lookup_token(self, token: str) -> tuple[str | None, bool]:
        if token in self._vocabulary:
            return token, False
        if len(token) >= MIN_INFLECTED_LENGTH:
            by_stem = self._stems.get(stem(token))
            if by_stem is not None:
                return by_stem, False
        if len(token) < MIN_FUZZY_LENGTH or any(c.isdigit() for c in token):
            return None, False
        candidates = self._fuzzy_by_initial.get(token[0])
        if not candidates:
            return None, False
        allowed = 1 if len(token) < 11 else 2
        best = process.extractOne(token, candidates, scorer=OSA.distance, score_cutoff=allowed)
        return (best[0], True) if best is not None else (None, False)

    def _accents_agree(
        self, key: tuple[str, ...], tokens: list[Token], known: list[str | None], text: FoldedText
    ) -> bool:
        """Short words keep their accents: Vietnamese "ôm" (hug) is not "ốm" (ill), nor English "gap" "gấp"."""
        spellings = self._spellings.get(key, {})
        for token, word in zip(tokens, known, strict=True):
            if word is None or len(word) > STRICT_ACCENT_LENGTH:
                continue
            start, end = text.span(token.start, token.end)
            written = _light(text.original[start:end])
            alias_spellings = spellings.get(word, set())
            if fold(written) == written:
                if not any(fold(s) == s for s in alias_spellings):
                    return False
            elif written not in alias_spellings:
                return False
        return True

    def _in_order(self, key: tuple[str, ...], words: tuple[str, ...]) -> bool:
        """Words match in any order ("кабель hdmi", "hdmi кабель"), except a phrase with a short word (a preposition,
        an article): "working on" is a status, "policy on working from home" holds none."""
        orders = self._orders.get(key)
        if not orders or all(len(word) > ORDERED_WORD_LENGTH for word in words):
            return True
        return words in orders

    def find(self, text: FoldedText, taken: list[tuple[int, int]]) -> list[PhraseMatch]:
        if not self._phrases:
            return []
        tokens = [t for t in tokenize(text.folded) if not _overlaps(t.start, t.end, taken)]
        known: list[str | None] = []
        corrected: list[bool] = []
        for token in tokens:
            word, fuzzy = self._known_token(normalize_token(token.text))
            known.append(word)
            corrected.append(fuzzy)
        matches = []
        index = 0
        while index < len(tokens):
            found = self._longest_at(index, tokens, known, corrected, text)
            if found is None:
                index += 1
                continue
            length, entry = found
            first, last = tokens[index], tokens[index + length - 1]
            matches.append(PhraseMatch(entry.entity, entry.value, first.start, last.end))
            index += length
        return matches

    def _longest_at(
        self, index: int, tokens: list[Token], known: list[str | None], corrected: list[bool], text: FoldedText
    ) -> tuple[int, _Entry] | None:
        for length in range(min(MAX_PHRASE_TOKENS, len(tokens) - index), 0, -1):
            window = known[index : index + length]
            if any(w is None for w in window):
                continue
            span = tokens[index : index + length]
            if length > 1 and not _adjacent(span):
                continue
            if not _plausible_correction(span, corrected[index : index + length]):
                continue
            words = tuple(w for w in window if w is not None)  # all known: checked above
            key = tuple(sorted(words))
            entry = self._phrases.get(key)
            if entry is not None and self._in_order(key, words) and self._accents_agree(key, span, window, text):
                return length, entry
        return None


def _plausible_correction(span: list[Token], corrected: list[bool]) -> bool:
    """A corrected word needs a correct neighbour in the phrase ("hdmi cabel"), or to be long on its own."""
    if not any(corrected):
        return True
    if len(span) == 1:
        return len(span[0].text) >= MIN_LONE_FUZZY_LENGTH
    return not all(corrected)


def _alias_token_variants(alias: str) -> Iterable[tuple[list[str], list[str]]]:
    """The alias's folded tokens with their written forms; Uzbek oʻ/gʻ also without the apostrophe."""
    tokens = [normalize_token(t.text) for t in tokenize(fold(alias))]
    written = [t.text for t in tokenize(_light(alias))]
    yield tokens, written
    if any("'" in t for t in tokens):
        yield [t.replace("'", "") for t in tokens], [w.replace("'", "") for w in written]


def _adjacent(tokens: list[Token]) -> bool:
    return all(b.start - a.end <= 3 for a, b in zip(tokens, tokens[1:], strict=False))


def _overlaps(start: int, end: int, taken: list[tuple[int, int]]) -> bool:
    return any(start < t_end and t_start < end for t_start, t_end in taken)


def _light(text: str) -> str:
    """Lower case with one apostrophe, accents kept."""
    return one_apostrophe(text.lower())

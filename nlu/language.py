"""Which of the six assistant languages a message is written in: script cues, then character n-gram naive Bayes."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

LANGUAGES = ("en", "ru", "uz", "az", "el", "vi")
NGRAM_SIZES = (1, 2, 3, 4)
SMOOTHING = 0.1
MIN_LETTERS = 4  # a message without a word this long ("ok", "42", "👍", "k thx") says nothing about its language
HINT_MARGIN = 0.3  # mean log-likelihood per n-gram another language must win by to overrule the hint

_APOSTROPHES = re.compile("[ʻʼ’‘`´ʹ′]")
_NOT_LETTERS = re.compile(r"[^\w']+|[\d_]+")
_GREEK = re.compile("[\u0370-\u03ff\u1f00-\u1fff]")
_CYRILLIC = re.compile("[\u0400-\u04ff]")
_UZBEK_CYRILLIC = re.compile("[ўқғҳЎҚҒҲ]")
_VIETNAMESE = re.compile("[ăđơưĂĐƠƯ\u1ea0-\u1ef9]")
_AZERBAIJANI = re.compile("[əƏ]")
_TURKIC_LATIN = re.compile("[ğışçöüĞİŞÇÖÜ]")
_UZBEK_APOSTROPHE = re.compile("[oOgG][ʻ‘]")

_GREEKLISH = str.maketrans(
    {
        "α": "a", "β": "v", "γ": "g", "δ": "d", "ε": "e", "ζ": "z", "η": "i", "θ": "th", "ι": "i", "κ": "k",
        "λ": "l", "μ": "m", "ν": "n", "ξ": "x", "ο": "o", "π": "p", "ρ": "r", "σ": "s", "ς": "s", "τ": "t",
        "υ": "y", "φ": "f", "χ": "x", "ψ": "ps", "ω": "o",
    }
)  # fmt: skip
_AZERBAIJANI_ASCII = str.maketrans({"ə": "e", "ş": "s", "ç": "c", "ğ": "g", "ı": "i", "ö": "o", "ü": "u"})


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("đ", "d")


def _normalize(text: str) -> str:
    return _APOSTROPHES.sub("'", text.lower())


def _ngrams(text: str) -> Iterable[str]:
    for word in _NOT_LETTERS.split(_normalize(text)):
        word = word.strip("'")
        if not word:
            continue
        padded = f" {word} "
        for size in NGRAM_SIZES:
            for start in range(len(padded) - size + 1):
                yield padded[start : start + size]


def _augmented(text: str, language: str) -> list[str]:
    """People type without accents (Vietnamese, Azerbaijani) and write Greek in Latin letters (Greeklish)."""
    lowered = _normalize(text)
    variants = [lowered]
    if language == "vi":
        variants.append(_strip_accents(lowered))
    elif language == "el":
        variants.append(_strip_accents(lowered).translate(_GREEKLISH))
    elif language == "az":
        variants.append(lowered.translate(_AZERBAIJANI_ASCII))
    elif language == "uz":
        variants.append(lowered.replace("'", ""))
    return variants


def _longest_word(text: str) -> int:
    return max((len(word) for word in _NOT_LETTERS.split(text)), default=0)


def script_language(text: str) -> str | None:
    """A language the alphabet alone gives away, if any."""
    if _GREEK.search(text):
        return "el"
    if _CYRILLIC.search(text):
        return "uz" if _UZBEK_CYRILLIC.search(text) else "ru"
    if _VIETNAMESE.search(text):
        return "vi"
    if _AZERBAIJANI.search(text):
        return "az"
    if _UZBEK_APOSTROPHE.search(text):
        return "uz"
    if _TURKIC_LATIN.search(text):
        return "az"
    return None


class LanguageDetector:
    def __init__(self, languages: Sequence[str], ngram_rows: dict[str, int], log_probs: np.ndarray) -> None:
        self.languages = tuple(languages)
        self._rows = ngram_rows
        self._log_probs = log_probs  # one row per n-gram, one column per language

    @classmethod
    def fit(cls, texts: Sequence[str], languages: Sequence[str]) -> LanguageDetector:
        if len(texts) != len(languages):
            raise ValueError("texts and languages must have the same length")
        counts: dict[str, Counter[str]] = {}
        for text, language in zip(texts, languages, strict=True):
            counter = counts.setdefault(language, Counter())
            for variant in _augmented(text, language):
                counter.update(_ngrams(variant))
        trained = tuple(lang for lang in LANGUAGES if lang in counts) + tuple(
            sorted(lang for lang in counts if lang not in LANGUAGES)
        )
        if not trained:
            raise ValueError("no training texts")
        vocabulary = sorted({gram for counter in counts.values() for gram in counter})
        rows = {gram: index for index, gram in enumerate(vocabulary)}
        matrix = np.zeros((len(vocabulary), len(trained)), dtype=np.float64)
        for column, language in enumerate(trained):
            counter = counts[language]
            for gram, count in counter.items():
                matrix[rows[gram], column] = count
        totals = matrix.sum(axis=0) + SMOOTHING * len(vocabulary)
        log_probs = np.log((matrix + SMOOTHING) / totals).astype(np.float32)
        return cls(trained, rows, log_probs)

    def scores(self, text: str) -> tuple[dict[str, float], int]:
        """Mean log-likelihood per known n-gram for each language, and how many n-grams were known."""
        rows = [row for gram in _ngrams(text) if (row := self._rows.get(gram)) is not None]
        if not rows:
            return {lang: 0.0 for lang in self.languages}, 0
        totals = self._log_probs[rows].sum(axis=0) / len(rows)
        return dict(zip(self.languages, (float(t) for t in totals), strict=True)), len(rows)

    def detect(self, text: str, hint: str | None = None) -> str:
        by_script = script_language(text)
        if by_script is not None:
            return by_script
        fallback = hint or "en"
        if _longest_word(text) < MIN_LETTERS:
            return fallback
        scores, known = self.scores(text)
        if known == 0:
            return fallback
        best = max(scores, key=scores.__getitem__)
        if hint is None or hint == best:
            return best
        if hint in scores and scores[best] - scores[hint] < HINT_MARGIN:
            return hint
        return best

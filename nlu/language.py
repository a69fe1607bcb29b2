"""Which of the six assistant languages a message is written in, and in which script: script cues, then character
n-gram naive Bayes over script variants.

People type Russian in Latin letters, Greek in Greeklish and Uzbek in Cyrillic as well as in the usual scripts, so
the naive Bayes is trained on variants as well as languages (``ru-Latn``, ``el-Latn``, ``uz-Cyrl``: the training
data's own examples in those scripts, plus every example transliterated by `nlu.normalize`), and a message is
only compared with the variants of its own script: Cyrillic "ноутбук ишламаяпти" is Russian or Cyrillic Uzbek,
Latin "voz'mu otpusk" one of English, Uzbek, Azerbaijani, Vietnamese, Latin-typed Russian or Greeklish.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from nlu.normalize import DEFAULT_SCRIPT, detection_variants, fold, one_apostrophe, script_of, variant

LANGUAGES = ("en", "ru", "uz", "az", "el", "vi")
NGRAM_SIZES = (1, 2, 3, 4)
SMOOTHING = 0.1
MIN_LETTERS = 4  # a message without a word this long ("ok", "42", "👍", "k thx") says nothing about its language,
MIN_SHORT_WORDS = 4  # unless it has this many words of two letters or more ("mai e ko di lam dc")
HINT_MARGIN = 0.3  # mean log-likelihood per n-gram another language must win by to overrule the hint

_NOT_LETTERS = re.compile(r"[^\w']+|[\d_]+")
_GREEK = re.compile("[\u0370-\u03ff\u1f00-\u1fff]")
_CYRILLIC = re.compile("[\u0400-\u04ff]")
_UZBEK_CYRILLIC = re.compile("[ўқғҳЎҚҒҲ]")
_VIETNAMESE = re.compile("[ăđơưĂĐƠƯ\u1ea0-\u1ef9]")
_AZERBAIJANI = re.compile("[əƏ]")
_TURKIC_LATIN = re.compile("[ğışçöüĞİŞÇÖÜ]")
_UZBEK_APOSTROPHE = re.compile("[oOgG][ʻ‘]")

def _normalize(text: str) -> str:
    return one_apostrophe(text.lower())


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
    if language in ("vi", "az"):
        variants.append(fold(lowered))  # the NLU's folding: tones and accents gone, ə ş ç ğ ı ö ü → e s c g i o u
    elif language == "uz":
        variants.append(lowered.replace("'", ""))
    return variants


def _too_short_to_tell(text: str) -> bool:
    """Vietnamese words are one syllable, often two or three letters typed without tones: several of them tell."""
    lengths = [len(word) for word in _NOT_LETTERS.split(text)]
    return max(lengths, default=0) < MIN_LETTERS and sum(length >= 2 for length in lengths) < MIN_SHORT_WORDS


def script_language(text: str) -> str | None:
    """A language the alphabet alone gives away, if any."""
    if _GREEK.search(text):
        return "el"
    if _CYRILLIC.search(text):
        return "uz" if _UZBEK_CYRILLIC.search(text) else "ru"
    return _latin_cue(text)


def _latin_cue(text: str) -> str | None:
    if _VIETNAMESE.search(text):
        return "vi"
    if _AZERBAIJANI.search(text):
        return "az"
    if _UZBEK_APOSTROPHE.search(text):
        return "uz"
    if _TURKIC_LATIN.search(text):
        return "az"
    return None


def label_script(label: str) -> str:
    """The script of a detector label: ``ru-Latn`` → Latn, ``ru`` → Cyrl (its usual one)."""
    language, _, script = label.partition("-")
    return script or DEFAULT_SCRIPT.get(language, "Latn")


def _label(text: str, language: str) -> str:
    """The variant a training text is: its language, in the script it is written in."""
    script = script_of(text)
    return variant(language, script) if language in DEFAULT_SCRIPT else language


class LanguageDetector:
    def __init__(self, languages: Sequence[str], ngram_rows: dict[str, int], log_probs: np.ndarray) -> None:
        self.languages = tuple(languages)  # variant labels: "ru", "ru-Latn", "uz-Cyrl", ...
        self._rows = ngram_rows
        self._log_probs = log_probs  # one row per n-gram, one column per label

    @classmethod
    def fit(cls, texts: Sequence[str], languages: Sequence[str]) -> LanguageDetector:
        if len(texts) != len(languages):
            raise ValueError("texts and languages must have the same length")
        counts: dict[str, Counter[str]] = {}
        for index, (text, language) in enumerate(zip(texts, languages, strict=True)):
            counter = counts.setdefault(_label(text, language), Counter())
            for augmented in _augmented(text, language):
                counter.update(_ngrams(augmented))
            for transliterated, label in detection_variants(text, language, index):
                counts.setdefault(label, Counter()).update(_ngrams(transliterated))
        order = {language: position for position, language in enumerate(LANGUAGES)}
        trained = tuple(sorted(counts, key=lambda label: (order.get(label.split("-")[0], len(order)), label)))
        if not trained:
            raise ValueError("no training texts")
        vocabulary = sorted({gram for counter in counts.values() for gram in counter})
        rows = {gram: index for index, gram in enumerate(vocabulary)}
        matrix = np.zeros((len(vocabulary), len(trained)), dtype=np.float64)
        for column, label in enumerate(trained):
            for gram, count in counts[label].items():
                matrix[rows[gram], column] = count
        totals = matrix.sum(axis=0) + SMOOTHING * len(vocabulary)
        log_probs = np.log((matrix + SMOOTHING) / totals).astype(np.float32)
        return cls(trained, rows, log_probs)

    def scores(self, text: str) -> tuple[dict[str, float], int]:
        """Mean log-likelihood per known n-gram for each label, and how many n-grams were known."""
        rows = [row for gram in _ngrams(text) if (row := self._rows.get(gram)) is not None]
        if not rows:
            return {label: 0.0 for label in self.languages}, 0
        totals = self._log_probs[rows].sum(axis=0) / len(rows)
        return dict(zip(self.languages, (float(t) for t in totals), strict=True)), len(rows)

    def detect(self, text: str, hint: str | None = None) -> str:
        return self.detect_variant(text, hint)[0]

    def detect_variant(self, text: str, hint: str | None = None) -> tuple[str, str]:
        """(language, script) of ``text``; ``hint`` (a language or a variant such as ``uz-Cyrl``) decides short or
        unclear messages."""
        hint_language, _, hint_script = (hint or "").partition("-")
        script = script_of(text)
        if script is None:
            language = hint_language or "en"
            return language, hint_script or DEFAULT_SCRIPT.get(language, "Latn")
        if script == "Grek":
            return "el", script
        if script == "Cyrl" and _UZBEK_CYRILLIC.search(text):
            return "uz", script
        if script == "Latn" and (cue := _latin_cue(text)) is not None:
            return cue, script
        candidates = [label for label in self.languages if label_script(label) == script]
        fallback = hint_language or {"Cyrl": "ru", "Grek": "el"}.get(script, "en")
        # A message too short to tell ("ok", "42") keeps the conversation's script as well as its language.
        unclear = hint_script if hint_script and fallback == hint_language else script
        if not candidates or _too_short_to_tell(text):
            return fallback, unclear
        scores, known = self.scores(text)
        if known == 0:
            return fallback, unclear
        best = max(candidates, key=scores.__getitem__)
        hinted = [label for label in candidates if label.split("-")[0] == hint_language]
        if hinted and best not in hinted:
            closest = max(hinted, key=scores.__getitem__)
            if scores[best] - scores[closest] < HINT_MARGIN:
                best = closest
        return best.split("-")[0], script

"""One normalisation step for every text the assistant reads, before features, entity rules and keyword tables.

Two layers:

- **Folding** (`fold`, `fold_char`, `words`): lower case, no accents (Vietnamese tones, Greek tonos, ё/й breves),
  one apostrophe for Uzbek's oʻ/o‘/o'/o`/o’ and one dash, and the letters that do not decompose (ə→e, ı→i,
  đ→d, ς→σ, ß→ss). Azerbaijani typed without its letters (ə ı ş ğ ç ö ü → e i s g c o u) and Vietnamese without
  diacritics fold to the same text as when typed with them, so they need nothing more. `words` is the keyword
  view (actions' keyword tables, stock names): the folded words, apostrophes and hyphens joined or split.
  Copies of it used to live in `actions.i18n.words_of`, `storage.stock.normalize`, `actions.recurrence.fold`,
  `nlu.entities.text.fold` and the language detector; they now call this module (the stock search moved from
  storage up into `actions/stock_search.py` for it). Where offsets matter, `nlu.entities.text.FoldedText` folds
  with a map back to the original text.
- **Script conversion** (`Normalizer.normalize(text, language, script)`): a message typed in another script than
  its language's training data is rewritten into that script, with a map back to the original offsets (entity
  spans stay in the person's text):

  - Uzbek Cyrillic → Latin: iuliia's Uzbek table, plus the official rules it leaves out (е is "ye" at the start
    of a word and after a vowel, ц is "ts" after a vowel, ь disappears, ъ is the tutuq belgisi ʼ).
  - Russian typed in Latin letters → Cyrillic: a lexicon of the training data's Russian words, each spelt in
    several common schemes by iuliia (Telegram's, Wikipedia's, Moscow metro's, ICAO's) and keyed by a
    "skeleton" that also absorbs chat habits (w for ш, 4 for ч, j or y or i for й, ' for ь, h or x or kh for х);
    words the lexicon does not know go through a small reverse table (written here: the reverse direction of
    cyrtranslit covers one scheme only and reads "kh" as кх).
  - Greeklish → Greek: the same idea with a skeleton both Greek words and their Latin spellings reduce to
    (η ι υ ει οι → i, ω ο → o, αι ε → e, θ th 8 9, χ x ch h, αυ/ευ as av/af by the next sound, ...), covering
    the phonetic scheme (anyascii's "thelo") and the visual one (cyrtranslit's "thelw", "thn").
  - Vietnamese chat abbreviations (ko, dc, j, mk, e, a, vs, ...) and "t10"-style months become words: no
    maintained package covers Vietnamese chat shorthand.

  Latin words the lexicons do not know but the training data uses elsewhere ("laptop", "HR", "ticket") stay as
  typed: people switch languages inside one message.

Script variants are named as in BCP 47: a language alone is its usual script (``uz`` is Latin, ``ru`` Cyrillic,
``el`` Greek); ``uz-Cyrl``, ``ru-Latn`` and ``el-Latn`` are the others people type.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import anyascii
import cyrtranslit
import iuliia
from iuliia.schema import TranslitSchema

__all__ = [
    "APOSTROPHES",
    "DASHES",
    "DEFAULT_SCRIPT",
    "Normalized",
    "Normalizer",
    "fold",
    "fold_char",
    "greeklish",
    "russian_in_latin",
    "script_of",
    "uzbek_to_cyrillic",
    "one_apostrophe",
    "uzbek_to_latin",
    "variant",
    "words",
]

APOSTROPHES = "'ʻʼ’‘`´ʹ′"
DASHES = "-‐‑‒–—―−"
_ANY_APOSTROPHE = re.compile(f"[{APOSTROPHES}]")


def one_apostrophe(text: str) -> str:
    """Every apostrophe-like mark as ' (Uzbek's oʻ o‘ o' o` are one letter, typed every way)."""
    return _ANY_APOSTROPHE.sub("'", text)

DEFAULT_SCRIPT = {"en": "Latn", "ru": "Cyrl", "uz": "Latn", "az": "Latn", "el": "Grek", "vi": "Latn"}
SCRIPT_VARIANTS = {"uz": ("Latn", "Cyrl"), "ru": ("Cyrl", "Latn"), "el": ("Grek", "Latn")}


def variant(language: str, script: str | None) -> str:
    """``uz`` + ``Cyrl`` → ``uz-Cyrl``; a language in its usual script is the language alone."""
    if script is None or DEFAULT_SCRIPT.get(language, "Latn") == script:
        return language
    return f"{language}-{script}"


# --- folding ---------------------------------------------------------------------------------------------------

# Letters that do not decompose under NFD but still need a plain form for matching.
_SPECIAL_FOLDS = {"ı": "i", "ə": "e", "đ": "d", "ς": "σ", "ß": "ss", "ł": "l", "ø": "o"}
_SPECIAL_FOLDS.update({mark: "'" for mark in APOSTROPHES})
_SPECIAL_FOLDS.update({dash: "-" for dash in DASHES})


@lru_cache(maxsize=4096)
def fold_char(char: str) -> str:
    """Lower-case ``char`` and drop its accents (Vietnamese tones, Greek tonos, ё/й breves...)."""
    special = _SPECIAL_FOLDS.get(char)
    if special is not None:
        return special
    decomposed = unicodedata.normalize("NFD", char.lower())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SPECIAL_FOLDS.get(plain, plain)


def fold(text: str) -> str:
    """The folded form of ``text``: what every matching in the assistant compares."""
    return "".join(fold_char(c) for c in text)


_JOINERS = re.compile("['-]")
_WORD = re.compile(r"\w+")


def words(text: str, *, joined: bool = True) -> list[str]:
    """Folded words. ``joined``: apostrophes and hyphens join ("wi-fi" → "wifi", "o'rnatib" → "ornatib"), for
    keyword tables; otherwise they split ("USB-C" → "usb", "c"), for stock names."""
    folded = fold(unicodedata.normalize("NFKC", text))
    return _WORD.findall(_JOINERS.sub("" if joined else " ", folded))


# --- scripts ---------------------------------------------------------------------------------------------------


def _script_of_char(char: str) -> str | None:
    if not char.isalpha():
        return None
    code = ord(char)
    if 0x0400 <= code <= 0x04FF:
        return "Cyrl"
    if 0x0370 <= code <= 0x03FF or 0x1F00 <= code <= 0x1FFF:
        return "Grek"
    if code < 0x0250 or 0x1E00 <= code <= 0x1EFF:
        return "Latn"
    return None


def script_of(text: str) -> str | None:
    """The script most letters of ``text`` are in (Latn, Cyrl or Grek), or None without letters. Cyrillic and Greek
    letters count double: a Russian sentence quoting an English error message is still Russian."""
    counts = Counter(script for char in text if (script := _script_of_char(char)) is not None)
    for script in ("Cyrl", "Grek"):
        counts[script] *= 2
    return counts.most_common(1)[0][0] if counts and counts.most_common(1)[0][1] else None


# --- offsets ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Normalized:
    """``text`` is ``original`` rewritten; ``origin[i]`` is the original offset text[i] came from."""

    original: str
    text: str
    origin: tuple[int, ...]

    @classmethod
    def unchanged(cls, text: str) -> Normalized:
        return cls(text, text, tuple(range(len(text))))

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Map a [start, end) span of ``text`` back to ``original``."""
        if start >= end:
            position = self.origin[start] if start < len(self.origin) else len(self.original)
            return position, position
        return self.origin[start], self.origin[end - 1] + 1


class _Builder:
    def __init__(self, original: str) -> None:
        self.original = original
        self.pieces: list[str] = []
        self.origin: list[int] = []

    def keep(self, start: int, end: int) -> None:
        self.pieces.append(self.original[start:end])
        self.origin.extend(range(start, end))

    def replace(self, start: int, end: int, text: str) -> None:
        """``original[start:end]`` becomes ``text``; its characters map proportionally, the last onto the last."""
        self.pieces.append(text)
        length, width = len(text), end - start
        self.origin.extend(start + min(i * width // max(length, 1), width - 1) for i in range(length))
        if length:
            self.origin[-1] = end - 1

    def build(self) -> Normalized:
        return Normalized(self.original, "".join(self.pieces), tuple(self.origin))


_TOKEN = re.compile(r"[^\W_]+(?:['’ʼʻ‘`][^\W_]+)*['’ʼ]?")


# --- Uzbek -----------------------------------------------------------------------------------------------------

_UZ_VOWELS_CYRILLIC = "аеёиоуэюяў"
_IULIIA_UZBEK = json.loads((Path(iuliia.__file__).parent / "schemas" / "uz.json").read_text(encoding="utf-8"))
_UZBEK_OFFICIAL = TranslitSchema(
    name="uz-official",
    mapping={**_IULIIA_UZBEK["mapping"], "ь": "", "ъ": "ʼ"},
    prev_mapping={
        "е": "ye",  # at the start of a word
        **{f"{vowel}е": "ye" for vowel in _UZ_VOWELS_CYRILLIC + "ъь"},
        **{f"{vowel}ц": "ts" for vowel in _UZ_VOWELS_CYRILLIC},
    },
    description="Uzbek Cyrillic to Latin, the 1995 official alphabet (e → ye initially and after vowels)",
)


def uzbek_to_latin(text: str) -> str:
    """Uzbek Cyrillic in the official Latin alphabet (oʻ and gʻ with U+02BB, the tutuq belgisi as U+02BC)."""
    return str(_UZBEK_OFFICIAL.translate(text))


_UZ_APOSTROPHE = "'ʻʼ’‘`´"
_UZ_LATIN_DIGRAPHS = (("sh", "ш"), ("ch", "ч"), ("yo", "ё"), ("yu", "ю"), ("ya", "я"), ("ye", "е"))
_UZ_LATIN_LETTERS = dict(zip("abdefghijklmnopqrstuvxyz", "абдефгҳижклмнопқрстувхйз", strict=True))
_UZ_VOWELS_LATIN = "aeiou"
_UZ_LOANWORDS = {
    "yanvar": "январь", "fevral": "февраль", "aprel": "апрель", "iyun": "июнь", "iyul": "июль",
    "sentabr": "сентябрь", "oktabr": "октябрь", "noyabr": "ноябрь", "dekabr": "декабрь",
    "kabel": "кабель", "tabel": "табель", "parol": "пароль", "kompyuter": "компьютер", "obyekt": "объект",
    "tsex": "цех", "aksiya": "акция", "funksiya": "функция", "stansiya": "станция", "litsenziya": "лицензия",
}  # fmt: skip
"""Russian loanwords whose Cyrillic the Latin spelling does not tell (я ё ю ь ъ ц); matched as a word's stem."""
_UZ_KEPT_LATIN = ("telegram", "slack", "link", "hdmi")
_UZ_SUFFIX_STARTS = ("", "d", "g", "k", "q", "n", "l", "s", "i", "t", *_UZ_APOSTROPHE)
"""What may follow a kept stem: the end, an apostrophe or the first letter of a suffix (-da, -ga, -ni, -lar, -ingiz…),
so Telegramda keeps its stem and Linkedin is a word of its own."""
"""Stems written in Latin in Uzbek Cyrillic too: product names (as ``{platform}`` shows them) and ``link``, the
command word the assistant reads only in Latin (bot/linking.py)."""
_UZ_ABBREVIATION = r"\b(?!(?:SH|CH|Y[OUAE]|[OG][ʻʼ’‘'`])[a-z])[A-Z0-9][A-Z0-9-]{0,3}[A-Z0-9](?![A-Zʻʼ’‘'`])"
"""Capitals that are an abbreviation (HR, USB-C; a suffix may follow: HRga): five characters at most, not an Uzbek
digraph capitalised before lower case (SHanba), not part of a word in capitals (OʻZBEKISTON is converted whole)."""
_PROTECTED = re.compile(
    rf"\{{[^}}]*\}}|https?://\S+|(?<![\w/])/[a-z_]+|`[^`]*`|<[^>]*>|{_UZ_ABBREVIATION}|\b[A-Za-z]+\d\w*"
)


def _uzbek_word_to_cyrillic(word: str) -> str:
    lower = word.lower()
    kept = next((stem for stem in _UZ_KEPT_LATIN if lower.startswith(stem) and lower[len(stem) : len(stem) + 1] in _UZ_SUFFIX_STARTS), None)
    if kept is None and _FOREIGN_LETTERS.search(lower):
        return word
    loanword = next((stem for stem in _UZ_LOANWORDS if lower.startswith(stem)), None)
    if kept is not None:
        latin = len(kept) + (lower[len(kept) : len(kept) + 1] in tuple(_UZ_APOSTROPHE))  # Telegram’ga keeps its ’
        converted = word[:latin] + _uzbek_letters_to_cyrillic(lower, latin)
    elif loanword is not None:
        suffix = _uzbek_letters_to_cyrillic(lower, len(loanword))
        converted = (_UZ_LOANWORDS[loanword].removesuffix("ь") if suffix else _UZ_LOANWORDS[loanword]) + suffix
    else:
        converted = _uzbek_letters_to_cyrillic(lower, 0)
    if word[:1].isupper():
        converted = converted.upper() if word.isupper() and len(word) > 1 else converted[:1].upper() + converted[1:]
    return converted


def _uzbek_letters_to_cyrillic(lower: str, start: int) -> str:
    out: list[str] = []
    i = start
    while i < len(lower):
        char = lower[i]
        following = lower[i + 1] if i + 1 < len(lower) else ""
        if char in "og" and following and following in _UZ_APOSTROPHE:
            out.append("ў" if char == "o" else "ғ")
            i += 2
            continue
        if char in _UZ_APOSTROPHE:
            separates_s_h = lower[i - 1 : i] == "s" and following == "h"  # isʼhoq: сҳ, not ш
            out.append("ъ" if out and not separates_s_h else "")
            i += 1
            continue
        pair = lower[i : i + 2]
        if char == "y" and lower[i + 1 : i + 3] in {f"o{a}" for a in _UZ_APOSTROPHE}:
            out.append("й")  # yoʻl → йўл, not ёл
            i += 1
            continue
        digraph = next((cyrillic for latin, cyrillic in _UZ_LATIN_DIGRAPHS if pair == latin), None)
        if digraph is not None:
            out.append(digraph)
            i += 2
            continue
        if char == "e":
            out.append("э" if i == 0 or lower[i - 1] in _UZ_VOWELS_LATIN else "е")
        else:
            out.append(_UZ_LATIN_LETTERS.get(char, char))
        i += 1
    return "".join(out)


def uzbek_to_cyrillic(text: str) -> str:
    """Uzbek Latin in Cyrillic (for the ``uz-Cyrl`` message catalogue and for training the language detector).

    No maintained package converts this way. The rules, the 1995 correspondence read backwards where it is one to
    one: sh ch yo yu ya ye oʻ gʻ are one letter each (yoʻ is йў); q h x are қ ҳ х; the tutuq belgisi is ъ, except
    the apostrophe of sʼh, which only keeps s and h from reading as ш (isʼhoq → исҳоқ). e is э at the start of a
    word and after a vowel (Cyrillic е there is written "ye", so a plain e can only be э: poeziya → поэзия).

    Where Latin drops what Cyrillic writes, no rule can know: ts is ц in litsenziya but t+s in oʻtsin, ya is я after
    a consonant in zaryad but ья in kompyuter. Those loanwords are a short list (`_UZ_LOANWORDS`: the months, the
    catalogues' words), matched as a stem so suffixes follow; a final ь is dropped before a suffix, as laws and the
    press write it (декабрь, декабрдан).

    Left as typed: placeholders (``{name}``), commands (``/lang``), links, code, abbreviations in capitals (an Uzbek
    suffix after them is converted: HRga → HRга), codes with digits after letters (A4, mp3; digits are no letters,
    so 14-dekabr and 2-xonada are converted around them), product names and the ``link`` command
    (`_UZ_KEPT_LATIN`, again with a converted suffix: Telegramda → Telegramда), and any other word with w or a c
    outside ch, letters Uzbek does not have (wifi, excel): such a word is a foreign one, not Uzbek.
    """
    out: list[str] = []
    position = 0
    for protected in _PROTECTED.finditer(text):
        out.append(_LATIN_WORD.sub(lambda m: _uzbek_word_to_cyrillic(m.group()), text[position : protected.start()]))
        out.append(protected.group())
        position = protected.end()
    out.append(_LATIN_WORD.sub(lambda m: _uzbek_word_to_cyrillic(m.group()), text[position:]))
    return "".join(out)


_LATIN_WORD = re.compile(r"[A-Za-z](?:[A-Za-z]|['ʻʼ’‘`](?=[A-Za-z]))*")
_FOREIGN_LETTERS = re.compile(r"w|c(?!h)")


# --- Russian in Latin letters ------------------------------------------------------------------------------------

_RUSSIAN_SCHEMES = (iuliia.TELEGRAM, iuliia.WIKIPEDIA, iuliia.MOSMETRO, iuliia.ICAO_DOC_9303, iuliia.YANDEX_MAPS)


def russian_in_latin(text: str, scheme: int = 0) -> str:
    """Russian text spelt in Latin letters the way people type it: iuliia's schemes, the last one with ' for ь."""
    if scheme == len(_RUSSIAN_SCHEMES):
        return str(iuliia.WIKIPEDIA.translate(text.replace("ь", "ъ"))).replace("ʺ", "'").replace('"', "'")
    return str(_RUSSIAN_SCHEMES[scheme % len(_RUSSIAN_SCHEMES)].translate(text))


RUSSIAN_SCHEME_COUNT = len(_RUSSIAN_SCHEMES) + 1

_RU_SKELETON_STEPS = (
    (re.compile(r"shch|sch|shh"), "S"),
    (re.compile(r"zh"), "Z"),
    (re.compile(r"kh"), "H"),
    (re.compile(r"ch|4"), "C"),
    (re.compile(r"sh|w|6"), "S"),
    (re.compile(r"ts|tc|tz|c"), "Q"),
    (re.compile(r"[xh]"), "H"),
    (re.compile(r"[jy]"), "i"),
    (re.compile(r"ii+"), "i"),
    (re.compile(r"(^|[aeiou])i(?=e)"), r"\1"),  # word-initial and post-vowel е: "yest", "moye"
    (re.compile(r"(?<=[^aeiou])io"), "e"),  # ё after a consonant: "schyot", "schet"
)


@lru_cache(maxsize=1 << 14)
def russian_skeleton(latin_word: str) -> str:
    """What the usual spellings of one Russian word in Latin letters have in common."""
    key = re.sub("['’ʹʺʼ`\"]", "", fold(latin_word))
    for pattern, replacement in _RU_SKELETON_STEPS:
        key = pattern.sub(replacement, key)
    return key


_RU_REVERSE = (
    ("shch", "щ"), ("sch", "щ"), ("zh", "ж"), ("kh", "х"), ("ch", "ч"), ("sh", "ш"), ("ts", "ц"), ("tc", "ц"),
    ("ya", "я"), ("ja", "я"), ("ia", "я"), ("yu", "ю"), ("ju", "ю"), ("iu", "ю"), ("yo", "ё"), ("jo", "ё"),
    ("ye", "е"), ("je", "е"), ("iy", "ий"), ("yy", "ый"), ("a", "а"), ("b", "б"), ("v", "в"), ("g", "г"),
    ("d", "д"), ("e", "е"), ("z", "з"), ("i", "и"), ("j", "й"), ("k", "к"), ("l", "л"), ("m", "м"), ("n", "н"),
    ("o", "о"), ("p", "п"), ("r", "р"), ("s", "с"), ("t", "т"), ("u", "у"), ("f", "ф"), ("h", "х"), ("x", "х"),
    ("c", "ц"), ("w", "ш"), ("4", "ч"), ("q", "к"), ("'", "ь"),
)  # fmt: skip
_RU_REVERSE_PATTERN = re.compile("|".join(re.escape(latin) for latin, _ in _RU_REVERSE))
_RU_REVERSE_MAP = dict(_RU_REVERSE)


def _russian_rules(latin_word: str) -> str:
    """A Latin-typed Russian word the lexicon does not know, letter by letter."""
    folded = re.sub("['’ʹʺʼ`]", "'", fold(latin_word))
    converted = _RU_REVERSE_PATTERN.sub(lambda m: _RU_REVERSE_MAP[m.group()], folded)
    converted = re.sub(r"(?<=[аеиоуыэюя])и(?=[^аеиоуыэюя]|$)", "й", converted)  # "rabotaiu", "moi" → й
    return "э" + converted[1:] if converted.startswith("е") else converted  # есть, если, ещё are in the lexicon


# --- Greek in Latin letters --------------------------------------------------------------------------------------

_VOICELESS = frozenset({"8", "k", "p", "s", "t", "f", "x", "3", "4"})
_GREEK_PAIRS = {
    "ου": "u", "ει": "i", "οι": "i", "υι": "i", "αι": "e", "μπ": "b", "ντ": "d", "γγ": "g", "γκ": "g",
    "τσ": "ts", "τζ": "tz", "αυ": "aV", "ευ": "eV", "ηυ": "iV",
}  # fmt: skip
_GREEK_LETTERS = dict(zip("αβγδεζηθικλμνξοπρστυφχψω", "abgdezi8iklmn3oprstifx4o", strict=True))
_LATIN_PAIRS = {
    "th": "8", "ch": "x", "kh": "x", "ps": "4", "ks": "3", "ou": "u", "oy": "u", "ei": "i", "oi": "i", "yi": "i",
    "ai": "e", "mp": "b", "nt": "d", "gk": "g", "gg": "g", "ph": "f", "dh": "d", "au": "aV", "ay": "aV",
    "eu": "eV", "ey": "eV",
}  # fmt: skip
_LATIN_LETTERS = {
    "a": "a", "b": "b", "v": "b", "g": "g", "d": "d", "e": "e", "z": "z", "i": "i", "y": "i", "8": "8", "9": "8",
    "k": "k", "c": "k", "l": "l", "m": "m", "n": "n", "x": "x", "3": "3", "o": "o", "w": "o", "p": "p", "r": "r",
    "s": "s", "t": "t", "f": "f", "u": "u", "j": "z", "q": "k",
}  # fmt: skip


def _resolve_v(symbols: list[str]) -> str:
    """αυ/ευ sound "v" before a voiced sound and "f" before a voiceless one (αύριο avrio, αυτό afto)."""
    out = []
    for index, symbol in enumerate(symbols):
        if symbol.endswith("V"):
            following = symbols[index + 1][:1] if index + 1 < len(symbols) else ""
            symbol = symbol[:-1] + ("f" if following in _VOICELESS else "b")
        out.append(symbol)
    return re.sub(r"(.)\1+", r"\1", "".join(out))


def _symbols(word: str, pairs: Mapping[str, str], letters: Mapping[str, str], h: str | None = None) -> list[str]:
    symbols: list[str] = []
    i = 0
    while i < len(word):
        pair = word[i : i + 2]
        if pair in pairs and not (h == "t" and pair == "th"):
            symbols.append(pairs[pair])
            i += 2
            continue
        char = word[i]
        if char == "h":
            symbols.append("i" if h in (None, "i", "t") else "x")
        else:
            symbols.append(letters.get(char, char))
        i += 1
    return symbols


@lru_cache(maxsize=1 << 14)
def greek_skeleton(greek_word: str) -> str:
    """What a Greek word and its Greeklish spellings have in common."""
    folded = fold(greek_word).replace("ς", "σ")
    return _resolve_v(_symbols(folded, _GREEK_PAIRS, _GREEK_LETTERS))


@lru_cache(maxsize=1 << 14)
def greeklish_skeletons(latin_word: str) -> tuple[str, ...]:
    """The skeletons a Greeklish word may stand for: "h" is η (kalhmera) or χ (efharisto), "th" θ or τη (thn)."""
    folded = re.sub("['’`]", "", fold(latin_word))
    readings = ("i", "x", "t") if "h" in folded else ("i",)
    found: list[str] = []
    for reading in readings:
        skeleton = _resolve_v(_symbols(folded, _LATIN_PAIRS, _LATIN_LETTERS, reading))
        if skeleton not in found:
            found.append(skeleton)
    return tuple(found)


_GREEK_REVERSE = (
    ("th", "θ"), ("ch", "χ"), ("kh", "χ"), ("ps", "ψ"), ("ks", "ξ"), ("ou", "ου"), ("ei", "ει"), ("oi", "οι"),
    ("ai", "αι"), ("mp", "μπ"), ("nt", "ντ"), ("ph", "φ"), ("au", "αυ"), ("eu", "ευ"), ("a", "α"), ("b", "β"),
    ("v", "β"), ("g", "γ"), ("d", "δ"), ("e", "ε"), ("z", "ζ"), ("h", "η"), ("i", "ι"), ("8", "θ"), ("9", "θ"),
    ("k", "κ"), ("c", "κ"), ("l", "λ"), ("m", "μ"), ("n", "ν"), ("x", "χ"), ("3", "ξ"), ("o", "ο"), ("p", "π"),
    ("r", "ρ"), ("s", "σ"), ("t", "τ"), ("y", "υ"), ("f", "φ"), ("w", "ω"), ("u", "ου"), ("j", "τζ"), ("q", "κ"),
)  # fmt: skip
_GREEK_REVERSE_PATTERN = re.compile("|".join(re.escape(latin) for latin, _ in _GREEK_REVERSE))
_GREEK_REVERSE_MAP = dict(_GREEK_REVERSE)


def _greek_rules(latin_word: str) -> str:
    converted = _GREEK_REVERSE_PATTERN.sub(lambda m: _GREEK_REVERSE_MAP[m.group()], fold(latin_word))
    return converted[:-1] + "ς" if converted.endswith("σ") else converted


def greeklish(text: str, scheme: int = 0) -> str:
    """Greek text in Latin letters as people type it: anyascii's phonetic spelling (θέλω → thelo) or cyrtranslit's
    visual one (θέλω → thelw, την → thn)."""
    if scheme % 2 == 0:
        return str(anyascii.anyascii(text))
    return str(cyrtranslit.to_latin(text, "el"))


# --- Vietnamese chat shorthand -----------------------------------------------------------------------------------

VIETNAMESE_SHORTHAND = {
    "ko": "không", "k": "không", "kh": "không", "kg": "không", "hok": "không", "hem": "không", "khg": "không",
    "dc": "được", "đc": "được", "dk": "được", "đk": "được", "j": "gì", "gj": "gì", "mk": "mình", "mik": "mình",
    "mn": "mọi người", "e": "em", "a": "anh", "c": "chị", "vs": "với", "ns": "nói", "bt": "biết", "r": "rồi",
    "ng": "người", "nv": "nhân viên", "cty": "công ty", "b": "bạn", "bn": "bao nhiêu", "bh": "bao giờ",
    "cx": "cũng", "nx": "nữa", "trc": "trước", "ms": "mới", "lm": "làm", "ntn": "như thế nào", "tks": "cảm ơn",
    "thx": "cảm ơn", "xl": "xin lỗi", "vp": "văn phòng", "h": "giờ", "t": "tôi", "hnay": "hôm nay",
    "hqua": "hôm qua", "nghỉ": "nghỉ", "nhé": "nhé", "oy": "rồi", "z": "vậy", "v": "vậy", "lun": "luôn",
    "pik": "biết", "bik": "biết", "hk": "không", "đt": "điện thoại", "dt": "điện thoại", "mt": "máy tính",
    "ib": "nhắn tin", "sếp": "sếp", "ok": "ok",
}  # fmt: skip
_VIETNAMESE_MONTH = re.compile(r"t(1[0-2]|[1-9])(?![\w/.-]|[.]\d)", re.IGNORECASE)
_VIETNAMESE_PAY = re.compile(r"(?:luong|bang luong|phieu luong|thang)\s*$")


# --- the normaliser ----------------------------------------------------------------------------------------------

# Date words a message may carry even when no training example spells them (every case of every month).
_RUSSIAN_DATE_WORDS = (
    "январь января январе февраль февраля феврале март марта марте апрель апреля апреле май мая мае июнь июня июне "
    "июль июля июле август августа августе сентябрь сентября сентябре октябрь октября октябре ноябрь ноября ноябре "
    "декабрь декабря декабре понедельник вторник среда среду четверг пятница пятницу суббота субботу воскресенье "
    "завтра послезавтра сегодня вчера с по до следующей следующий неделе неделю прошлой прошлый месяц за через дня "
    "дней день"
).split()
_GREEK_DATE_WORDS = (
    "ιανουαρίου φεβρουαρίου μαρτίου απριλίου μαΐου ιουνίου ιουλίου αυγούστου σεπτεμβρίου οκτωβρίου νοεμβρίου "
    "δεκεμβρίου ιανουάριος φεβρουάριος μάρτιος απρίλιος μάιος ιούνιος ιούλιος αύγουστος σεπτέμβριος οκτώβριος "
    "νοέμβριος δεκέμβριος δευτέρα τρίτη τετάρτη πέμπτη παρασκευή σάββατο κυριακή αύριο σήμερα χθες μεθαύριο "
    "από έως μέχρι ως την τη τις στις επόμενη επόμενο εβδομάδα μήνα μήνας προηγούμενου προηγούμενο προηγούμενη "
    "περασμένου περασμένο περασμένη μεθεπόμενη"
).split()


class Normalizer:
    """Rewrites a message into its language's usual script (see the module docstring); fitted on training data,
    whose words make the lexicons for Latin-typed Russian and Greeklish."""

    def __init__(self, russian: dict[str, str], greek: dict[str, str], latin_words: frozenset[str]) -> None:
        self.russian = russian  # skeleton → Cyrillic word
        self.greek = greek  # skeleton → Greek word
        self.latin_words = latin_words  # folded words of the Latin-script training data

    @classmethod
    def fit(cls, examples: Iterable[tuple[str, str]]) -> Normalizer:
        """``examples``: (text, language) pairs of the training data."""
        russian_counts: Counter[str] = Counter(_RUSSIAN_DATE_WORDS)
        greek_counts: Counter[str] = Counter(_GREEK_DATE_WORDS)
        latin: set[str] = set()
        for text, language in examples:
            for match in _TOKEN.finditer(text.lower()):
                word = match.group()
                script = _script_of_char(word[0])
                if script == "Cyrl" and language == "ru":
                    russian_counts[word.replace("ё", "е")] += 1
                elif script == "Grek" and language == "el":
                    greek_counts[word] += 1
                elif script == "Latn" and language not in ("ru", "el"):
                    latin.add(fold(word))
        russian: dict[str, str] = {}
        for word, _ in russian_counts.most_common():
            for scheme in range(RUSSIAN_SCHEME_COUNT):
                russian.setdefault(russian_skeleton(russian_in_latin(word, scheme)), word)
        greek: dict[str, str] = {}
        for word, _ in greek_counts.most_common():
            greek.setdefault(greek_skeleton(word), word)
        return cls(russian, greek, frozenset(latin))

    def normalize(self, text: str, language: str, script: str | None = None) -> Normalized:
        """``text`` in ``language``'s usual script (``script`` is the one it was typed in; None: look)."""
        script = script or script_of(text)
        if language == "uz" and script == "Cyrl":
            return self._words(text, "Cyrl", uzbek_to_latin)
        if language == "ru" and script == "Latn":
            return self._words(text, "Latn", self._russian_word)
        if language == "el" and script == "Latn":
            return self._words(text, "Latn", self._greek_word)
        if language == "vi":
            return self._vietnamese(text)
        return Normalized.unchanged(text)

    def recognises(self, text: str, language: str) -> bool:
        """Whether most Latin words of ``text`` are known Russian (``ru``) or Greek (``el``) words: "blorp fnarg"
        looks like no language, and Latin-typed Russian must be Russian words."""
        lexicon = self.russian if language == "ru" else self.greek
        latin = [m.group() for m in _TOKEN.finditer(text) if _script_of_char(m.group()[0]) == "Latn"]
        if not latin or not lexicon:
            return False
        if language == "ru":
            known = sum(russian_skeleton(word) in lexicon for word in latin)
        else:
            known = sum(any(key in lexicon for key in greeklish_skeletons(word)) for word in latin)
        return known * 2 >= len(latin)

    def _words(self, text: str, script: str, convert: Callable[[str], str]) -> Normalized:
        builder = _Builder(text)
        position = 0
        for match in _TOKEN.finditer(text):
            word = match.group()
            if _script_of_char(word[0]) != script or word.isdigit():
                continue
            converted = convert(word)
            if converted == word:
                continue
            builder.keep(position, match.start())
            builder.replace(match.start(), match.end(), converted)
            position = match.end()
        builder.keep(position, len(text))
        return builder.build()

    def _known_latin(self, word: str) -> bool:
        folded = fold(word)
        return folded in self.latin_words or folded.replace("'", "") in self.latin_words

    def _russian_word(self, word: str) -> str:
        found = self.russian.get(russian_skeleton(word))
        if found is not None:
            return found
        if self._known_latin(word) or word.isupper() and len(word) > 1:
            return word
        return _russian_rules(word)

    def _greek_word(self, word: str) -> str:
        for skeleton in greeklish_skeletons(word):
            found = self.greek.get(skeleton)
            if found is not None:
                return found
        if self._known_latin(word) or word.isupper() and len(word) > 1:
            return word
        return _greek_rules(word)

    def _vietnamese(self, text: str) -> Normalized:
        builder = _Builder(text)
        position = 0
        folded = fold(text)
        for match in _TOKEN.finditer(text):
            word = match.group().lower()
            expansion = VIETNAMESE_SHORTHAND.get(word)
            month = _VIETNAMESE_MONTH.fullmatch(word)
            if month is not None:
                number = int(month.group(1))
                # t2–t7 are weekdays (thứ hai…bảy) unless pay words come first: "lương t5" is May's payslip
                if 2 <= number <= 7 and not _VIETNAMESE_PAY.search(folded, 0, match.start()):
                    continue
                expansion = f"tháng {number}"
            if expansion is None or expansion == word:
                continue
            builder.keep(position, match.start())
            builder.replace(match.start(), match.end(), expansion)
            position = match.end()
        builder.keep(position, len(text))
        return builder.build()


def detection_variants(text: str, language: str, index: int) -> Iterator[tuple[str, str]]:
    """(text, variant) pairs to teach the language detector the scripts people type ``language`` in."""
    if language == "ru" and script_of(text) == "Cyrl":
        yield russian_in_latin(text, index % RUSSIAN_SCHEME_COUNT), "ru-Latn"
    elif language == "el" and script_of(text) == "Grek":
        yield greeklish(text, index), "el-Latn"
    elif language == "uz" and script_of(text) == "Latn":
        yield uzbek_to_cyrillic(text), "uz-Cyrl"

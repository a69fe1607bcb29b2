"""The held-out test set (nlu/heldout/*.yml): how people really type, tagged by phenomenon, never trained on.

A file holds ``language:`` and ``cases:``, a ``|`` block of ``- intent | tags | text | entities`` lines: tags are
space-separated phenomena (``cyrillic``, ``translit``, ``greeklish``, ``no-diacritics``, ``abbreviation``,
``indirect``, ``slang``, ``code-switch``, ``typo``, ``long``, ``greeting-request``, ``near-miss``, ``date-range``,
``plain``); entities, optional, are ``name=value`` pairs the parse must contain (dates as of ``HELDOUT_DAY``).
The script variant of each case (``uz-Cyrl``, ``ru-Latn``, ``el-Latn`` or the language alone) is read from its text.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import yaml

from nlu.interpreter import Interpreter
from nlu.normalize import script_of, variant
from nlu.training_data import TrainingDataError

__all__ = ["HELDOUT_DAY", "HeldOutCase", "HeldOutResult", "evaluate_heldout", "load_heldout"]

HELDOUT_DAY = date(2026, 11, 23)  # a Monday
DATE_ENTITIES = ("start_date", "end_date")


@dataclass(frozen=True)
class HeldOutCase:
    text: str
    intent: str
    language: str
    tags: tuple[str, ...]
    entities: tuple[tuple[str, str], ...] = ()

    @property
    def variant(self) -> str:
        return variant(self.language, script_of(self.text))


def load_heldout(path: Path | str) -> list[HeldOutCase]:
    """Every case of a held-out file, or of every *.yml in a folder."""
    path = Path(path)
    files = sorted(path.glob("*.yml")) if path.is_dir() else [path]
    if not files or not all(file.is_file() for file in files):
        raise FileNotFoundError(f"no held-out test files at {path}")
    cases: list[HeldOutCase] = []
    for file in files:
        document = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        language = str(document.get("language", file.stem))
        for number, line in enumerate(str(document.get("cases", "")).splitlines(), start=1):
            line = line.strip()
            if not line:
                continue
            fields = [part.strip() for part in line.removeprefix("- ").split(" | ")]
            if len(fields) not in (3, 4) or not all(fields[:3]):
                raise TrainingDataError(file, number, "a case is 'intent | tags | text [| name=value ...]'")
            expected = tuple(tuple(pair.split("=", 1)) for pair in (fields[3].split() if len(fields) == 4 else ()))
            if any(len(pair) != 2 for pair in expected):
                raise TrainingDataError(file, number, "expected entities are name=value pairs")
            cases.append(HeldOutCase(fields[2], fields[0], language, tuple(fields[1].split()), expected))  # type: ignore[arg-type]
    return cases


@dataclass
class Tally:
    cases: int = 0
    correct: int = 0

    @property
    def accuracy(self) -> float:
        return self.correct / self.cases if self.cases else 0.0


@dataclass
class HeldOutResult:
    overall: Tally = field(default_factory=Tally)
    languages: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    variants: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    tags: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    entities: Tally = field(default_factory=Tally)
    date_ranges: Tally = field(default_factory=Tally)
    language_detected: Tally = field(default_factory=Tally)
    misses: list[dict[str, str]] = field(default_factory=list)

    def table(self) -> str:
        rows = ["| group | cases | accuracy |", "|---|---:|---:|"]
        groups: list[tuple[str, Iterable[tuple[str, Tally]]]] = [
            ("language", sorted(self.languages.items())),
            ("script variant", sorted(self.variants.items())),
            ("tag", sorted(self.tags.items())),
        ]
        for kind, items in groups:
            rows += [f"| {kind} {name} | {tally.cases} | {100 * tally.accuracy:.1f}% |" for name, tally in items]
        rows += [
            f"| entities (expected values found) | {self.entities.cases} | {100 * self.entities.accuracy:.1f}% |",
            f"| date ranges exact | {self.date_ranges.cases} | {100 * self.date_ranges.accuracy:.1f}% |",
            f"| language detected | {self.language_detected.cases} | {100 * self.language_detected.accuracy:.1f}% |",
            f"| **intent, all** | {self.overall.cases} | {100 * self.overall.accuracy:.1f}% |",
        ]
        return "\n".join(rows)


def evaluate_heldout(interpreter: Interpreter, cases: Iterable[HeldOutCase], today: date = HELDOUT_DAY) -> HeldOutResult:
    """Intent accuracy overall, per language, per script variant and per tag; entity values; detected language."""
    result = HeldOutResult()
    for case in cases:
        parse = interpreter.parse(case.text, today=today)
        correct = parse["intent"]["name"] == case.intent
        for tally in (result.overall, result.languages[case.language], result.variants[case.variant]):
            tally.cases += 1
            tally.correct += correct
        for tag in case.tags:
            result.tags[tag].cases += 1
            result.tags[tag].correct += correct
        result.language_detected.cases += 1
        result.language_detected.correct += parse["language"] == case.language
        found = {(str(entity["entity"]), str(entity["value"])) for entity in parse["entities"]}
        entities_ok = all(pair in found for pair in case.entities)
        if case.entities:
            result.entities.cases += 1
            result.entities.correct += entities_ok
        dates = [pair for pair in case.entities if pair[0] in DATE_ENTITIES]
        if {name for name, _ in dates} == set(DATE_ENTITIES):
            result.date_ranges.cases += 1
            result.date_ranges.correct += all(pair in found for pair in dates)
        if not correct or not entities_ok or parse["language"] != case.language:
            result.misses.append(
                {
                    "text": case.text,
                    "expected": case.intent + "".join(f" {n}={v}" for n, v in case.entities),
                    "got": f"{parse['intent']['name']} ({parse['intent']['confidence']:.2f}) [{parse['language']}]"
                    + "".join(f" {n}={v}" for n, v in sorted(found)),
                }
            )
    return result

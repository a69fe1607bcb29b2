"""Load Rasa 3.x NLU YAML training data into plain dataclasses.

Supported top-level keys: ``version``, ``nlu`` and ``language`` (our extension). Each ``nlu`` item is one of
``intent``, ``synonym``, ``lookup`` or ``regex`` with ``examples`` (a ``|`` block of ``- `` lines, or a YAML list of
strings / ``{text: ...}`` mappings); intents may also carry Rasa's ``metadata``, which is ignored.

A file's language is its stem when that is a supported language code (``ru.yml`` -> ``ru``), otherwise the value of
its top-level ``language:`` key, otherwise ``en``.

Synonym blocks in Rasa do not name their entity, so each canonical value is attached to every entity whose annotated
examples use that value; a canonical value never used in an annotation goes under the entity ``""`` (any entity).
Annotations whose text differs from their value (``[sick leave]{"entity": "leave_type", "value": "sick"}``) add an
alias too, as Rasa's synonym mapper does.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

__all__ = [
    "LANGUAGES",
    "EntitySpan",
    "Example",
    "TrainingData",
    "TrainingDataError",
    "load_training_data",
    "parse_annotated",
    "training_files",
]

LANGUAGES = ("en", "ru", "uz", "az", "el", "vi")
DEFAULT_LANGUAGE = "en"

_TOP_LEVEL_KEYS = {"version", "nlu", "language"}
_BLOCK_KINDS = ("intent", "synonym", "lookup", "regex")
_BLOCK_KEYS = {"intent": {"intent", "examples", "metadata"}} | {
    kind: {kind, "examples"} for kind in ("synonym", "lookup", "regex")
}
_ANNOTATION_KEYS = {"entity", "value", "role", "group"}
_JSON = json.JSONDecoder()
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml is ~10x faster and keeps node marks


class TrainingDataError(ValueError):
    """Malformed training data; the message names the file, the line and the reason."""

    def __init__(self, path: Path | str, line: int, reason: str) -> None:
        super().__init__(f"{path}:{line}: {reason}")
        self.path = str(path)
        self.line = line
        self.reason = reason


@dataclass(frozen=True, slots=True)
class EntitySpan:
    entity: str
    value: str
    start: int
    end: int
    value_given: bool = False
    role: str | None = None
    group: str | None = None


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    intent: str
    language: str
    entities: tuple[EntitySpan, ...] = ()


@dataclass
class TrainingData:
    examples: list[Example] = field(default_factory=list)
    synonyms: dict[str, dict[str, str]] = field(default_factory=dict)
    lookups: dict[str, list[str]] = field(default_factory=dict)
    regexes: dict[str, list[str]] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)

    @property
    def intents(self) -> list[str]:
        return sorted({example.intent for example in self.examples})

    @property
    def languages(self) -> list[str]:
        return sorted({example.language for example in self.examples})

    def with_examples(self, examples: Iterable[Example]) -> TrainingData:
        """The same synonyms, lookups and regexes with another set of examples (used for cross-validation)."""
        return TrainingData(list(examples), self.synonyms, self.lookups, self.regexes, self.files)


class AnnotationError(ValueError):
    def __init__(self, column: int, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason


def parse_annotated(annotated: str) -> tuple[str, list[EntitySpan]]:
    """Strip ``[text](entity)`` / ``[text]{"entity": ...}`` annotations; return the plain text and entity spans.

    Raises AnnotationError (with the 0-based column) on an unclosed ``[`` or bad JSON.
    """
    plain: list[str] = []
    spans: list[EntitySpan] = []
    position = 0
    length = 0
    while position < len(annotated):
        opening = annotated.find("[", position)
        if opening < 0:
            plain.append(annotated[position:])
            break
        plain.append(annotated[position:opening])
        length += opening - position
        closing = annotated.find("]", opening + 1)
        nested = annotated.find("[", opening + 1)
        if closing < 0 or 0 <= nested < closing:
            raise AnnotationError(opening, "unclosed '[' in entity annotation")
        entity_text = annotated[opening + 1 : closing]
        if not entity_text.strip():
            raise AnnotationError(opening, "empty entity text in '[]'")
        after = closing + 1
        if annotated.startswith("(", after):
            end = annotated.find(")", after)
            if end < 0:
                raise AnnotationError(after, "unclosed '(' after entity text")
            name, _, value = annotated[after + 1 : end].partition(":")
            attributes: dict[str, object] = {"entity": name.strip()}
            if value.strip():
                attributes["value"] = value.strip()
            position = end + 1
        elif annotated.startswith("{", after):
            try:
                attributes, position = _JSON.raw_decode(annotated, after)
            except json.JSONDecodeError as exc:
                raise AnnotationError(after, f"bad JSON in entity annotation: {exc.msg}") from None
            if not isinstance(attributes, dict):
                raise AnnotationError(after, "entity annotation must be a JSON object")
            unknown = set(attributes) - _ANNOTATION_KEYS
            if unknown:
                raise AnnotationError(after, f"unknown key(s) in entity annotation: {', '.join(sorted(unknown))}")
        else:
            raise AnnotationError(closing, "'[text]' must be followed by '(entity)' or '{\"entity\": ...}'")
        entity = attributes.get("entity")
        if not isinstance(entity, str) or not entity.strip():
            raise AnnotationError(after, "entity annotation without an entity name")
        given = attributes.get("value")
        spans.append(
            EntitySpan(
                entity=entity.strip(),
                value=str(given) if given is not None else entity_text,
                start=length,
                end=length + len(entity_text),
                value_given=given is not None,
                role=_optional_str(attributes.get("role")),
                group=_optional_str(attributes.get("group")),
            )
        )
        plain.append(entity_text)
        length += len(entity_text)
    return "".join(plain), spans


def _optional_str(value: object) -> str | None:
    return None if value is None else str(value)


def training_files(path: Path | str) -> list[Path]:
    """The data files behind ``path``: the file itself, or every *.yml/*.yaml in the folder, sorted."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in {".yml", ".yaml"} and p.is_file())
        if not files:
            raise FileNotFoundError(f"no *.yml or *.yaml training files in {path}")
        return files
    if not path.is_file():
        raise FileNotFoundError(f"training data not found: {path}")
    return [path]


def load_training_data(path: Path | str) -> TrainingData:
    """Load one Rasa NLU YAML file, or every *.yml/*.yaml file of a folder."""
    data = TrainingData()
    seen: dict[str, tuple[str, Path, int]] = {}
    value_entities: dict[str, set[str]] = {}
    synonym_blocks: list[tuple[str, list[str]]] = []
    for file in training_files(path):
        data.files.append(file)
        _FileLoader(file, data, seen, value_entities, synonym_blocks).load()
    for canonical, aliases in synonym_blocks:
        for entity in sorted(value_entities.get(canonical, {""})):
            table = data.synonyms.setdefault(entity, {})
            for alias in aliases:
                table[alias] = canonical
    return data


def _dedupe_key(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


class _FileLoader:
    def __init__(
        self,
        file: Path,
        data: TrainingData,
        seen: dict[str, tuple[str, Path, int]],
        value_entities: dict[str, set[str]],
        synonym_blocks: list[tuple[str, list[str]]],
    ) -> None:
        self.file = file
        self.data = data
        self.seen = seen
        self.value_entities = value_entities
        self.synonym_blocks = synonym_blocks

    def error(self, node_or_line: Node | int, reason: str) -> TrainingDataError:
        line = node_or_line if isinstance(node_or_line, int) else node_or_line.start_mark.line + 1
        return TrainingDataError(self.file, line, reason)

    def load(self) -> None:
        try:
            text = self.file.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise TrainingDataError(self.file, 1, f"not UTF-8: {exc.reason}") from None
        try:
            root = yaml.compose(text, Loader=_YAML_LOADER)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else 1
            raise TrainingDataError(self.file, line, f"YAML syntax error: {exc.problem or exc.context}") from None
        if root is None:
            raise TrainingDataError(self.file, 1, "empty file")
        top = self.mapping(root, "the file")
        unknown = [key for key in top if key not in _TOP_LEVEL_KEYS]
        if unknown:
            key_node = top[unknown[0]][0]
            raise self.error(key_node, f"unknown top-level key {unknown[0]!r} (expected version, nlu, language)")
        language = self.language(top)
        if "nlu" not in top:
            raise self.error(root, "no 'nlu:' list")
        items = top["nlu"][1]
        if not isinstance(items, SequenceNode):
            raise self.error(items, "'nlu' must be a list of blocks")
        for item in items.value:
            self.block(item, language)

    def mapping(self, node: Node, what: str) -> dict[str, tuple[Node, Node]]:
        if not isinstance(node, MappingNode):
            raise self.error(node, f"{what} must be a mapping")
        result: dict[str, tuple[Node, Node]] = {}
        for key, value in node.value:
            if not isinstance(key, ScalarNode):
                raise self.error(key, "keys must be plain strings")
            if key.value in result:
                raise self.error(key, f"duplicate key {key.value!r}")
            result[key.value] = (key, value)
        return result

    def language(self, top: dict[str, tuple[Node, Node]]) -> str:
        if self.file.stem in LANGUAGES:
            return self.file.stem
        if "language" in top:
            node = top["language"][1]
            if not isinstance(node, ScalarNode) or not node.value.strip():
                raise self.error(node, "'language' must be a language code")
            return node.value.strip()
        return DEFAULT_LANGUAGE

    def block(self, item: Node, language: str) -> None:
        fields = self.mapping(item, "each 'nlu' entry")
        kinds = [kind for kind in _BLOCK_KINDS if kind in fields]
        if len(kinds) != 1:
            raise self.error(item, "each 'nlu' entry needs exactly one of intent, synonym, lookup, regex")
        kind = kinds[0]
        unknown = [key for key in fields if key not in _BLOCK_KEYS[kind]]
        if unknown:
            raise self.error(fields[unknown[0]][0], f"unknown key {unknown[0]!r} in {kind} block")
        name_node = fields[kind][1]
        if not isinstance(name_node, ScalarNode) or not str(name_node.value).strip():
            raise self.error(name_node, f"{kind} needs a name")
        name = str(name_node.value).strip()
        if "examples" not in fields:
            raise self.error(item, f"{kind} {name!r} has no examples")
        lines = list(self.example_lines(fields["examples"][1]))
        if not lines:
            raise self.error(fields["examples"][0], f"{kind} {name!r} has no examples")
        if kind == "intent":
            for line, text in lines:
                self.example(line, text, name, language)
        elif kind == "synonym":
            self.synonym_blocks.append((name, [text for _, text in lines]))
        elif kind == "lookup":
            self.data.lookups.setdefault(name, []).extend(text for _, text in lines)
        else:
            for line, pattern in lines:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise self.error(line, f"bad regular expression in {name!r}: {exc}") from None
            self.data.regexes.setdefault(name, []).extend(text for _, text in lines)

    def example_lines(self, node: Node) -> Iterator[tuple[int, str]]:
        """(1-based line, example text) for each example of a block."""
        if isinstance(node, ScalarNode):
            # Content of a block scalar (`|`) starts on the line after its indicator.
            first_line = node.start_mark.line + (2 if node.style in ("|", ">") else 1)
            for offset, raw in enumerate(str(node.value).splitlines()):
                stripped = raw.strip()
                if not stripped:
                    continue
                line = first_line + offset
                if not stripped.startswith("- ") and stripped != "-":
                    raise self.error(line, f"example must be a '- ' line, got {stripped[:40]!r}")
                text = stripped[1:].strip()
                if not text:
                    raise self.error(line, "empty example")
                yield line, text
        elif isinstance(node, SequenceNode):
            for entry in node.value:
                if isinstance(entry, MappingNode):
                    fields = self.mapping(entry, "an example")
                    if "text" not in fields:
                        raise self.error(entry, "an example mapping needs 'text'")
                    entry = fields["text"][1]
                if not isinstance(entry, ScalarNode) or not str(entry.value).strip():
                    raise self.error(entry, "example must be a non-empty string")
                yield entry.start_mark.line + 1, str(entry.value).strip()
        else:
            raise self.error(node, "'examples' must be a '|' block of '- ' lines")

    def example(self, line: int, annotated: str, intent: str, language: str) -> None:
        try:
            text, spans = parse_annotated(annotated)
        except AnnotationError as exc:
            raise self.error(line, f"{exc.reason} (column {exc.column + 1} of the example)") from None
        # Per language: a word can mean different things in two languages ("yo": hello in English, no in Azerbaijani).
        key = f"{language}\x00{_dedupe_key(text)}"
        if key in self.seen:
            other_intent, other_file, other_line = self.seen[key]
            if other_intent != intent:
                raise self.error(
                    line,
                    f"example {text!r} is in intent {intent!r} and in {other_intent!r} ({other_file}:{other_line})",
                )
            return
        self.seen[key] = (intent, self.file, line)
        for span in spans:
            if span.value_given:
                self.value_entities.setdefault(span.value, set()).add(span.entity)
                alias = text[span.start : span.end]
                if alias != span.value:
                    self.data.synonyms.setdefault(span.entity, {}).setdefault(alias, span.value)
        self.data.examples.append(Example(text, intent, language, tuple(spans)))

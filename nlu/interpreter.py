"""The trained NLU model: intent classifier + entity extractor + language detector, with Rasa's parse shape."""

from __future__ import annotations

import ctypes
import hashlib
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

import joblib

from nlu.classifier import ClassifierConfig, IntentClassifier, with_tags
from nlu.entities import EntityExtractor
from nlu.language import LanguageDetector
from nlu.normalize import DEFAULT_SCRIPT, Normalized, Normalizer, script_of
from nlu.sentence_encoder import release as release_sentence_encoder
from nlu.training_data import TrainingData, load_training_data, training_files

__all__ = ["ENGINE_VERSION", "Interpreter", "ModelFileError", "data_fingerprint"]

log = logging.getLogger(__name__)

ENGINE_VERSION = "6"
_MODEL_FORMAT = "backoffice-nlu-model"
RANKING_SIZE = 10
MAX_ENTITY_CHARS = 1000  # entities are read from the start of a very long message only
_HAS_WORD = re.compile(r"\w")
_TAGGING_DAY = date(2025, 1, 15)  # entity types, not values, become features: any fixed day will do


def _glibc() -> Any:
    """The C library when it is glibc (``malloc_trim`` and ``mallopt`` are its own), else None."""
    try:
        library = ctypes.CDLL(None)
        library.malloc_trim  # noqa: B018  (a lookup: AttributeError where the C library is not glibc)
    except (AttributeError, OSError, TypeError):  # TypeError: Windows has no CDLL(None)
        return None
    return library


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)


def _keep_large_blocks_apart() -> None:
    """Give each block of 4 MB and more a mapping of its own, for the rest of the process's life.

    glibc raises its mmap threshold to the size of the largest mapped block freed (up to 32 MB), so after training
    frees its sentence embeddings (CLINC150: 31 MB) every later block up to that size comes from the main heap,
    where the SVM's copies and the freed n-gram strings fragment it: peak RSS +40 MB. Fixing the threshold stops
    that; the trim threshold is fixed with it (glibc then stops adapting that too) and high, or each freed 2 MB
    batch of the encoder would be handed back and faulted in again (5 s of system time on CLINC150)."""
    library = _glibc()
    if library is not None:
        library.mallopt(_M_MMAP_THRESHOLD, 4 << 20)
        library.mallopt(_M_TRIM_THRESHOLD, 64 << 20)


def _return_free_memory() -> None:
    """Hand the heap that training freed back to the operating system. Its many short-lived n-gram strings leave
    glibc's arenas full of free pages that the process would otherwise keep (our data: 56 MB), beside the sentence
    encoder that parsing then loads. No-op where the C library has no ``malloc_trim`` (macOS, musl, Windows)."""
    library = _glibc()
    if library is not None:
        library.malloc_trim(0)


class ModelFileError(RuntimeError):
    """The model file is missing, unreadable or not one of ours."""


def data_fingerprint(data_path: Path | str, config: ClassifierConfig | None = None, seed: int = 0) -> str:
    """sha256 of the data files (names and bytes), the engine version, the classifier config and the seed."""
    digest = hashlib.sha256()
    digest.update(f"engine={ENGINE_VERSION};config={asdict(config or ClassifierConfig())};seed={seed}".encode())
    for file in training_files(data_path):
        digest.update(b"\x00" + file.name.encode() + b"\x00")
        digest.update(file.read_bytes())
    return digest.hexdigest()


class Interpreter:
    def __init__(
        self,
        classifier: IntentClassifier,
        extractor: EntityExtractor,
        detector: LanguageDetector | None,
        default_language: str,
        fingerprint: str = "",
        entity_features: bool = False,
        normalizer: Normalizer | None = None,
    ) -> None:
        self.classifier = classifier
        self.extractor = extractor
        self.detector = detector
        self.default_language = default_language
        self.fingerprint = fingerprint
        # Whether the types of the entities found in a message are features of its intent.
        self.entity_features = entity_features
        # Rewrites Cyrillic Uzbek, Latin-typed Russian, Greeklish and Vietnamese shorthand into the scripts and
        # words of the training data, before the classifier and the entity rules read a message (nlu/normalize.py).
        self.normalizer = normalizer or Normalizer({}, {}, frozenset())

    @classmethod
    def train(
        cls,
        data: TrainingData,
        *,
        seed: int = 0,
        config: ClassifierConfig | None = None,
        validation: TrainingData | None = None,
        fingerprint: str = "",
    ) -> Interpreter:
        """Train on ``data`` and tune the out-of-scope threshold: on ``validation`` (held out, never test data) when
        given, else by cross-validation on ``data`` itself (when it has out-of-scope examples)."""
        if not data.examples:
            raise ValueError("no training examples")
        _keep_large_blocks_apart()
        texts = [example.text for example in data.examples]
        languages = [example.language for example in data.examples]
        detector = LanguageDetector.fit(texts, languages) if len(set(languages)) > 1 else None
        normalizer = Normalizer.fit(zip(texts, languages, strict=True))
        extractor = EntityExtractor(data.synonyms, data.lookups, data.regexes)
        # Entity types help tell intents apart (a date in leave_request, a number in ticket_status: +1 point of CV
        # accuracy on our data), but only data that annotates entities uses the extractor's types at all.
        entity_features = any(example.entities for example in data.examples)
        interpreter = cls(
            IntentClassifier(config), extractor, detector, languages[0], fingerprint, entity_features, normalizer
        )
        intents = [example.intent for example in data.examples]
        training_inputs = interpreter.classifier_inputs(texts, languages)
        embeddings = interpreter.classifier.embeddings(training_inputs, languages)
        validation_inputs: list[str] = []
        if validation is not None and validation.examples:
            validation_languages = [example.language for example in validation.examples]
            validation_inputs = interpreter.classifier_inputs(
                [example.text for example in validation.examples], validation_languages
            )
            validation_embeddings = interpreter.classifier.embeddings(validation_inputs, validation_languages)
        if interpreter.classifier.config.sentence_encoder:
            # What follows is training's memory peak and needs no sentence encoder (parsing loads it again).
            release_sentence_encoder()
            _return_free_memory()
        # Read (n-grams counted, sentences embedded) once: the threshold's cross-validation folds reuse it. Held in
        # a list to be handed over to the final fit, which lets go of it before its SVM's memory peak.
        prepared = [interpreter.classifier.prepare(training_inputs, embeddings)]
        del embeddings
        if not validation_inputs:
            # Tuned before the final fit, so that the folds' models and the final one never share the memory.
            interpreter.classifier.tune_threshold_by_cross_validation(prepared[0], intents, seed=seed)
        interpreter.classifier.fit(prepared.pop(), intents, seed=seed)
        if validation_inputs:
            assert validation is not None
            interpreter.classifier.tune_threshold(
                validation_inputs, [example.intent for example in validation.examples], validation_embeddings
            )
        _return_free_memory()
        return interpreter

    def save(self, path: Path | str) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".tmp")
        payload = {"format": _MODEL_FORMAT, "engine": ENGINE_VERSION, "fingerprint": self.fingerprint, "model": self}
        joblib.dump(payload, temporary, compress=3)
        temporary.replace(path)  # a reader never sees a half-written model

    @classmethod
    def load(cls, path: Path | str) -> Interpreter:
        payload = cls._read(Path(path))
        return payload["model"]

    @staticmethod
    def _read(path: Path) -> dict[str, Any]:
        if not path.is_file():
            raise ModelFileError(f"no model file at {path}")
        try:
            payload = joblib.load(path)
        except Exception as exc:  # unpickling can fail in many ways; all mean "not a usable model"
            raise ModelFileError(f"cannot read model file {path}: {exc}") from exc
        if not isinstance(payload, dict) or payload.get("format") != _MODEL_FORMAT:
            raise ModelFileError(f"{path} is not a Back Office Assistant NLU model")
        if payload.get("engine") != ENGINE_VERSION or not isinstance(payload.get("model"), Interpreter):
            raise ModelFileError(f"{path} was made by another engine version")
        return payload

    @classmethod
    def is_up_to_date(
        cls, model_path: Path | str, data_path: Path | str, *, seed: int = 0, config: ClassifierConfig | None = None
    ) -> bool:
        """Whether the model file exists, is readable and was trained on exactly this data, engine and config."""
        try:
            payload = cls._read(Path(model_path))
        except ModelFileError:
            return False
        return bool(payload["fingerprint"] == data_fingerprint(data_path, config, seed))

    @classmethod
    def load_or_train(
        cls,
        model_path: Path | str,
        data_path: Path | str,
        *,
        seed: int = 0,
        config: ClassifierConfig | None = None,
        force: bool = False,
    ) -> Interpreter:
        """Load the model unless the data, engine or config changed since it was trained; else train and save."""
        model_path = Path(model_path)
        fingerprint = data_fingerprint(data_path, config, seed)
        if not force and model_path.is_file():
            try:
                payload = cls._read(model_path)
            except ModelFileError as exc:
                log.warning("retraining: %s", exc)
            else:
                if payload["fingerprint"] == fingerprint:
                    return payload["model"]
        interpreter = cls.train(load_training_data(data_path), seed=seed, config=config, fingerprint=fingerprint)
        interpreter.save(model_path)
        return interpreter

    @property
    def intents(self) -> list[str]:
        return [str(intent) for intent in self.classifier.classes]

    @property
    def languages(self) -> list[str]:
        """The languages of the training data."""
        if self.detector is None:
            return [self.default_language]
        return sorted({label.split("-")[0] for label in self.detector.languages})

    def warm_up(self, today: date | None = None) -> None:
        """Load now what a first message would otherwise wait for: the sentence encoder (~1 s) and dateparser's
        data for each language (~0.25 s in all), so that no one's first message after a start pays for it."""
        if self.classifier.reads_embeddings:
            self.classifier.embeddings(["hello"])
        self.extractor.warm_up(self.languages, today or date.today())

    def set_catalogue(self, items: Mapping[str, Iterable[str]]) -> None:
        """Pass the live stock catalogue (canonical name → aliases) to the entity extractor."""
        self.extractor.set_catalogue(items)

    def detect_language(self, text: str, hint: str | None = None) -> str:
        return self.detect_variant(text, hint)[0]

    def detect_variant(self, text: str, hint: str | None = None) -> tuple[str, str]:
        """(language, script) of a message: ``ru``/``Latn`` for Russian typed in Latin letters."""
        if self.detector is None:
            language = (hint or self.default_language).split("-")[0]
            return language, script_of(text) or DEFAULT_SCRIPT.get(language, "Latn")
        language, script = self.detector.detect_variant(text, hint)
        if script == "Latn" and language in ("ru", "el") and not self.normalizer.recognises(text, language):
            # Latin-typed Russian or Greeklish is made of Russian or Greek words; gibberish is not
            language = (hint or "en").split("-")[0]
        return language, script

    def normalize(self, text: str, language: str, script: str | None = None) -> Normalized:
        """The message as the classifier and the entity rules read it (its first MAX_ENTITY_CHARS characters)."""
        return self.normalizer.normalize(text[:MAX_ENTITY_CHARS], language, script)

    def classifier_inputs(self, texts: Sequence[str], languages: Sequence[str] | None = None) -> list[str]:
        """What the intent classifier reads for each text: the normalised text, tagged with its entity types if so
        trained. ``languages``: the known language of each text (training data), else detected."""
        return self._read_texts(texts, languages)[0]

    def _read_texts(self, texts: Sequence[str], languages: Sequence[str] | None = None) -> tuple[list[str], list[str]]:
        """``classifier_inputs`` and the language of each text (given or detected)."""
        inputs, read_languages = [], []
        for index, text in enumerate(texts):
            script: str | None
            if languages is None:
                language, script = self.detect_variant(text[:MAX_ENTITY_CHARS])
            else:
                language, script = languages[index], script_of(text)
            normalized = self.normalize(text, language, script).text
            if self.entity_features:
                found = self.extractor.extract(normalized, language=language, today=_TAGGING_DAY)
                normalized = self._tagged(normalized, found)
            inputs.append(normalized)
            read_languages.append(language)
        return inputs, read_languages

    def _tagged(self, text: str, entities: Sequence[Mapping[str, Any]]) -> str:
        return with_tags(text, (str(entity["entity"]) for entity in entities)) if self.entity_features else text

    def predict_intents(self, texts: Sequence[str]) -> list[str]:
        """The intent of each text (no entities, no ranking): for evaluation on many texts at once."""
        return self.classifier.predict(*self._read_texts(texts))

    def parse(self, text: str, *, today: date | None = None, language_hint: str | None = None) -> dict[str, Any]:
        """Rasa's ``POST /model/parse`` shape: text, intent, entities, intent_ranking (top 10), plus language and
        script (``Latn``, ``Cyrl``, ``Grek``: what the message was typed in, so replies can follow it)."""
        language, script = self.detect_variant(text[:MAX_ENTITY_CHARS], language_hint)
        if not _HAS_WORD.search(text):
            # Empty, whitespace, emoji or punctuation only: nothing to classify or extract.
            out_of_scope = self.classifier.out_of_scope
            return {
                "text": text,
                "intent": {"name": out_of_scope, "confidence": 1.0},
                "entities": [],
                "intent_ranking": [{"name": out_of_scope, "confidence": 1.0}],
                "language": language,
                "script": script,
            }
        normalized = self.normalize(text, language, script)
        entities = self.extractor.extract(normalized.text, language=language, today=today or date.today())
        intent, confidence, ranking = self.classifier.rank(self._tagged(normalized.text, entities), language)
        for entity in entities:  # offsets in the person's own text
            entity["start"], entity["end"] = normalized.span(entity["start"], entity["end"])
        return {
            "text": text,
            "intent": {"name": intent, "confidence": confidence},
            "entities": entities,
            "intent_ranking": [{"name": name, "confidence": score} for name, score in ranking[:RANKING_SIZE]],
            "language": language,
            "script": script,
        }

"""Stratified k-fold cross-validation of the whole interpreter on Rasa-format training data."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support
from sklearn.model_selection import StratifiedKFold

from nlu.classifier import ClassifierConfig
from nlu.interpreter import Interpreter
from nlu.training_data import EntitySpan, Example, TrainingData

__all__ = ["EvaluationResult", "cross_validate", "summary_table", "write_report"]

EVALUATION_DAY = date(2025, 3, 12)  # a fixed "today" keeps date entities reproducible


@dataclass
class Scores:
    examples: int
    accuracy: float
    macro_f1: float
    entity_accuracy: float | None


@dataclass
class EvaluationResult:
    folds: int
    overall: Scores
    per_language: dict[str, Scores]
    per_intent: dict[str, dict[str, float]]
    per_entity: dict[str, dict[str, float]]
    confused_pairs: list[dict[str, object]]
    labels: list[str] = field(default_factory=list)
    confusion: list[list[int]] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def _entity_hits(span: EntitySpan, found: Sequence[dict[str, object]]) -> bool:
    for entity in found:
        if entity.get("entity") != span.entity:
            continue
        start, end = int(entity["start"]), int(entity["end"])  # type: ignore[call-overload]
        if start < span.end and span.start < end and (not span.value_given or str(entity["value"]) == span.value):
            return True
    return False


def _fold_labels(examples: Sequence[Example], folds: int) -> list[str]:
    """Stratify by language and intent where every such group can fill each fold, else by intent alone."""
    combined = [f"{example.language}:{example.intent}" for example in examples]
    if min(Counter(combined).values()) >= folds:
        return combined
    return [example.intent for example in examples]


def _scores(gold: Sequence[str], predicted: Sequence[str], entity_results: Sequence[bool]) -> Scores:
    gold_array, predicted_array = np.asarray(gold), np.asarray(predicted)
    return Scores(
        examples=len(gold),
        accuracy=float((gold_array == predicted_array).mean()),
        macro_f1=float(f1_score(gold_array, predicted_array, average="macro", zero_division=0)),
        entity_accuracy=float(np.mean(entity_results)) if entity_results else None,
    )


def cross_validate(
    data: TrainingData, *, folds: int = 5, seed: int = 0, config: ClassifierConfig | None = None
) -> EvaluationResult:
    examples = data.examples
    if folds < 2:
        raise ValueError("cross-validation needs at least 2 folds")
    labels = _fold_labels(examples, folds)
    if min(Counter(labels).values()) < folds:
        raise ValueError(f"every intent needs at least {folds} examples for {folds}-fold cross-validation")
    predicted: list[str] = [""] * len(examples)
    entity_results: list[tuple[int, str, bool]] = []  # (example index, entity, found)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train_index, test_index in splitter.split(np.zeros(len(labels)), labels):
        interpreter = Interpreter.train(data.with_examples(examples[i] for i in train_index), seed=seed, config=config)
        held_out = [examples[i] for i in test_index]
        for index, intent in zip(test_index, interpreter.predict_intents([e.text for e in held_out]), strict=True):
            predicted[index] = intent
        for index, example in zip(test_index, held_out, strict=True):
            if not example.entities:
                continue
            found = interpreter.extractor.extract(example.text, language=example.language, today=EVALUATION_DAY)
            entity_results.extend((index, span.entity, _entity_hits(span, found)) for span in example.entities)
        del interpreter  # or this fold's model stays alive while the next one trains: the peak would hold two

    gold = [example.intent for example in examples]
    intents = sorted(set(gold) | set(predicted))
    precision, recall, f1, support = precision_recall_fscore_support(gold, predicted, labels=intents, zero_division=0)
    per_intent = {
        intent: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
        for intent, p, r, f, s in zip(intents, precision, recall, f1, support, strict=True)
    }
    matrix = confusion_matrix(gold, predicted, labels=intents)
    pairs = [
        {"gold": intents[i], "predicted": intents[j], "count": int(matrix[i, j])}
        for i in range(len(intents))
        for j in range(len(intents))
        if i != j and matrix[i, j] > 0
    ]
    pairs.sort(key=lambda pair: (-int(pair["count"]), str(pair["gold"]), str(pair["predicted"])))  # type: ignore[call-overload]

    per_language: dict[str, Scores] = {}
    for language in sorted({example.language for example in examples}):
        chosen = [i for i, example in enumerate(examples) if example.language == language]
        chosen_set = set(chosen)
        per_language[language] = _scores(
            [gold[i] for i in chosen],
            [predicted[i] for i in chosen],
            [hit for index, _, hit in entity_results if index in chosen_set],
        )
    per_entity: dict[str, dict[str, float]] = {}
    for entity in sorted({name for _, name, _ in entity_results}):
        hits = [hit for _, name, hit in entity_results if name == entity]
        per_entity[entity] = {"accuracy": float(np.mean(hits)), "support": len(hits)}
    return EvaluationResult(
        folds=folds,
        overall=_scores(gold, predicted, [hit for _, _, hit in entity_results]),
        per_language=per_language,
        per_intent=per_intent,
        per_entity=per_entity,
        confused_pairs=pairs[:10],
        labels=intents,
        confusion=matrix.tolist(),
    )


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def summary_table(result: EvaluationResult) -> str:
    """A short Markdown table: accuracy, macro-F1 and entity accuracy per language and overall."""
    rows = ["| language | examples | accuracy | macro-F1 | entities |", "|---|---:|---:|---:|---:|"]
    for name, scores in [*result.per_language.items(), ("all", result.overall)]:
        rows.append(
            f"| {name} | {scores.examples} | {_percent(scores.accuracy)} | {_percent(scores.macro_f1)} "
            f"| {_percent(scores.entity_accuracy)} |"
        )
    return "\n".join(rows)


def _markdown(result: EvaluationResult) -> str:
    lines = [f"# NLU cross-validation ({result.folds} folds)", "", summary_table(result), "", "## Intents", ""]
    lines += ["| intent | precision | recall | F1 | support |", "|---|---:|---:|---:|---:|"]
    for intent, row in result.per_intent.items():
        lines.append(
            f"| {intent} | {_percent(row['precision'])} | {_percent(row['recall'])} | {_percent(row['f1'])} "
            f"| {int(row['support'])} |"
        )
    lines += ["", "## Most confused pairs", "", "| gold | predicted | count |", "|---|---|---:|"]
    lines += [f"| {pair['gold']} | {pair['predicted']} | {pair['count']} |" for pair in result.confused_pairs]
    lines += ["", "## Entities", "", "| entity | accuracy | support |", "|---|---:|---:|"]
    lines += [
        f"| {entity} | {_percent(row['accuracy'])} | {int(row['support'])} |"
        for entity, row in result.per_entity.items()
    ]
    lines += ["", "![confusion matrix](confusion_matrix.png)", ""]
    return "\n".join(lines)


def _confusion_png(result: EvaluationResult, path: Path) -> None:
    matrix = np.asarray(result.confusion, dtype=float)
    rows = matrix.sum(axis=1, keepdims=True)
    normalised = np.divide(matrix, rows, out=np.zeros_like(matrix), where=rows > 0)
    size = max(6.0, 0.45 * len(result.labels))
    figure = Figure(figsize=(size + 2, size))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    image = axes.imshow(normalised, cmap="Blues", vmin=0.0, vmax=1.0)
    axes.set_xticks(range(len(result.labels)), result.labels, rotation=90, fontsize=8)
    axes.set_yticks(range(len(result.labels)), result.labels, fontsize=8)
    axes.set_xlabel("predicted")
    axes.set_ylabel("gold")
    axes.set_title(f"Intent confusion, {result.folds}-fold cross-validation (row-normalised)")
    figure.colorbar(image, ax=axes, fraction=0.046)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def write_report(result: EvaluationResult, out_dir: Path | str) -> list[Path]:
    """Write report.md, report.json and confusion_matrix.png into ``out_dir``; return their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    markdown, report_json, png = out_dir / "report.md", out_dir / "report.json", out_dir / "confusion_matrix.png"
    markdown.write_text(_markdown(result), encoding="utf-8")
    report_json.write_text(json.dumps(result.to_json(), indent=2, ensure_ascii=False), encoding="utf-8")
    _confusion_png(result, png)
    return [markdown, report_json, png]

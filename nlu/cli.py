"""`backoffice nlu ...`: train, try and evaluate the intent and entity models on any Rasa-format data."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from nlu.classifier import ClassifierConfig
from nlu.interpreter import Interpreter, ModelFileError
from nlu.training_data import TrainingDataError, load_training_data

app = typer.Typer(help="Train, try and evaluate the intent and entity models.", no_args_is_help=True)

PACKAGE_DATA = Path(__file__).resolve().parent / "data"
PACKAGE_HELDOUT = Path(__file__).resolve().parent / "heldout"
DEFAULT_MODEL = Path("data/nlu/model.joblib")
MODEL_ENV = "NLU_MODEL_PATH"

DataOption = Annotated[
    Path | None, typer.Option("--data", help="A Rasa NLU YAML file or a folder of them [default: the package's data].")
]
ModelOption = Annotated[
    Path | None,
    typer.Option(
        "--model",
        help=f"Model file [default: ${MODEL_ENV} or {DEFAULT_MODEL}; with --data, a file named after the data]. "
        "parse uses a model given without --data as it is (never retrains it).",
    ),
]


ENCODER_ENV = "NLU_SENTENCE_ENCODER"
EncoderOption = Annotated[
    bool,
    typer.Option(
        "--sentence-encoder/--no-sentence-encoder",
        envvar=ENCODER_ENV,
        help="The pretrained multilingual sentence encoder in the intent model (the default): English and Russian "
        "messages are read by meaning too, ~1 ms more each, up to ~150 MB more memory. --no-sentence-encoder: the word "
        "models alone.",
    ),
]


def model_file(path: Path, sentence_encoder: bool) -> Path:
    """``path``, or without the sentence encoder a file of its own beside it (model.joblib -> model-no-encoder.joblib),
    so models with and without it never replace each other and switching it off and on again does not retrain twice."""
    return path if sentence_encoder else path.with_name(f"{path.stem}-no-encoder{path.suffix}")


def _config(sentence_encoder: bool) -> ClassifierConfig:
    return ClassifierConfig(sentence_encoder=sentence_encoder)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _data_path(data: Path | None) -> Path:
    path = data or PACKAGE_DATA
    if not path.exists():
        raise _fail(f"training data not found: {path}")
    return path


def _model_path(model: Path | None, data: Path | None = None, sentence_encoder: bool = True) -> Path:
    """The assistant's model, unless other data is given: then a model of its own, so trying a data set never
    overwrites the assistant's model; without the sentence encoder, its ``model_file``."""
    if model is not None:
        return model
    default = Path(os.environ.get(MODEL_ENV) or DEFAULT_MODEL)
    if data is not None and data.resolve() != PACKAGE_DATA:
        tag = hashlib.sha256(str(data.resolve()).encode()).hexdigest()[:8]
        default = default.with_name(f"{data.stem}-{tag}.joblib")
    return model_file(default, sentence_encoder)


def _interpreter(data: Path | None, model: Path | None, config: ClassifierConfig, *, force: bool = False) -> Interpreter:
    path = _model_path(model, data, config.sentence_encoder)
    try:
        return Interpreter.load_or_train(path, _data_path(data), config=config, force=force)
    except (TrainingDataError, FileNotFoundError, ValueError) as exc:
        raise _fail(str(exc)) from None


def _given_model(model: Path) -> Interpreter:
    """A model named without its data is used as it is: it may come from other data (`train --data X --model
    FILE`), so retraining it on the default data would silently replace it."""
    try:
        return Interpreter.load(model)
    except ModelFileError as exc:
        raise _fail(f"{exc} (train it first: backoffice nlu train --data DATA --model {model})") from None


@app.command()
def train(data: DataOption = None, model: ModelOption = None, force: bool = typer.Option(False, "--force", help="Retrain even if the model is up to date."), sentence_encoder: EncoderOption = True) -> None:  # fmt: skip
    """Train the model (only when the data, engine or config changed, unless --force) and save it."""
    model_path, data_path = _model_path(model, data, sentence_encoder), _data_path(data)
    config = _config(sentence_encoder)
    try:
        up_to_date = not force and Interpreter.is_up_to_date(model_path, data_path, config=config)
    except (TrainingDataError, FileNotFoundError) as exc:
        raise _fail(str(exc)) from None
    if up_to_date:
        typer.echo(f"model up to date: {model_path}")
        return
    started = time.perf_counter()
    interpreter = _interpreter(data, model, config, force=True)
    typer.echo(
        f"trained {len(interpreter.intents)} intents in {time.perf_counter() - started:.1f} s → {model_path}"
    )


def _today(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _fail(f"--today must be a date as YYYY-MM-DD, got {value!r}") from None


def _human(result: dict[str, Any]) -> str:
    intent = result["intent"]
    entities = " ".join(f"{e['entity']}={e['value']}" for e in result["entities"])
    return f"{intent['name']} ({intent['confidence']:.2f}) [{result['language']}]" + (f" {entities}" if entities else "")


@app.command()
def parse(
    text: Annotated[str | None, typer.Argument(help="The message; without it, one message per line from stdin.")] = None,
    today: Annotated[str | None, typer.Option("--today", help="Resolve dates against this day (YYYY-MM-DD).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print Rasa's parse JSON.")] = False,
    data: DataOption = None,
    model: ModelOption = None,
    language: Annotated[str | None, typer.Option("--language", help="Language hint (en, ru, uz, az, el, vi).")] = None,
    sentence_encoder: EncoderOption = True,
) -> None:
    """Parse a message (or stdin lines) into intent, entities and language."""
    day = _today(today)
    if model is not None and data is None:
        interpreter = _given_model(model)
        if sentence_encoder != interpreter.classifier.config.sentence_encoder:
            state = "with" if interpreter.classifier.config.sentence_encoder else "without"
            typer.echo(f"note: {model} was trained {state} the sentence encoder and is used as it is", err=True)
    else:
        interpreter = _interpreter(data, model, _config(sentence_encoder))
    if text is not None:
        result = interpreter.parse(text, today=day, language_hint=language)
        typer.echo(json.dumps(result, ensure_ascii=False) if as_json else _human(result))
        return
    for line in sys.stdin:
        message = line.rstrip("\r\n")
        result = interpreter.parse(message, today=day, language_hint=language)
        typer.echo(json.dumps(result, ensure_ascii=False))


@app.command()
def evaluate(
    data: DataOption = None,
    folds: Annotated[int, typer.Option("--folds", min=2, help="Number of cross-validation folds.")] = 5,
    out: Annotated[Path, typer.Option("--out", help="Folder for report.md, report.json and the PNG.")] = Path(
        "reports/nlu"
    ),
    heldout: Annotated[
        Path | None,
        typer.Option(
            "--heldout",
            help="A held-out test file or folder (nlu/heldout format) [default: the package's, with its data].",
        ),
    ] = None,
    cross_validation: Annotated[
        bool, typer.Option("--cv/--no-cv", help="Cross-validate on the training data too.")
    ] = True,
    sentence_encoder: EncoderOption = True,
) -> None:
    """Cross-validate on the training data, and score a held-out test set per language, script variant and tag;
    write Markdown/JSON reports (with a confusion matrix)."""
    from nlu.evaluate import cross_validate, summary_table, write_report  # matplotlib only when evaluating
    from nlu.heldout import evaluate_heldout, load_heldout

    if heldout is None and data is None and PACKAGE_HELDOUT.is_dir():
        heldout = PACKAGE_HELDOUT
    written: list[Path] = []
    try:
        training_data = load_training_data(_data_path(data))
        if cross_validation:
            result = cross_validate(training_data, folds=folds, config=_config(sentence_encoder))
            written += write_report(result, out)
            typer.echo(summary_table(result))
        if heldout is not None:
            cases = load_heldout(heldout)
            scored = evaluate_heldout(Interpreter.train(training_data, config=_config(sentence_encoder)), cases)
    except (TrainingDataError, FileNotFoundError, ValueError) as exc:
        raise _fail(str(exc)) from None
    if heldout is not None:
        table = scored.table()
        misses = "\n".join(f"| {m['text']} | {m['expected']} | {m['got']} |" for m in scored.misses)
        out.mkdir(parents=True, exist_ok=True)
        report = out / "heldout.md"
        report.write_text(
            f"# Held-out test set ({heldout})\n\n{table}\n\n## Misses\n\n| text | expected | got |\n|---|---|---|\n"
            f"{misses}\n",
            encoding="utf-8",
        )
        written.append(report)
        typer.echo(f"\nheld-out test set ({len(cases)} cases):\n{table}")
    typer.echo(f"report: {', '.join(str(path) for path in written)}")

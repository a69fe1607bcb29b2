import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nlu.cli import _model_path, app

FIXTURES = Path(__file__).parent / "fixtures" / "tiny"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="module")
def trained_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    model = tmp_path_factory.mktemp("model") / "model.joblib"
    result = CliRunner().invoke(app, ["train", "--data", str(FIXTURES), "--model", str(model)])
    assert result.exit_code == 0, result.output
    assert "trained" in result.output
    return model


def test_train_skips_an_up_to_date_model_unless_forced(runner: CliRunner, trained_model: Path) -> None:
    args = ["train", "--data", str(FIXTURES), "--model", str(trained_model)]
    assert "model up to date" in runner.invoke(app, args).output
    forced = runner.invoke(app, [*args, "--force"])
    assert forced.exit_code == 0 and "trained" in forced.output


def test_parse_one_message_prints_a_human_line(runner: CliRunner, trained_model: Path) -> None:
    args = ["parse", "I need sick leave tomorrow", "--today", "2025-03-12"]
    result = runner.invoke(app, [*args, "--data", str(FIXTURES), "--model", str(trained_model)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("leave_request (")
    assert "leave_type=sick" in result.output and "start_date=2025-03-13" in result.output


def test_parse_json_for_one_message(runner: CliRunner, trained_model: Path) -> None:
    args = ["parse", "do we have A4 paper?", "--json", "--data", str(FIXTURES), "--model", str(trained_model)]
    parsed = json.loads(runner.invoke(app, args).output)
    assert parsed["intent"]["name"] == "stock_query"
    assert parsed["entities"][0]["value"] == "A4 paper"


def test_parse_reads_stdin_lines_and_prints_json_lines(runner: CliRunner, trained_model: Path) -> None:
    args = ["parse", "--today", "2025-03-12", "--language", "ru", "--data", str(FIXTURES), "--model", str(trained_model)]
    result = runner.invoke(app, args, input="hello\nпривет\n\n")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [line["text"] for line in lines] == ["hello", "привет", ""]
    assert lines[1]["intent"]["name"] == "greet" and lines[1]["language"] == "ru"
    assert lines[2]["intent"]["name"] == "out_of_scope"


def test_model_path_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NLU_MODEL_PATH", raising=False)
    assert _model_path(None) == Path("data/nlu/model.joblib")
    monkeypatch.setenv("NLU_MODEL_PATH", str(tmp_path / "m.joblib"))
    assert _model_path(None) == tmp_path / "m.joblib"
    assert _model_path(tmp_path / "given.joblib") == tmp_path / "given.joblib"
    # Without the sentence encoder (the default) a file of its own: the two models never replace each other.
    assert _model_path(None, None, sentence_encoder=False) == tmp_path / "m-no-encoder.joblib"
    assert _model_path(None, FIXTURES, sentence_encoder=False).name.endswith("-no-encoder.joblib")
    assert _model_path(tmp_path / "given.joblib", None, sentence_encoder=False) == tmp_path / "given.joblib"


@pytest.mark.parametrize(
    "args",
    [
        ["parse", "hi", "--today", "2025-13-01"],
        ["parse", "hi", "--today", "tomorrow"],
        ["train", "--data", "/nonexistent/nlu"],
        ["evaluate", "--data", "/nonexistent/nlu"],
    ],
)
def test_bad_input_is_one_error_line_and_exit_code_2(runner: CliRunner, args: list[str], tmp_path: Path) -> None:
    result = runner.invoke(app, [*args, "--model", str(tmp_path / "m.joblib")] if args[0] != "evaluate" else args)
    assert result.exit_code == 2
    assert result.output.strip().startswith("error: ")
    assert len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_malformed_data_is_reported_with_file_and_line(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "en.yml"
    bad.write_text('version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - [hi\n', encoding="utf-8")
    result = runner.invoke(app, ["train", "--data", str(bad), "--model", str(tmp_path / "m.joblib")])
    assert result.exit_code == 2
    assert f"{bad}:5: unclosed '['" in result.output


def test_evaluate_writes_reports_and_prints_a_summary(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = runner.invoke(app, ["evaluate", "--data", str(FIXTURES), "--folds", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "| all |" in result.output
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["folds"] == 2 and 0.0 <= report["overall"]["accuracy"] <= 1.0
    assert set(report["per_language"]) == {"en", "ru"}
    assert "## Most confused pairs" in (out / "report.md").read_text(encoding="utf-8")
    assert (out / "confusion_matrix.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_every_command_has_help(runner: CliRunner) -> None:
    for command in ("train", "parse", "evaluate"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0 and "--data" in result.output


def test_other_data_without_model_never_overwrites_the_assistants_model(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assistant_model = tmp_path / "model.joblib"
    monkeypatch.setenv("NLU_MODEL_PATH", str(assistant_model))
    result = runner.invoke(app, ["train", "--data", str(FIXTURES)])
    assert result.exit_code == 0, result.output
    assert not assistant_model.exists()
    assert [path.name.startswith("tiny-") for path in tmp_path.iterdir()] == [True]


def test_parse_uses_a_model_given_without_data_as_it_is(runner: CliRunner, trained_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A model trained on other data (here the tiny fixture) must not be retrained on the default data, nor
    # overwritten: parsing reads it and leaves the file as it was.
    before = trained_model.read_bytes()

    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("parse retrained a model it was given")

    monkeypatch.setattr("nlu.interpreter.Interpreter.train", no_training)
    result = runner.invoke(app, ["parse", "do we have A4 paper?", "--json", "--model", str(trained_model)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["intent"]["name"] == "stock_query"
    assert trained_model.read_bytes() == before


def test_parse_with_a_missing_model_says_so_and_trains_nothing(runner: CliRunner, tmp_path: Path) -> None:
    missing = tmp_path / "missing.joblib"
    result = runner.invoke(app, ["parse", "hi", "--model", str(missing)])
    assert result.exit_code == 2
    assert result.output.startswith(f"error: no model file at {missing}")
    assert len(result.output.strip().splitlines()) == 1
    assert not missing.exists()


def test_evaluate_scores_a_held_out_set_per_language_variant_and_tag(runner: CliRunner, tmp_path: Path) -> None:
    heldout = tmp_path / "heldout.yml"
    heldout.write_text(
        "language: en\ncases: |\n"
        "  - leave_request | plain | I need sick leave tomorrow | start_date=2026-11-24\n"
        "  - stock_query | typo | do we have A4 papr?\n",
        encoding="utf-8",
    )
    out = tmp_path / "report"
    args = ["evaluate", "--data", str(FIXTURES), "--no-cv", "--heldout", str(heldout), "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "| language en | 2 |" in result.output and "| script variant en | 2 |" in result.output
    assert "| tag typo | 1 |" in result.output and "| **intent, all** | 2 |" in result.output
    assert (out / "heldout.md").is_file()


def test_the_sentence_encoder_is_a_flag_or_an_environment_variable(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nlu.interpreter import Interpreter

    monkeypatch.delenv("NLU_SENTENCE_ENCODER", raising=False)
    model = tmp_path / "model.joblib"
    args = ["train", "--data", str(FIXTURES), "--model", str(model)]
    assert runner.invoke(app, args).exit_code == 0
    assert Interpreter.load(model).classifier.config.sentence_encoder  # the default
    parsed = runner.invoke(app, ["parse", "is the warehouse out of markers", "--json", "--model", str(model)])
    assert json.loads(parsed.stdout)["intent"]["name"] == "stock_query"
    assert "model up to date" in runner.invoke(app, [*args, "--sentence-encoder"]).output
    assert "trained" in runner.invoke(app, [*args, "--no-sentence-encoder"]).output  # another config: trained again
    assert not Interpreter.load(model).classifier.config.sentence_encoder
    monkeypatch.setenv("NLU_SENTENCE_ENCODER", "true")
    assert "trained" in runner.invoke(app, args).output
    assert Interpreter.load(model).classifier.config.sentence_encoder
    monkeypatch.setenv("NLU_SENTENCE_ENCODER", "false")
    used_as_is = runner.invoke(app, ["parse", "hello", "--model", str(model)])
    assert used_as_is.exit_code == 0 and "trained with the sentence encoder and is used as it is" in used_as_is.stderr

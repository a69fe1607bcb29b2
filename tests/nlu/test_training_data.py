from pathlib import Path

import pytest

from nlu.training_data import AnnotationError, TrainingDataError, load_training_data, parse_annotated

FIXTURES = Path(__file__).parent / "fixtures" / "tiny"
OWN_DATA = Path(__file__).resolve().parents[2] / "nlu" / "data"


def write(tmp_path: Path, body: str, name: str = "en.yml") -> Path:
    path = tmp_path / name
    path.write_text('version: "3.1"\nnlu:\n' + body, encoding="utf-8")
    return path


def test_round_bracket_annotation_gives_text_span_and_value() -> None:
    text, spans = parse_annotated("ticket [4521](ticket_id) is urgent")
    assert text == "ticket 4521 is urgent"
    assert [(s.entity, s.value, s.start, s.end, s.value_given) for s in spans] == [("ticket_id", "4521", 7, 11, False)]


def test_json_annotation_with_value_role_and_group() -> None:
    text, spans = parse_annotated('from [Mon]{"entity": "date", "value": "2025-03-10", "role": "from", "group": "1"} on')
    assert text == "from Mon on"
    assert spans[0].value == "2025-03-10" and spans[0].value_given
    assert (spans[0].role, spans[0].group, text[spans[0].start : spans[0].end]) == ("from", "1", "Mon")


def test_legacy_entity_colon_value_annotation_and_several_spans() -> None:
    text, spans = parse_annotated("[holiday](leave_type:annual) from [Monday](start_date)")
    assert text == "holiday from Monday"
    assert [(s.entity, s.value) for s in spans] == [("leave_type", "annual"), ("start_date", "Monday")]
    assert text[spans[1].start : spans[1].end] == "Monday"


@pytest.mark.parametrize(
    ("annotated", "reason"),
    [("take [sick leave tomorrow", "unclosed '\\['"), ('[x]{"entity": "a",}', "bad JSON"), ("[x] alone", "followed by")],
)
def test_broken_annotations_are_refused(annotated: str, reason: str) -> None:
    with pytest.raises(AnnotationError, match=reason):
        parse_annotated(annotated)


def test_fixture_folder_loads_every_file_with_languages_and_entities() -> None:
    data = load_training_data(FIXTURES)
    assert [file.name for file in data.files] == ["en.yml", "ru.yml"]
    assert data.languages == ["en", "ru"]
    assert "stock_query" in data.intents
    sick = next(e for e in data.examples if e.text == "I need sick leave tomorrow")
    assert [(s.entity, s.value) for s in sick.entities] == [("leave_type", "sick"), ("start_date", "tomorrow")]
    assert data.lookups == {"item": ["A4 paper", "Coffee"]}
    assert data.regexes == {"ticket_id": [r"\b\d{4,6}\b"]}


def test_synonyms_are_attached_to_the_entity_whose_annotations_use_the_value() -> None:
    data = load_training_data(FIXTURES)
    assert data.synonyms["leave_type"]["ill"] == "sick"
    assert data.synonyms["leave_type"]["holiday"] == "annual"
    # An annotation whose text differs from its value is an alias too, as in Rasa.
    assert data.synonyms["leave_type"]["больничный"] == "sick"
    # "urgent" is never an annotated value, so its synonyms apply to any entity.
    assert data.synonyms[""] == {"asap": "urgent"}


def test_language_comes_from_stem_then_language_key_then_english(tmp_path: Path) -> None:
    write(tmp_path, "- intent: greet\n  examples: |\n    - xin chào\n", "vi.yml")
    (tmp_path / "greek.yml").write_text(
        'version: "3.1"\nlanguage: el\nnlu:\n- intent: greet\n  examples: |\n    - γεια\n', encoding="utf-8"
    )
    write(tmp_path, "- intent: greet\n  examples: |\n    - hi\n", "other.yml")
    languages = {e.text: e.language for e in load_training_data(tmp_path).examples}
    assert languages == {"xin chào": "vi", "γεια": "el", "hi": "en"}


def test_same_text_may_mean_different_intents_in_different_languages(tmp_path: Path) -> None:
    write(tmp_path, "- intent: greet\n  examples: |\n    - yo\n", "en.yml")
    write(tmp_path, "- intent: deny\n  examples: |\n    - yo\n", "az.yml")
    assert sorted((e.language, e.intent) for e in load_training_data(tmp_path).examples) == [
        ("az", "deny"),
        ("en", "greet"),
    ]


@pytest.mark.parametrize(
    ("body", "line", "reason"),
    [
        ("- intent: greet\n  examples: |\n    - hi\n  - bad: [\n", 6, "YAML syntax error"),
        ("- intent: greet\n  examples: |\n    - hi\n    hello\n", 6, "must be a '- ' line"),
        ("- intent: greet\n  examples: |\n    - hi\n    - take [sick leave\n", 6, "unclosed '\\['"),
        ('- intent: greet\n  examples: |\n    - [x]{"entity": oops}\n', 5, "bad JSON"),
        ("- intent: greet\n  examples: |\n", 4, "has no examples"),
        ("- intent: greet\n", 3, "has no examples"),
        ("- intent: greet\n  exampels: |\n    - hi\n", 4, "unknown key 'exampels'"),
        ("- intent: a\n  examples: |\n    - hello\n- intent: b\n  examples: |\n    - Hello\n", 8, "in intent 'b' and in 'a'"),
    ],
)
def test_malformed_files_name_file_line_and_reason(tmp_path: Path, body: str, line: int, reason: str) -> None:
    path = write(tmp_path, body)
    with pytest.raises(TrainingDataError, match=reason) as caught:
        load_training_data(path)
    assert caught.value.path == str(path)
    assert caught.value.line == line
    assert str(caught.value).startswith(f"{path}:{line}: ")


def test_unknown_top_level_key_is_reported_on_its_line(tmp_path: Path) -> None:
    path = tmp_path / "en.yml"
    path.write_text('version: "3.1"\nstories:\n- story: x\n', encoding="utf-8")
    with pytest.raises(TrainingDataError, match="unknown top-level key 'stories'") as caught:
        load_training_data(path)
    assert caught.value.line == 2


def test_missing_path_and_empty_folder_raise_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_training_data(tmp_path / "missing.yml")
    with pytest.raises(FileNotFoundError):
        load_training_data(tmp_path)


def test_no_held_out_case_is_a_training_example_as_folded_text() -> None:
    # The held-out set measures what the model was not shown: a case that is a training line with other accents,
    # case or punctuation measures recall, and nothing of how people type it next time.
    from nlu.cli import PACKAGE_HELDOUT
    from nlu.heldout import load_heldout
    from nlu.normalize import words

    trained = {tuple(words(example.text)) for example in load_training_data(OWN_DATA).examples}
    copied = [case.text for case in load_heldout(PACKAGE_HELDOUT) if tuple(words(case.text)) in trained]
    assert copied == []

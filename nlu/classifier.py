"""Intent classifier: sparse word/char TF-IDF features, a linear SVM and a naive Bayes, with an out-of-scope rule.

Text is NFKC-normalised and casefolded, Uzbek apostrophe variants become one ``'``, digits become 0, and every word
with diacritics also yields its folded form (the entity extractor's: no accents, ə→e, ı→i), so "xin chao" still
matches "xin chào" and "mezuniyyet" "məzuniyyət". Features (see ClassifierConfig):
word unigrams and bigrams, pairs of word stems within a small window (a cheap stand-in for word interactions that
a bag of words misses), and character 2–5-grams inside word boundaries of the accent-stripped text.

Scores: a multinomial naive Bayes on the same features is added to the SVM's scores, z-scored per message and
scaled to that message's spread of SVM scores times ``nb_weight``, so scores, ``temperature`` and thresholds keep SVM
units (and the confidences the dialogue's thresholds were set for). The naive Bayes costs a second in training.

Sentence encoder (``sentence_encoder=True``, the default): a second linear SVM reads the pretrained multilingual
sentence embedding (nlu/sentence_encoder.py) of each message in a language the encoder was trained on (English and
Russian of ours), and its scores are added the same way, times ``embedding_weight``. It knows what words the training
data never showed mean (CLINC150 in-scope 93.2 -> 94.4 %, out-of-scope recall 56 -> 69 %, Banking77 92.2 -> 93.1 %,
our cross-validation 86.6 -> 88.0 %, English 84 -> 88 % and Russian 83 -> 87 %), for ~1 ms more per English or
Russian message and ~1 s more training on our data. Messages in other languages are scored by the word models alone:
embeddings of Azerbaijani, Greek, Uzbek and Vietnamese lowered our held-out accuracy by 1-4 points.

Out of scope: the training data's ``out_of_scope`` class is learnt like any other intent, and a message is also
sent there when its best in-scope score does not beat the out-of-scope score by ``oos_threshold`` (tuned on
held-out data with ``tune_threshold``; without an out-of-scope class the margin is the raw best score).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import normalize
from sklearn.svm import LinearSVC

from nlu.normalize import fold, one_apostrophe
from nlu.sentence_encoder import DIMENSIONS
from nlu.sentence_encoder import LANGUAGES as ENCODER_LANGUAGES
from nlu.sentence_encoder import embed as embed_sentences

__all__ = ["ClassifierConfig", "IntentClassifier", "fold_accents", "normalize_text", "with_tags"]

OUT_OF_SCOPE = "out_of_scope"

_WORD = re.compile(r"\w+(?:'\w+)*")
_DIGIT = re.compile(r"\d")
_TAG_SEPARATOR = "\x1f"  # ASCII unit separator: never typed, and no word character


def with_tags(text: str, tags: Iterable[str]) -> str:
    """``text`` carrying extra feature tokens (entity types found in it) that only the word features read."""
    tags = sorted(set(tags))
    return f"{text}{_TAG_SEPARATOR}{' '.join(tags)}" if tags else text


def normalize_text(text: str) -> str:
    """NFKC, casefold and one apostrophe for Uzbek's o‘ oʻ o' o` variants."""
    return one_apostrophe(unicodedata.normalize("NFKC", text).casefold())


@lru_cache(maxsize=1 << 16)  # called per word on every message; words repeat, so this halves featurising time
def fold_accents(text: str) -> str:
    """The entity extractor's folding: no combining marks (Vietnamese tones, Greek tonos, ...), and letters without
    a decomposition mapped by hand (Azerbaijani ə→e and ı→i, đ→d, final ς→σ)."""
    return fold(text)


def _feature_text(text: str) -> str:
    """Normalised text with every digit as 0: ticket 4521 and ticket 7310 look alike, while 12.12 stays a date."""
    return _DIGIT.sub("0", normalize_text(text))


@dataclass(frozen=True)
class ClassifierConfig:
    word_ngrams: int = 2
    stem_length: int = 5
    stem_pair_window: int = 4
    char_ngrams: tuple[int, int] = (2, 5)
    min_df: int = 2
    min_df_from_examples: int = 10_000
    svm_c: float = 1.0
    # One joint multi-class SVM beat one-vs-rest by ~0.3 points on CLINC val; a loose tolerance makes it several
    # times faster at the same accuracy (3e-2: 51 instead of 78 passes on CLINC, same val/test figures as 1e-2).
    svm_multi_class: str = "crammer_singer"
    svm_tol: float = 3e-2
    nb_alpha: float = 0.1
    nb_weight: float = 0.35
    sentence_encoder: bool = True
    # With the sentence encoder: its SVM's scores, z-scored, times this and the message's spread of scores.
    embedding_weight: float = 0.75
    embedding_components: int = 128
    embedding_svm_c: float = 1.0
    embedding_svm_tol: float = 0.1
    temperature: float = 4.0
    max_chars: int = 500
    out_of_scope: str = OUT_OF_SCOPE
    oos_threshold: float | None = None
    # Folds for tuning the out-of-scope threshold on the training data itself when no validation split is given.
    threshold_folds: int = 3
    # The threshold keeps in-scope accuracy at this share of its value without a threshold.
    oos_min_in_scope_ratio: float = 0.995

    def with_threshold(self, threshold: float | None) -> ClassifierConfig:
        return replace(self, oos_threshold=threshold)


class WordAnalyzer:
    """Words (and their accent-stripped forms), word n-grams and windowed stem pairs. A class, so it pickles."""

    def __init__(self, config: ClassifierConfig) -> None:
        self.ngrams = config.word_ngrams
        self.stem_length = config.stem_length
        self.window = config.stem_pair_window

    def __call__(self, text: str) -> list[str]:
        text, _, tags = text.partition(_TAG_SEPARATOR)
        words = _WORD.findall(_feature_text(text))
        features = [f"<{tag}>" for tag in tags.split()]
        features.extend(words)
        for word in words:
            folded = fold_accents(word)
            if folded != word:
                features.append(folded)
        for size in range(2, self.ngrams + 1):
            features.extend(" ".join(words[i : i + size]) for i in range(len(words) - size + 1))
        stems = [fold_accents(word)[: self.stem_length] for word in words]
        for i, left in enumerate(stems):
            for right in stems[i + 1 : i + 1 + self.window]:
                features.append(f"{left}~{right}")
        return features


class CharAnalyzer:
    """Character n-grams inside word boundaries of the accent-stripped text (sklearn's ``char_wb``)."""

    def __init__(self, config: ClassifierConfig) -> None:
        self.low, self.high = config.char_ngrams

    def __call__(self, text: str) -> list[str]:
        grams: list[str] = []
        for word in fold_accents(_feature_text(text.partition(_TAG_SEPARATOR)[0])).split():
            padded = f" {word} "
            for size in range(self.low, self.high + 1):
                if size >= len(padded):
                    grams.append(padded)
                    break
                grams.extend(padded[i : i + size] for i in range(len(padded) - size + 1))
        return grams


class FeatureBlock:
    """A fitted sublinear TF-IDF block, L2-normalised: vocabulary and idf only, without sklearn's per-call checks."""

    def __init__(self, analyzer: WordAnalyzer | CharAnalyzer, vocabulary: dict[str, int], idf: np.ndarray) -> None:
        self.analyzer = analyzer
        self.vocabulary = vocabulary
        self.idf = idf

    def __len__(self) -> int:
        return len(self.vocabulary)

    def columns(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        counts = Counter(column for gram in self.analyzer(text) if (column := self.vocabulary.get(gram)) is not None)
        if not counts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        columns = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        values = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float32, count=len(counts)))) * self.idf[columns]
        return columns, values / np.linalg.norm(values)


def _features(blocks: Sequence[FeatureBlock], text: str) -> tuple[np.ndarray, np.ndarray]:
    """One text's non-zero feature columns (across all blocks, side by side) and their values."""
    indices, data = [], []
    offset = 0
    for block in blocks:
        columns, values = block.columns(text)
        indices.append(columns + offset)
        data.append(values)
        offset += len(block)
    return np.concatenate(indices), np.concatenate(data)


def _vectorize(blocks: Sequence[FeatureBlock], texts: Sequence[str]) -> sp.csr_matrix:
    indptr, indices, data = [0], [], []
    for text in texts:
        columns, values = _features(blocks, text)
        indices.append(columns)
        data.append(values)
        indptr.append(indptr[-1] + len(columns))
    width = sum(len(block) for block in blocks)
    return sp.csr_matrix(
        (np.concatenate(data), np.concatenate(indices), np.asarray(indptr)),
        shape=(len(texts), width),
        dtype=np.float32,
    )


@dataclass(frozen=True)
class PreparedTexts:
    """Texts read once: per feature block, the n-gram counts over the texts' own n-grams, and sentence embeddings.

    Training tunes its threshold on folds of the same texts; each fold takes rows of this instead of analysing and
    embedding every text again (sublinear TF-IDF is a function of the counts and of the fold's document frequencies).
    """

    grams: tuple[np.ndarray, ...]  # per block: the n-grams, in column order
    counts: tuple[sp.csr_matrix, ...]  # per block: texts × n-grams
    embeddings: np.ndarray | None

    def __len__(self) -> int:
        return int(self.counts[0].shape[0])

    def rows(self, index: np.ndarray) -> PreparedTexts:
        return PreparedTexts(
            self.grams,
            tuple(counts[index] for counts in self.counts),
            None if self.embeddings is None else self.embeddings[index],
        )


def _idf(counts: sp.csr_matrix, min_df: int) -> tuple[np.ndarray, np.ndarray]:
    """The columns seen in at least ``min_df`` texts and their smoothed idf: sklearn's TfidfTransformer's arithmetic,
    in its order and precision, so the weights are its to the last bit."""
    document_frequency = np.bincount(counts.indices, minlength=counts.shape[1])
    kept = np.flatnonzero(document_frequency >= min_df)
    smoothed = document_frequency[kept].astype(np.float32) + np.float32(1.0)
    idf = np.full_like(smoothed, fill_value=counts.shape[0] + 1) / smoothed
    np.log(idf, out=idf)
    idf += np.float32(1.0)
    return kept, idf


def _tfidf(counts: sp.csr_matrix, kept: np.ndarray, idf: np.ndarray) -> sp.csr_matrix:
    """Sublinear TF-IDF of the kept columns, rows L2-normalised (as TfidfTransformer.transform does it)."""
    features = counts[:, kept] if len(kept) != counts.shape[1] else counts.copy()
    features = sp.csr_matrix(features, dtype=np.float32)
    np.log(features.data, out=features.data)
    features.data += np.float32(1.0)
    features.data *= idf[features.indices]
    return normalize(features, norm="l2", copy=False)


def _class_columns(svm: LinearSVC) -> tuple[np.ndarray, np.ndarray]:
    """The SVM's weights, one column per class, and its biases. For two classes liblinear keeps one vector, the
    second class's score minus the first's: read as one class's column, every message went to one intent. Half of
    it each way keeps that difference, the units the temperature and thresholds were set in."""
    coefficients, intercepts = svm.coef_, svm.intercept_
    if len(svm.classes_) == 2:
        coefficients = np.vstack([-coefficients, coefficients]) / 2
        intercepts = np.concatenate([-intercepts, intercepts]) / 2
    return coefficients.T, intercepts


def _base_language(language: str) -> str:
    """``en`` of ``en``, ``EN`` or ``en-US``: the detector's codes and those of training data may differ so."""
    return language.split("-")[0].lower()


def _embedded(embeddings: np.ndarray) -> np.ndarray:
    """Which rows hold an embedding: a text left unembedded is a row of zeros, and an embedding has unit length."""
    return np.asarray(embeddings.any(axis=1))


def _standardize(scores: np.ndarray) -> np.ndarray:
    centred = scores - scores.mean(axis=1, keepdims=True)
    return centred / np.maximum(centred.std(axis=1, keepdims=True), 1e-6)


class IntentClassifier:
    def __init__(self, config: ClassifierConfig | None = None) -> None:
        self.config = config or ClassifierConfig()
        self.classes: np.ndarray = np.array([], dtype=object)
        self._blocks: list[FeatureBlock] = []
        self._weights: np.ndarray = np.zeros((0, 0), dtype=np.float32)
        self._bias: np.ndarray = np.zeros(0, dtype=np.float32)
        self._oos_index: int | None = None
        self._nb_weights: sp.csr_matrix = sp.csr_matrix((0, 0), dtype=np.float32)
        self._nb_mass_weights: np.ndarray = np.zeros(0, dtype=np.float32)
        self._nb_bias: np.ndarray = np.zeros(0, dtype=np.float32)
        self._embedding_weights: np.ndarray = np.zeros((0, 0), dtype=np.float32)
        self._embedding_bias: np.ndarray = np.zeros(0, dtype=np.float32)
        self._embedding_classes: np.ndarray = np.array([], dtype=object)

    def embeddings(self, texts: Sequence[str], languages: Sequence[str] | None = None) -> np.ndarray | None:
        """The sentence embeddings this classifier reads (None when it reads none), one row per text.

        With ``languages``, a text in a language the encoder was not trained on gets a row of zeros instead (no
        embedding, so its scores are the word models' alone): on our held-out set, embeddings of Azerbaijani,
        Greek, Uzbek and Vietnamese cost 1-4 points of accuracy, where English and Russian ones gain."""
        if not self.config.sentence_encoder:
            return None
        clipped = [self._clip(text).partition(_TAG_SEPARATOR)[0] for text in texts]
        if languages is None:
            return embed_sentences(clipped)
        known = [index for index, language in enumerate(languages) if _base_language(language) in ENCODER_LANGUAGES]
        embeddings = np.zeros((len(clipped), DIMENSIONS), dtype=np.float32)
        if known:
            embeddings[known] = embed_sentences([clipped[index] for index in known])
        return embeddings

    def _analyzers(self) -> list[WordAnalyzer | CharAnalyzer]:
        return [WordAnalyzer(self.config), CharAnalyzer(self.config)]

    def _min_df(self, examples: int) -> int:
        # Dropping n-grams seen once halves a large model at no cost in accuracy; a small data set needs them all.
        return self.config.min_df if examples >= self.config.min_df_from_examples else 1

    def prepare(self, texts: Sequence[str], embeddings: np.ndarray | None = None) -> PreparedTexts:
        """Read ``texts`` once for ``fit`` and ``tune_threshold_by_cross_validation`` (n-gram counts, embeddings);
        ``embeddings`` are ``embeddings(texts)`` when the caller has them."""
        if embeddings is None:
            embeddings = self.embeddings(texts)
        clipped = [self._clip(text) for text in texts]
        grams, counts = [], []
        for analyzer in self._analyzers():
            # An n-gram rarer than min_df in all the texts is rarer in every fold too: none would keep it.
            counter = CountVectorizer(analyzer=analyzer, min_df=self._min_df(len(clipped)), dtype=np.float32)
            counts.append(counter.fit_transform(clipped).tocsr())
            grams.append(counter.get_feature_names_out())
            del counter  # its vocabulary dict is the largest object here
        return PreparedTexts(tuple(grams), tuple(counts), embeddings)

    def fit(self, texts: Sequence[str] | PreparedTexts, intents: Sequence[str], *, seed: int = 0) -> IntentClassifier:
        if len(set(intents)) < 2:
            raise ValueError("the intent classifier needs at least two intents")
        prepared = texts if isinstance(texts, PreparedTexts) else self.prepare(texts)
        min_df = self._min_df(len(prepared))
        self._embedding_weights = np.zeros((0, 0), dtype=np.float32)  # none from an earlier fit
        self._embedding_bias = np.zeros(0, dtype=np.float32)
        self._embedding_classes = np.array([], dtype=object)
        self._blocks = []
        matrices = []
        for analyzer, grams, counts in zip(self._analyzers(), prepared.grams, prepared.counts, strict=True):
            kept, idf = _idf(counts, min_df)
            matrices.append(_tfidf(counts, kept, idf))
            self._blocks.append(FeatureBlock(analyzer, {str(grams[c]): i for i, c in enumerate(kept)}, idf))
        if prepared.embeddings is not None:
            self._fit_embedding_svm(prepared.embeddings, intents, seed)
        del texts, prepared, grams, counts  # a caller that handed them over frees them here, before the SVM's peak
        features = sp.hstack(matrices).tocsr()
        del matrices
        self._fit_features(features, intents, seed)
        return self

    def _fit_rows(
        self, prepared: PreparedTexts, index: np.ndarray, min_df: int, intents: Sequence[str], seed: int
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Fit on some rows of ``prepared`` (no feature blocks: scores come from ``_scores`` of weighted counts);
        returns each block's kept columns and idf, to weigh other rows alike."""
        weights, matrices = [], []
        for counts in prepared.counts:
            rows = counts[index]
            weights.append(_idf(rows, min_df))
            matrices.append(_tfidf(rows, *weights[-1]))
            del rows
        if prepared.embeddings is not None:
            self._fit_embedding_svm(prepared.embeddings[index], intents, seed)
        features = sp.hstack(matrices).tocsr()
        del matrices
        self._fit_features(features, intents, seed)
        return weights

    def _linear_svm(self, c: float, tol: float, seed: int) -> LinearSVC:
        return LinearSVC(C=c, multi_class=self.config.svm_multi_class, tol=tol, random_state=seed)

    def _fit_features(self, features: sp.csr_matrix, intents: Sequence[str], seed: int) -> None:
        """The word SVM and the naive Bayes (after the embedding SVM, if any: its input is freed by then)."""
        svm = self._linear_svm(self.config.svm_c, self.config.svm_tol, seed).fit(features, list(intents))
        self.classes = np.asarray(svm.classes_, dtype=object)
        # Stored transposed and in float32: half the size on disk, and a row vector times it is one BLAS call.
        coefficients, intercepts = _class_columns(svm)
        self._weights = np.ascontiguousarray(coefficients, dtype=np.float32)
        self._bias = np.asarray(intercepts, dtype=np.float32)
        del svm
        if self.config.nb_weight:
            self._fit_bayes(features, intents)
        if self._embedding_weights.size and list(self._embedding_classes) != list(self.classes):
            raise AssertionError("the embedding SVM saw other classes than the word SVM")
        oos = np.flatnonzero(self.classes == self.config.out_of_scope)
        self._oos_index = int(oos[0]) if oos.size else None

    def _fit_bayes(self, features: sp.csr_matrix, intents: Sequence[str]) -> None:
        """Multinomial naive Bayes, stored sparse: a dense log-probability matrix would double the model's memory.

        log P(f|c) = log(count + alpha) - log(norm_c) splits into a sparse part, log(1 + count / alpha), over the
        features seen with the class, and a per-class part, log(alpha) - log(norm_c), times the text's feature mass.
        """
        alpha = self.config.nb_alpha
        class_index = {intent: i for i, intent in enumerate(self.classes)}
        rows = np.fromiter((class_index[intent] for intent in intents), dtype=np.int64, count=len(intents))
        membership = sp.csr_matrix(
            (np.ones(len(rows), dtype=np.float32), (rows, np.arange(len(rows)))), shape=(len(self.classes), len(rows))
        )
        counts = (membership @ features).tocsr()  # classes × features, sparse
        norms = np.asarray(counts.sum(axis=1)).ravel() + alpha * features.shape[1]
        counts.data = np.log1p(counts.data / alpha)
        self._nb_weights = counts.T.tocsr().astype(np.float32)
        priors = np.bincount(rows, minlength=len(self.classes)) / len(rows)
        self._nb_bias = np.log(priors).astype(np.float32)
        self._nb_mass_weights = (np.log(alpha) - np.log(norms)).astype(np.float32)

    def _fit_embedding_svm(self, embeddings: np.ndarray, intents: Sequence[str], seed: int) -> None:
        """A linear SVM on the embeddings' top principal components, its weights mapped back to the embedding space.

        liblinear copies dense input into 16-byte (index, value) nodes: all 512 dimensions of CLINC150's 15,000
        training messages cost ~120 MB and 5 s; their top 128 components give the same scores for a quarter.
        Rows of zeros (texts not embedded) are left out, and with them maybe an intent written only in languages
        the encoder does not know: its embedding score is the others' average, which the blend reads as neutral.
        With fewer than two intents left there is no such SVM."""
        classes = np.unique(np.asarray(intents, dtype=object))
        embedded = _embedded(embeddings)
        if not embedded.all():
            intents = [intent for intent, kept in zip(intents, embedded, strict=True) if kept]
            embeddings = embeddings[embedded]
        if len(set(intents)) < 2:
            return
        mean = embeddings.mean(axis=0, dtype=np.float64)
        # The scatter matrix without a centred copy of the embeddings (a copy would be training's memory peak).
        scatter = (embeddings.T @ embeddings).astype(np.float64) - len(embeddings) * np.outer(mean, mean)
        _, vectors = np.linalg.eigh(scatter)  # eigenvalues ascending: the last columns are the top components
        components = np.ascontiguousarray(vectors[:, ::-1][:, : self.config.embedding_components], dtype=np.float32)
        projected = embeddings @ components - (mean @ components).astype(np.float32)  # float32: no float64 copy
        svm = self._linear_svm(self.config.embedding_svm_c, self.config.embedding_svm_tol, seed)
        svm.fit(projected, list(intents))
        coefficients, intercepts = _class_columns(svm)
        weights = components @ coefficients
        biases = intercepts - mean @ weights
        seen = np.searchsorted(classes, np.asarray(svm.classes_, dtype=object))
        all_weights = np.repeat(weights.mean(axis=1, keepdims=True), len(classes), axis=1)
        all_weights[:, seen] = weights
        all_biases = np.full(len(classes), biases.mean())
        all_biases[seen] = biases
        self._embedding_classes = classes
        self._embedding_weights = np.ascontiguousarray(all_weights, dtype=np.float32)
        self._embedding_bias = np.asarray(all_biases, dtype=np.float32)

    @property
    def reads_embeddings(self) -> bool:
        """Whether scoring reads sentence embeddings: with the encoder, once an embedding SVM was fitted (none is
        when fewer than two intents have examples in the encoder's languages, e.g. data all in Uzbek)."""
        return bool(self._embedding_weights.size)

    @property
    def out_of_scope(self) -> str:
        return self.config.out_of_scope

    def _clip(self, text: str) -> str:
        text, separator, tags = text.partition(_TAG_SEPARATOR)
        return text[: self.config.max_chars] + separator + tags

    def decision_scores(self, texts: Sequence[str], embeddings: np.ndarray | None = None) -> np.ndarray:
        """Scores, one row per text and one column per class of ``classes`` (SVM, plus naive Bayes and the
        sentence-embedding SVM if enabled); ``embeddings`` are ``embeddings(texts)`` when the caller has them."""
        return self._scores(_vectorize(self._blocks, [self._clip(text) for text in texts]), texts, embeddings)

    def _scores(self, features: sp.csr_matrix, texts: Sequence[str], embeddings: np.ndarray | None = None) -> np.ndarray:
        # float32 on both sides, or scipy would upcast (copy) the whole weight matrix on every call.
        scores = np.asarray(features @ self._weights) + self._bias
        if self.config.nb_weight:
            mass = np.asarray(features.sum(axis=1))
            bayes_scores = (features @ self._nb_weights).toarray() + mass * self._nb_mass_weights + self._nb_bias
            scores = self._blend(scores, bayes_scores, self.config.nb_weight)
        return self._with_embedding_scores(scores, texts, embeddings)

    def _with_embedding_scores(self, scores: np.ndarray, texts: Sequence[str], embeddings: np.ndarray | None) -> np.ndarray:
        """``scores`` blended with the embedding SVM's (unchanged without one); embeds ``texts`` unless given."""
        if not self.reads_embeddings:
            return scores
        if embeddings is None:
            embeddings = self.embeddings(texts)
        assert embeddings is not None
        embedded = _embedded(embeddings)
        if embedded.all():
            return self._blend(scores, embeddings @ self._embedding_weights + self._embedding_bias, self.config.embedding_weight)
        blended = scores.copy()
        if embedded.any():
            embedding_scores = embeddings[embedded] @ self._embedding_weights + self._embedding_bias
            blended[embedded] = self._blend(scores[embedded], embedding_scores, self.config.embedding_weight)
        return blended

    def _scores_of_one(self, text: str, language: str | None = None) -> np.ndarray:
        """`decision_scores([text])` with numpy gathers instead of building and multiplying a sparse matrix: one
        message is what the chat sends, and scipy's set-up per call costs more than the arithmetic."""
        columns, values = _features(self._blocks, self._clip(text))
        scores = (values @ self._weights[columns] + self._bias)[None, :]
        if self.config.nb_weight:
            scores = self._blend(scores, self._bayes_scores_of_one(columns, values), self.config.nb_weight)
        if not self.reads_embeddings:
            return scores.astype(np.float32)
        embeddings = self.embeddings([text], None if language is None else [language])
        return self._with_embedding_scores(scores, [text], embeddings).astype(np.float32)

    def _bayes_scores_of_one(self, columns: np.ndarray, values: np.ndarray) -> np.ndarray:
        weights = self._nb_weights  # CSR, one row per feature: gather the rows of this text's features
        starts = weights.indptr[columns]
        lengths = weights.indptr[columns + 1] - starts
        positions = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths) + np.arange(lengths.sum())
        bayes_scores = np.bincount(
            weights.indices[positions], weights=np.repeat(values, lengths) * weights.data[positions], minlength=len(self.classes)
        )
        return (bayes_scores + values.sum() * self._nb_mass_weights + self._nb_bias)[None, :]

    @staticmethod
    def _blend(scores: np.ndarray, other: np.ndarray, weight: float) -> np.ndarray:
        """``scores`` plus another model's scores, z-scored per row and scaled to that row's spread of ``scores``:
        the sum keeps the units of the word SVM, which the temperature and thresholds were set in."""
        return scores + weight * scores.std(axis=1, keepdims=True) * _standardize(other)

    def oos_margins(self, scores: np.ndarray) -> np.ndarray:
        """How far the best in-scope intent beats out-of-scope (or its raw score when there is no such class)."""
        if self._oos_index is None:
            return scores.max(axis=1)
        in_scope = np.delete(scores, self._oos_index, axis=1)
        return in_scope.max(axis=1) - scores[:, self._oos_index]

    def predict_from_scores(self, scores: np.ndarray, threshold: float | None = None) -> np.ndarray:
        threshold = self.config.oos_threshold if threshold is None else threshold
        best = self.classes[scores.argmax(axis=1)]
        if self._oos_index is not None:
            in_scope = np.delete(np.arange(len(self.classes)), self._oos_index)
            best = self.classes[in_scope[scores[:, in_scope].argmax(axis=1)]]
            best = np.where(scores.argmax(axis=1) == self._oos_index, self.out_of_scope, best)
        if threshold is not None:
            best = np.where(self.oos_margins(scores) < threshold, self.out_of_scope, best)
        return best

    def predict(self, texts: Sequence[str], languages: Sequence[str] | None = None) -> list[str]:
        """The intent of each text; ``languages`` (each text's) decide which texts are embedded (``embeddings``)."""
        embeddings = self.embeddings(texts, languages) if self.reads_embeddings else None
        return [str(intent) for intent in self.predict_from_scores(self.decision_scores(texts, embeddings))]

    def tune_threshold(
        self, texts: Sequence[str], intents: Sequence[str], embeddings: np.ndarray | None = None
    ) -> float | None:
        """Pick the out-of-scope margin threshold on held-out data; store it in the config and return it.

        The threshold is the highest one that keeps in-scope accuracy at ``oos_min_in_scope_ratio`` of its value
        with no threshold, which trades a little in-scope accuracy for as much out-of-scope recall as that buys.
        ``embeddings`` are ``embeddings(texts)`` when the caller has them.
        """
        return self._choose_threshold(self.decision_scores(texts, embeddings), intents)

    def tune_threshold_by_cross_validation(
        self, texts: Sequence[str] | PreparedTexts, intents: Sequence[str], *, seed: int = 0
    ) -> float | None:
        """Like ``tune_threshold``, on out-of-fold scores of the training data itself (``threshold_folds`` folds).

        For training data without a held-out split: each fold's model is trained on the other folds only, so the
        scores are as unseen as a validation set's. Does nothing without out-of-scope examples. Works before
        ``fit`` too (training tunes first, so that the folds' models and the final one are never in memory at once).
        """
        if len(set(intents)) < 2:
            raise ValueError("the intent classifier needs at least two intents")
        gold = np.asarray(intents, dtype=object)
        smallest_class = min(Counter(intents).values())
        folds = min(self.config.threshold_folds, smallest_class)
        if folds < 2 or not (gold == self.out_of_scope).any():
            return self.config.oos_threshold
        prepared = texts if isinstance(texts, PreparedTexts) else self.prepare(texts)
        min_df = self._min_df(len(prepared))  # the final model's, though a fold is smaller: the folds imitate it
        fold_config = self.config.with_threshold(None)
        classes = np.unique(gold)  # every fold's model has them all: folds are stratified, at most one per example
        scores = np.zeros((len(gold), len(classes)))
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        for train_index, test_index in splitter.split(np.zeros(len(gold)), gold):
            model = IntentClassifier(fold_config)
            weights = model._fit_rows(prepared, train_index, min_df, gold[train_index], seed)
            held_out = prepared.rows(test_index)
            features = sp.hstack([_tfidf(c, *w) for c, w in zip(held_out.counts, weights, strict=True)]).tocsr()
            if list(model.classes) != list(classes):
                raise AssertionError("a cross-validation fold lost a class")
            scores[test_index] = model._scores(features, [], held_out.embeddings)
            del model, held_out, features  # or they stay alive while the next fold trains: the peak would hold two
        # The classes and out-of-scope column of the folds' models: this classifier may not be fitted yet.
        chooser = IntentClassifier(self.config)
        chooser.classes = classes
        chooser._oos_index = int(np.flatnonzero(classes == self.out_of_scope)[0])
        threshold = chooser._choose_threshold(scores, intents)
        self.config = self.config.with_threshold(threshold)
        return threshold

    def _choose_threshold(self, scores: np.ndarray, intents: Sequence[str]) -> float | None:
        gold = np.asarray(intents, dtype=object)
        is_oos = gold == self.out_of_scope
        if is_oos.all() or not is_oos.any():
            return self.config.oos_threshold
        margins = np.sort(self.oos_margins(scores))
        base = self.predict_from_scores(scores, threshold=float("-inf"))
        floor = (base[~is_oos] == gold[~is_oos]).mean() * self.config.oos_min_in_scope_ratio
        chosen: float | None = None
        for candidate in np.unique(np.quantile(margins, np.linspace(0.0, 0.5, 101))):
            predicted = self.predict_from_scores(scores, threshold=float(candidate))
            if (predicted[~is_oos] == gold[~is_oos]).mean() < floor:
                break
            chosen = float(candidate)
        self.config = self.config.with_threshold(chosen)
        return chosen

    def rank(self, text: str, language: str | None = None) -> tuple[str, float, list[tuple[str, float]]]:
        """(intent, confidence, ranking of (intent, confidence) best first) for one message (in ``language``)."""
        scores = self._scores_of_one(text, language)
        intent = str(self.predict_from_scores(scores)[0])
        logits = scores[0].astype(np.float64) * self.config.temperature
        probabilities = np.exp(logits - logits.max())
        probabilities /= probabilities.sum()
        order = np.argsort(-probabilities, kind="stable")
        ranking = [(str(self.classes[i]), float(probabilities[i])) for i in order]
        if intent == ranking[0][0]:
            return intent, ranking[0][1], ranking
        # Sent to out-of-scope by the threshold: the confidence is how little the best intent was believed.
        confidence = float(max(1.0 - ranking[0][1], dict(ranking).get(intent, 0.0)))
        return intent, confidence, ranking

